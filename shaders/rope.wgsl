// rope.wgsl — rotary position embedding, Hugging Face's "rotate_half" layout: within each head of
// size HS, element i pairs with element i + HS/2 (not interleaved pairs).
//
//   rope_forward      for each row (token) r, head h, i < HS/2, with angle a = pos(r) · inv_freq[i]
//                     and cos a, sin a read from table[pos(r)] = [cos a_0 … cos a_{HS/2−1}, sin a_0 …]:
//                       x1 = x[r,h,i], x2 = x[r,h,i+HS/2]
//                       y[r,h,i]      = x1·cos a − x2·sin a
//                       y[r,h,i+HS/2] = x2·cos a + x1·sin a
//                     in place (y is x): inference, which has no use for the unrotated q and k.
//   rope_forward_out  the same rotation read from x, written (=) to y: training, whose plan keeps q and k
//                     apart from the rotated qr and kr. Saves the copy y = x that an in-place rotation
//                     would need first: one launch and one read + write pass fewer. A separate entry
//                     because a dispatch may not bind one buffer both as read_write and as read, so in
//                     place and out of place cannot share a layout.
//   rope_backward     the transpose (a rotation by −a): dx1 = dy1·cos a + dy2·sin a, dx2 = dy2·cos a − dy1·sin a,
//                     in place on the gradient.
//   y, x: q [rows, NH, HS] or k [rows, NKV, HS]. pos(r) = pos0 + (r mod T): rows are b·T + t for a
//   batch of right-padded sequences, pos0 is the KV-cache offset when decoding.
//   The table [P, HS] is computed once on the CPU in float64 (it carries the llama3 frequency
//   scaling): WGSL's sin/cos may be off by 2^-11 absolute, too coarse to match PyTorch at 1e-4.
// Bindings: 0 params, 1 y (in place: the data; rope_backward: the gradient), 2 table [P, HS] with
// P > every position used, 3 x (rope_forward_out only). Params keep pos0 at field 4 for every entry:
// inference patches it there per run.
// Dispatch: 1-D over rows·H·HS/2 pairs, 256-wide workgroups, invocations stride. Barrier-free: one
// entry serves both kernel sets. Bytes: 8 per element (read x, write y) + the table's T rows.

struct Params { rows: u32, H: u32, HS: u32, T: u32, pos0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;

// Pair e of rows·H·HS/2: the indices of its two elements and the rotation's cos and (signed) sin.
struct Pair { lo: u32, hi: u32, c: f32, s: f32 }

fn pair(e: u32, sign: f32) -> Pair {
  let half = p.HS / 2u;
  let i = e % half;
  let rh = e / half;              // row·H + head
  let r = rh / p.H;
  let t = (p.pos0 + r % p.T) * p.HS;
  let lo = rh * p.HS + i;
  return Pair(lo, lo + half, table[t + i], sign * table[t + half + i]);
}

fn pairs() -> u32 { return p.rows * p.H * (p.HS / 2u); }

fn rotate_in_place(gid: u32, nwg: u32, sign: f32) {
  for (var e = gid; e < pairs(); e += nwg * 256u) {
    let q = pair(e, sign);
    let x1 = y[q.lo];
    let x2 = y[q.hi];
    y[q.lo] = x1 * q.c - x2 * q.s;
    y[q.hi] = x2 * q.c + x1 * q.s;
  }
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate_in_place(gid.x, nwg.x, -1.0);
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate_in_place(gid.x, nwg.x, 1.0);
}

@compute @workgroup_size(256)
fn rope_forward_out(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var e = gid.x; e < pairs(); e += nwg.x * 256u) {
    let q = pair(e, 1.0);
    let x1 = x[q.lo];
    let x2 = x[q.hi];
    y[q.lo] = x1 * q.c - x2 * q.s;
    y[q.hi] = x2 * q.c + x1 * q.s;
  }
}
