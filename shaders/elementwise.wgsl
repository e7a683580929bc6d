// elementwise.wgsl — the simplest kernels: element by element over n values.
//
//   add_forward     out[i]  = a[i] + b[i]          (residual connections)
//   scale_forward   out[i]  = alpha · a[i]
//   axpy_forward    out[i] += alpha · a[i]         (accumulate into out: gradients, residual stream)
//
// Bindings: 0 params, 1 out, 2 a, 3 b (add_forward only; the others leave binding 3 unused, so
// their launchers pass only out and a — `layout: 'auto'` drops unused bindings).
// Dispatch: a 1-D grid of 256-wide workgroups, up to 65535 of them; each invocation strides
// over the array so any n fits (x = min(ceil(n/256), 65535)).
// Memory bound: 12 bytes moved per add, so only bandwidth matters; no tiling needed.

struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(256)
fn add_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(256)
fn scale_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { out[i] = p.alpha * a[i]; }
}

@compute @workgroup_size(256)
fn axpy_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { out[i] += p.alpha * a[i]; }
}
