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
