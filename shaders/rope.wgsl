// rope.wgsl — rotary position embedding, Hugging Face's "rotate_half" layout: within each head of
// size HS, element i pairs with element i + HS/2 (not interleaved pairs).
//
//   rope_forward   for each row (token) r, head h, i < HS/2, with angle a = pos(r) · inv_freq[i]
//                  and cos a, sin a read from table[pos(r)] = [cos a_0 … cos a_{HS/2−1}, sin a_0 …]:
//                    x1 = x[r,h,i], x2 = x[r,h,i+HS/2]
//                    x[r,h,i]      = x1·cos a − x2·sin a
//                    x[r,h,i+HS/2] = x2·cos a + x1·sin a
//   rope_backward  the transpose (a rotation by −a): dx1 = dy1·cos a + dy2·sin a, dx2 = dy2·cos a − dy1·sin a,
//                  in place on the gradient.
//   In place (=) on q [rows, NH, HS] or k [rows, NKV, HS]. pos(r) = pos0 + (r mod T): rows are
//   b·T + t for a batch of right-padded sequences, pos0 is the KV-cache offset when decoding.
//   The table [P, HS] is computed once on the CPU in float64 (it carries the llama3 frequency
//   scaling): WGSL's sin/cos may be off by 2^-11 absolute, too coarse to match PyTorch at 1e-4.
// Bindings: 0 params, 1 x (in place), 2 table [P, HS] with P > every position used.
// Dispatch: 1-D over rows·H·HS/2 pairs, 256-wide workgroups, invocations stride.

struct Params { rows: u32, H: u32, HS: u32, T: u32, pos0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;

fn rotate(gid: u32, nwg: u32, sign: f32) {
  let half = p.HS / 2u;
  let n = p.rows * p.H * half;
  let stride = nwg * 256u;
  for (var e = gid; e < n; e += stride) {
    let i = e % half;
    let rh = e / half;              // row·H + head
    let r = rh / p.H;
    let t = (p.pos0 + r % p.T) * p.HS;
    let c = table[t + i];
    let s = sign * table[t + half + i];
    let base = rh * p.HS;
    let x1 = x[base + i];
    let x2 = x[base + i + half];
    x[base + i] = x1 * c - x2 * s;
    x[base + i + half] = x2 * c + x1 * s;
  }
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate(gid.x, nwg.x, -1.0);
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate(gid.x, nwg.x, 1.0);
}
