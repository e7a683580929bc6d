// adamw.wgsl — one AdamW step over a flat parameter tensor (PyTorch's torch.optim.AdamW semantics).
//
//   adamw_step   g  = grad[i] · gscale                          (gscale = global-norm clip factor)
//                m  = β1·m + (1 − β1)·g
//                v  = β2·v + (1 − β2)·g²
//                p  = p − lr·wd·p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
//   p, m, v updated in place (=); grad is read only (the trainer zeroes it for the next step).
//   bc1 = 1 − β1^t and bc2 = 1 − β2^t are computed on the CPU in float64 and passed in.
// Bindings: 0 params, 1 p, 2 m, 3 v (all read_write), 4 grad.
// Dispatch: 1-D over n, 256-wide workgroups, invocations stride. Memory bound: 20 bytes/element.

struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, gscale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;

@compute @workgroup_size(256)
fn adamw_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let g = grad[i] * p.gscale;
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    var x = param[i];
    x = x - p.lr * p.wd * x;
    x = x - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
    param[i] = x;
  }
}
