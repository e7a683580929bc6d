// adamw.wgsl — one AdamW step over a flat parameter tensor (PyTorch's torch.optim.AdamW semantics).
//
//   adamw_step   g  = grad[i] · gscale                          (gscale = global-norm clip factor)
//                m  = β1·m + (1 − β1)·g
//                v  = β2·v + (1 − β2)·g²
//                p  = p − lr·wd·p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
//   adamw_step_clipped   the same update, with gscale found on the GPU instead of passed in:
//                S     = Σ_k sums[64·k]  (k < segments: Σg² of each flat gradient buffer, f32, in k order)
//                norm  = sqrt(S) / micro                      (micro-batches each averaged their loss)
//                clip  = gclip / norm when gclip > 0 and norm > gclip, else 1
//                gscale = clip / micro
//                and no element is touched when S or any of losses[0..micro) is NaN or ±Inf (the
//                trainer's NaN guard: the host reads S and the losses afterwards and reports the skip).
//                So the host never waits for the norm before the update: reduce and AdamW are one submission.
//   p, m, v updated in place (=); grad, sums and losses are read only (the trainer zeroes grad).
//   bc1 = 1 − β1^t and bc2 = 1 − β2^t are computed on the CPU in float64 and passed in.
//   A zero element with zero moments stays exactly 0 (m = v = 0, update 0/(0 + eps)): the padding
//   between the trainer's 256-byte-aligned views stays 0 (for eps > 0).
// Bindings: 0 params, 1 p, 2 m, 3 v (all read_write), 4 grad; adamw_step_clipped also 5 sums, 6 losses.
// Dispatch: 1-D over n, 256-wide workgroups, invocations stride. Memory bound: 20 bytes/element
// (clipped: each invocation also reads `segments` + `micro` scalars, which is why its grid is capped).

struct Params {
  n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32,
  gscale: f32, //  adamw_step only
  gclip: f32, //   adamw_step_clipped only: the clip threshold (0 = no clipping)
  micro: u32, //   adamw_step_clipped only: micro-batches accumulated, = loss slots to check
  segments: u32, // adamw_step_clipped only: partial sums of squares in `sums`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read> sums: array<f32>;
@group(0) @binding(6) var<storage, read> losses: array<f32>;

fn update(i: u32, gscale: f32) {
  let g = grad[i] * gscale;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  var x = param[i];
  x = x - p.lr * p.wd * x;
  x = x - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
  param[i] = x;
}

@compute @workgroup_size(256)
fn adamw_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { update(i, p.gscale); }
}

// Exponent bits all ones = NaN or ±Inf. Read from the bits: a compiler may assume x == x.
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256)
fn adamw_step_clipped(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Each partial is checked as loaded too: a compiler allowed to assume that arithmetic makes no NaN or
  // Inf (WGSL lets it) could fold the check on the computed S away, never one on a value read from memory.
  var S = 0.0;
  var ok = true;
  for (var k = 0u; k < p.segments; k++) {
    let x = sums[64u * k];
    ok = ok && finite(x);
    S += x;
  }
  ok = ok && finite(S);
  for (var j = 0u; j < p.micro; j++) { ok = ok && finite(losses[j]); }
  if (!ok) { return; }
  let micro = f32(p.micro);
  let norm = sqrt(S) / micro;
  var clip = 1.0;
  if (p.gclip > 0.0 && norm > p.gclip) { clip = p.gclip / norm; }
  let gscale = clip / micro;
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { update(i, gscale); }
}
