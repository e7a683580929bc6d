// rmsnorm.wgsl — RMSNorm over the last dimension, as in Llama/Qwen: y = x / sqrt(mean(x²) + eps) · w.
//
//   rmsnorm_forward   y[r, c] = x[r, c] · rstd[r] · w[c],  rstd[r] = 1 / sqrt(Σ_c x[r,c]² / W + eps)
//
//   rmsnorm_backward  dx[r, c] (= or += when p.accumulate) = rstd·w[c]·dy[r,c] − rstd³/W · x[r,c] · Σ_k w[k]·dy[r,k]·x[r,k]
//   rmsnorm_backward_weight  dw[c] += Σ_r dy[r,c] · x[r,c] · rstd[r]       (full fine-tuning only)
//
// Used for the layer norms (rows = tokens, W = C) and for Qwen3's per-head q_norm/k_norm
// (rows = tokens·heads, W = HS). rstd is saved for the backward pass.
// Bindings: forward 0 params, 1 y [R, W] (=), 2 rstd [R] (=), 3 x [R, W], 4 w [W];
//           backward 0 params, 1 dx [R, W] (= or +=: the residual stream accumulates), 2 dy, 3 x, 4 w, 5 rstd;
//           backward_weight 0 params, 1 dw [W] (+=), 2 dy, 3 x, 4 rstd.
// Dispatch: forward/backward (min(R, 65535), ceil(R / 65535), 1) workgroups of WG, one row each
//           (WG = a power of two from 32 to 256 fitted to W by the launcher: a 64-wide row does
//           not pay for 256 threads and 8 barriers, which dominated tiny models on SwiftShader);
//           backward_weight 1-D over W columns, each looping over the R rows.
// y may alias nothing; x is read twice (sum of squares, then scale): 12 bytes/element moved.

struct Params { R: u32, W: u32, eps: f32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;

override WG: u32 = 256; // threads per row, a power of two ≤ 256

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.R) { return; }   // uniform per workgroup, so the barriers below stay uniform
  let base = r * p.W;
  var acc = 0.0;
  for (var c = lid; c < p.W; c += WG) { let v = x[base + c]; acc += v * v; }
  partial[lid] = acc;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width >>= 1u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  let s = inverseSqrt(partial[0] / f32(p.W) + p.eps);
  if (lid == 0u) { rstd[r] = s; }
  for (var c = lid; c < p.W; c += WG) { y[base + c] = x[base + c] * s * w[c]; }
}

// ---- backward -----------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> bx: array<f32>;
@group(0) @binding(4) var<storage, read> bw: array<f32>;
@group(0) @binding(5) var<storage, read> brstd: array<f32>;

@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.R) { return; }
  let base = r * p.W;
  // Σ_k w·dy·x over the row
  var acc = 0.0;
  for (var c = lid; c < p.W; c += WG) { acc += bw[c] * dy[base + c] * bx[base + c]; }
  partial[lid] = acc;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width >>= 1u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  let s = brstd[r];
  let k = s * s * s * partial[0] / f32(p.W);
  for (var c = lid; c < p.W; c += WG) {
    var g = s * bw[c] * dy[base + c] - k * bx[base + c];
    if (p.accumulate == 1u) { g += dx[base + c]; }
    dx[base + c] = g;
  }
}

@group(0) @binding(4) var<storage, read> wrstd: array<f32>;

@compute @workgroup_size(256)
fn rmsnorm_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.W) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.R; r++) { acc += dy[r * p.W + c] * bx[r * p.W + c] * wrstd[r]; }
  dx[c] += acc;
}

// ── Software set: one invocation per row, no workgroup memory or barriers ─────────────────────────
//
//   rmsnorm_forward_sw, rmsnorm_backward_sw: the same y/rstd and dx (= or +=) as the entries above,
//   same Params and bindings. Dispatch: ceil(R / 64) workgroups of 64 folded into x·y; invocation r
//   owns row r. (rmsnorm_backward_weight has no barrier and serves both sets.) On a CPU adapter a
//   row of 64 is a short loop, where the tree reduction paid log2(WG) barriers per row.

@compute @workgroup_size(64)
fn rmsnorm_forward_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.R) { return; }
  let base = r * p.W;
  var acc = 0.0;
  for (var c = 0u; c < p.W; c++) { let v = x[base + c]; acc = fma(v, v, acc); }
  let s = inverseSqrt(acc / f32(p.W) + p.eps);
  rstd[r] = s;
  for (var c = 0u; c < p.W; c++) { y[base + c] = x[base + c] * s * w[c]; }
}

@compute @workgroup_size(64)
fn rmsnorm_backward_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.R) { return; }
  let base = r * p.W;
  var acc = 0.0;
  for (var c = 0u; c < p.W; c++) { acc += bw[c] * dy[base + c] * bx[base + c]; }
  let s = brstd[r];
  let k = s * s * s * acc / f32(p.W);
  for (var c = 0u; c < p.W; c++) {
    var g = s * bw[c] * dy[base + c] - k * bx[base + c];
    if (p.accumulate == 1u) { g += dx[base + c]; }
    dx[base + c] = g;
  }
}
