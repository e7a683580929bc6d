// matmul.wgsl — tiled f32 matrix products in the three layouts a linear layer needs in training.
//
//   matmul_forward          Y [M,N]  = alpha · X [M,K] · W [N,K]ᵀ    (y = x·Wᵀ, PyTorch's Linear)
//   matmul_backward_input   dX[M,K]  = alpha · dY[M,N] · W [N,K]     (gradient to the layer input)
//   matmul_backward_weight  dW[N,K]  = alpha · dY[M,N]ᵀ · X [M,K]    (gradient to the weight)
//
// All three are one product C[R,S] = alpha · Σ_d A(r,d)·B(d,s), (+ C when p.accumulate == 1), with
// every matrix row-major and contiguous:
//   forward:          R=M S=N D=K   A(r,d)=X[r,d]   B(d,s)=W[s,d]   (A and B contiguous along d)
//   backward_input:   R=M S=K D=N   A(r,d)=dY[r,d]  B(d,s)=W[d,s]   (A along d, B along s)
//   backward_weight:  R=N S=K D=M   A(r,d)=dY[d,r]  B(d,s)=X[d,s]   (A along r, B along s)
// The entry points differ only in which index runs along memory when a tile is loaded, so that
// neighbouring invocations read neighbouring addresses (coalesced) in every form.
// A batch dimension (z) with element strides lets attention reuse the kernel.
//
// Bindings: 0 params (uniform), 1 C (out, read too when accumulating), 2 A, 3 B.
// Dispatch: (ceil(S/BN), ceil(R/BM), batch) workgroups of 16×16 invocations.
// Output: `=` by default; `+=` when p.accumulate == 1 (parameter gradients accumulate, STYLE §7).
//
// Napkin maths: a 64×64 output tile with a 16-deep slab loads (64+64)·16 floats from memory and
// does 64·64·16 multiply-adds: 32 FMAs per float loaded from global memory, 4 per float read from
// workgroup memory (each invocation keeps a 4×4 accumulator and reuses each loaded value 4 times).

const BM: u32 = 64u;   // rows of C per workgroup
const BN: u32 = 64u;   // columns of C per workgroup
const BK: u32 = 16u;   // depth of one slab
const TM: u32 = 4u;    // rows per invocation (strided by 16)
const TN: u32 = 4u;    // columns per invocation (strided by 16)

struct Params {
  R: u32, S: u32, D: u32,
  accumulate: u32,
  alpha: f32,
  batch_a: u32, batch_b: u32, batch_c: u32,   // element strides between batch items
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;

var<workgroup> As: array<array<f32, BM>, BK>;  // As[d][r]
var<workgroup> Bs: array<array<f32, BN>, BK>;  // Bs[d][s]

// Index of A(r,d) and B(d,s) for each form (form: 0 forward, 1 backward_input, 2 backward_weight).
fn a_index(form: u32, r: u32, d: u32) -> u32 {
  if (form == 2u) { return d * p.R + r; }   // dY[d, r], dY is [M=D, N=R]
  return r * p.D + d;                         // X[r, d] or dY[r, d]
}
fn b_index(form: u32, d: u32, s: u32) -> u32 {
  if (form == 0u) { return s * p.D + d; }   // W[s, d], W is [N=S, K=D]
  return d * p.S + s;                         // W[d, s] (W is [N=D, K=S]) or X[d, s]
}

fn matmul_tile(form: u32, wg: vec3<u32>, lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  let a_base = wg.z * p.batch_a;
  let b_base = wg.z * p.batch_b;
  let c_base = wg.z * p.batch_c;
  // Does the tile load walk along d (A: forward and backward_input) or along r/s?
  let a_along_d = form != 2u;
  let b_along_d = form == 0u;

  var acc: array<array<f32, TN>, TM>;
  for (var i = 0u; i < TM; i++) { for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; } }

