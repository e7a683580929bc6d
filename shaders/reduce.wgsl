// reduce.wgsl — sum and sum of squares of a vector, in two passes (for the gradient's global norm,
// the loss over a batch, checks).
//
//   reduce_sum     partial[w] = Σ x[i]     over the slice of workgroup w
//   reduce_sumsq   partial[w] = Σ x[i]²
// Pass 1 runs G ≤ 256 workgroups over x[n] into partial[G]; pass 2 runs reduce_sum with one
// workgroup over partial[G] into out[1]. Override FINAL_SQRT = true on pass 2 gives the L2 norm.
//
// Bindings: 0 params, 1 out (partial sums or the result, `=`), 2 x.
// Dispatch: (G, 1, 1), 256 invocations each; invocation i of workgroup w reads x[w·256 + i + k·G·256].
// Each invocation accumulates in a register, then a tree reduction in workgroup memory
// (log2(256) = 8 barrier steps). Memory bound: 4 bytes read per element.

override FINAL_SQRT: bool = false;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn reduce(square: bool, wg: u32, lid: u32, nwg: u32) {
  var acc = 0.0;
  let stride = nwg * 256u;
  for (var i = wg * 256u + lid; i < p.n; i += stride) {
    let v = x[i];
    acc += select(v, v * v, square);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width >>= 1u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[wg] = select(partial[0], sqrt(partial[0]), FINAL_SQRT); }
}

@compute @workgroup_size(256)
fn reduce_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce(false, wg.x, lid, nwg.x);
}

@compute @workgroup_size(256)
fn reduce_sumsq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce(true, wg.x, lid, nwg.x);
}

// ── Software set ───────────────────────────────────────────────────────────────────────────────────
//
//   reduce_sum_sw, reduce_sumsq_sw  pass 1: out[i] = Σ_k x[i + k·I] (or of x²) for invocation
//                                   i < I = 64·workgroups (the launcher asks for 4 workgroups: 256 partials)
//   reduce_final_sw                 pass 2: out[0] = Σ x[0..n) (sqrt'ed when FINAL_SQRT), one invocation
// Same Params and bindings as above. No barriers, no workgroup memory (a CPU adapter pays ~0.2 ms
// per barriered workgroup); the final sum of 256 partials is one short loop.

fn reduce_strided(square: bool, i: u32, stride: u32) {
  var acc = 0.0;
  for (var j = i; j < p.n; j += stride) {
    let v = x[j];
    acc += select(v, v * v, square);
  }
  out[i] = acc;
}

@compute @workgroup_size(64)
fn reduce_sum_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce_strided(false, gid.x, nwg.x * 64u);
}

@compute @workgroup_size(64)
fn reduce_sumsq_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce_strided(true, gid.x, nwg.x * 64u);
}

@compute @workgroup_size(1)
fn reduce_final_sw() {
  var acc = 0.0;
  for (var j = 0u; j < p.n; j++) { acc += x[j]; }
  out[0] = select(acc, sqrt(acc), FINAL_SQRT);
}
