// peak.wgsl — the adapter's own ceilings, measured by `npm run bench` (tests/bench/peak.ts launches
// these; nothing in the product does). Every kernel of a profile is reported as a fraction of them.
//
//   peak_fma   out[i] = Σ over 4 chains × 4 lanes of a, where each lane starts at a0 = (i mod 1024) + 4·chain
//              + lane and runs iters × 4 times  a = fma(a, p.m, p.c)
//              16 independent FMAs per unrolled step (4 vec4 chains), so the latency of one FMA hides
//              behind the others; m and c come from the uniform, so no compiler can fold the loop.
//              With m = 1 and c = 1 every value is a small integer (exact in f32 whether or not the FMA
//              is fused): out[i] = Σ (a0 + 4·iters), which the CPU checks, so a shortened or skipped
//              loop is caught. FLOPs: 2 · 64 · iters per invocation.
//   peak_copy  dst[i] = src[i] over n4 vec4s: the bandwidth a shader gets, 32 bytes moved per vec4.
//
// Bindings: peak_fma  0 params (iters, m, c, n), 1 out [n] (=);
//           peak_copy 0 params (n4), 1 dst [n4] vec4 (=), 2 src [n4] vec4.
// Dispatch: peak_fma ceil(n / 256) workgroups of 256, one output per invocation;
//           peak_copy a 1-D grid of 256-wide workgroups, invocations striding over n4.

struct FmaParams { iters: u32, m: f32, c: f32, n: u32 }

@group(0) @binding(0) var<uniform> fp: FmaParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn peak_fma(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= fp.n) { return; }
  let base = f32(i % 1024u);
  let m = vec4<f32>(fp.m);
  let c = vec4<f32>(fp.c);
  var a0 = vec4<f32>(base) + vec4<f32>(0.0, 1.0, 2.0, 3.0);
  var a1 = a0 + 4.0;
  var a2 = a0 + 8.0;
  var a3 = a0 + 12.0;
  for (var t = 0u; t < fp.iters; t++) {
    for (var u = 0u; u < 4u; u++) {
      a0 = fma(a0, m, c);
      a1 = fma(a1, m, c);
      a2 = fma(a2, m, c);
      a3 = fma(a3, m, c);
    }
  }
  let s = a0 + a1 + a2 + a3;
  out[i] = s.x + s.y + s.z + s.w;
}

struct CopyParams { n4: u32 }

@group(0) @binding(0) var<uniform> cp: CopyParams;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;

@compute @workgroup_size(256)
fn peak_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < cp.n4; i += stride) { dst[i] = src[i]; }
}