  let slabs = (p.D + BK - 1u) / BK;
  for (var t = 0u; t < slabs; t++) {
    let d0 = t * BK;
    // Load 64×16 of A and 16×64 of B: 1024 values each, 4 per invocation.
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      var r: u32; var d: u32;
      if (a_along_d) { r = idx / BK; d = idx % BK; } else { r = idx % BM; d = idx / BM; }
      var av = 0.0;
      if (row0 + r < p.R && d0 + d < p.D) { av = A[a_base + a_index(form, row0 + r, d0 + d)]; }
      As[d][r] = av;

      var s: u32; var db: u32;
      if (b_along_d) { s = idx / BK; db = idx % BK; } else { s = idx % BN; db = idx / BN; }
      var bv = 0.0;
      if (col0 + s < p.S && d0 + db < p.D) { bv = B[b_base + b_index(form, d0 + db, col0 + s)]; }
      Bs[db][s] = bv;
    }
    workgroupBarrier();
    for (var d = 0u; d < BK; d++) {
      var a: array<f32, TM>;
      var b: array<f32, TN>;
      for (var i = 0u; i < TM; i++) { a[i] = As[d][lid.y + 16u * i]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[d][lid.x + 16u * j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y + 16u * i;
    if (r >= p.R) { continue; }
    for (var j = 0u; j < TN; j++) {
      let s = col0 + lid.x + 16u * j;
      if (s >= p.S) { continue; }
      let ci = c_base + r * p.S + s;
      var v = p.alpha * acc[i][j];
      if (p.accumulate == 1u) { v += C[ci]; }
      C[ci] = v;
    }
  }
}

@compute @workgroup_size(16, 16, 1)
fn matmul_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(0u, wg, lid);
}

@compute @workgroup_size(16, 16, 1)
fn matmul_backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(1u, wg, lid);
}

@compute @workgroup_size(16, 16, 1)
fn matmul_backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(2u, wg, lid);
}

// ── Software set: the same three products without workgroup memory or barriers ──────────────────
//
//   matmul_forward_sw, matmul_backward_input_sw, matmul_backward_weight_sw: C = alpha·A·B (+ C), the
//   forms, bindings, Params and `=`/`+=` rule of the tiled entries above.
// Each invocation owns a 4×4 block of C (rows r0..r0+3, columns s0..s0+3) and walks d straight from
// storage: per step 4 values of A and 4 of B for 16 FMAs. Rows and columns past the edge are clamped
// to the last one for reading (always in bounds, no branch in the loop) and simply not written.
// Dispatch: 64 invocations per workgroup over ceil(R/4)·ceil(S/4) blocks, folded into y past the
// per-dimension limit (x·y·64 ≥ blocks), batch along z.
// Why: a CPU adapter (SwiftShader) runs a workgroup's invocations as one loop per barrier interval
// and pays ~0.2 ms per workgroup of any shader with a barrier; without barriers these run 8–13×
// faster there. On a real GPU the tiled entries are the fast ones (every value loaded from memory
// is reused 64 times instead of 4).

fn matmul_block(form: u32, gid: vec3<u32>, nwg: vec3<u32>) {
  let nb_s = (p.S + 3u) / 4u;
  let blk = gid.x + gid.y * nwg.x * 64u;
  if (blk >= nb_s * ((p.R + 3u) / 4u)) { return; }
  let r0 = (blk / nb_s) * 4u;
  let s0 = (blk % nb_s) * 4u;
  let a_base = gid.z * p.batch_a;
  let b_base = gid.z * p.batch_b;
  let c_base = gid.z * p.batch_c;
  // Clamped row and column indices for reading.
  let r = vec4<u32>(min(r0, p.R - 1u), min(r0 + 1u, p.R - 1u), min(r0 + 2u, p.R - 1u), min(r0 + 3u, p.R - 1u));
  let s = vec4<u32>(min(s0, p.S - 1u), min(s0 + 1u, p.S - 1u), min(s0 + 2u, p.S - 1u), min(s0 + 3u, p.S - 1u));
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var d = 0u; d < p.D; d++) {
    let b = vec4<f32>(B[b_base + b_index(form, d, s.x)], B[b_base + b_index(form, d, s.y)],
                      B[b_base + b_index(form, d, s.z)], B[b_base + b_index(form, d, s.w)]);
    acc0 = fma(vec4<f32>(A[a_base + a_index(form, r.x, d)]), b, acc0);
    acc1 = fma(vec4<f32>(A[a_base + a_index(form, r.y, d)]), b, acc1);
    acc2 = fma(vec4<f32>(A[a_base + a_index(form, r.z, d)]), b, acc2);
    acc3 = fma(vec4<f32>(A[a_base + a_index(form, r.w, d)]), b, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i >= p.R) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (s0 + j >= p.S) { break; }
      let ci = c_base + (r0 + i) * p.S + s0 + j;
      var v = p.alpha * acc[i][j];
      if (p.accumulate == 1u) { v += C[ci]; }
      C[ci] = v;
    }
  }
}

@compute @workgroup_size(64)
fn matmul_forward_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  matmul_block(0u, gid, nwg);
}

@compute @workgroup_size(64)
fn matmul_backward_input_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  matmul_block(1u, gid, nwg);
}

@compute @workgroup_size(64)
fn matmul_backward_weight_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  matmul_block(2u, gid, nwg);
}
