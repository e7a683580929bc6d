// dropout.wgsl — inverted dropout with a counter-based mask, so the same (seed, element) always
// gives the same decision: the per-layer recomputation of the backward pass sees exactly the mask
// the forward pass used, without storing it.
//
//   dropout_forward    out[i]  = x[i] · keep(i) / (1 − p)                         (=)
//   dropout_backward   dx[i]  += g[i] · keep(i) / (1 − p)                         (+=, the residual convention)
//   keep(i) = hash(seed, i) ≥ p·2^32, hash = a 32-bit integer mix (lowbias32) of seed and i.
// Bindings: 0 params, 1 out/dx, 2 x/g.
// Dispatch: 1-D over n, 256-wide workgroups, invocations stride. Memory bound.

struct Params { n: u32, seed: u32, threshold: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn mix(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u; h *= 0x7feb352du;
  h ^= h >> 15u; h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn keep(i: u32) -> f32 {
  return select(0.0, p.scale, mix(i ^ mix(p.seed)) >= p.threshold);
}

@compute @workgroup_size(256)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { out[i] = x[i] * keep(i); }
}

@compute @workgroup_size(256)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) { out[i] += x[i] * keep(i); }
}
