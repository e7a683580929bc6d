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
// Output: `=` by default; `+=` when p.accumulate == 1 (parameter gradients accumulate, STYLE §7).
//
// GPU set: lib/gemm-tile.wgsl's 64×64 tiles of 8×8 invocations, 8×8 outputs each, 16-deep slabs
// fetched into registers one slab ahead. Each operand is loaded along its contiguous index: 16
// invocations per 64-byte piece of a row when it runs along d, 64 per 256-byte row piece when it runs
// along r or s. Dispatch: (ceil(S/64), ceil(R/64), batch) workgroups of 8×8.
// Napkin maths: per slab (64+64)·16 floats from memory for 64·64·16 multiply-adds (32 FMAs per float
// loaded), and 4 FMAs per word read from workgroup memory.
//
// uses: lib/gemm-tile.wgsl

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

// Index of A(r,d) and B(d,s) for each form (form: 0 forward, 1 backward_input, 2 backward_weight).
fn a_index(form: u32, r: u32, d: u32) -> u32 {
  if (form == 2u) { return d * p.R + r; }   // dY[d, r], dY is [M=D, N=R]
  return r * p.D + d;                         // X[r, d] or dY[r, d]
}
fn b_index(form: u32, d: u32, s: u32) -> u32 {
  if (form == 0u) { return s * p.D + d; }   // W[s, d], W is [N=S, K=D]
  return d * p.S + s;                         // W[d, s] (W is [N=D, K=S]) or X[d, s]
}

// C[ci] = alpha·x, or += with p.accumulate: every entry's output rule.
fn put_c(ci: u32, x: f32) {
  var v = p.alpha * x;
  if (p.accumulate == 1u) { v += C[ci]; }
  C[ci] = v;
}

struct Slab { a: array<f32, 16>, b: array<f32, 16> }

// Each operand is fetched at lib/gemm-tile.wgsl's gemm_at places: along d when it runs along d in memory
// (A in forms 0 and 1, B in form 0), else along its rows or columns; staged as whole vec4s.
fn fetch(slab: ptr<function, Slab>, form: u32, t: u32, corner: vec3<u32>, d0: u32, batch: u32) {
  for (var i = 0u; i < 16u; i++) {
    let ta = gemm_at(form != 2u, t, i);
    var av = 0.0;
    if (corner.x + ta.y < p.R && d0 + ta.x < p.D) { av = A[batch * p.batch_a + a_index(form, corner.x + ta.y, d0 + ta.x)]; }
    (*slab).a[i] = av;
    let tb = gemm_at(form == 0u, t, i);
    var bv = 0.0;
    if (corner.y + tb.y < p.S && d0 + tb.x < p.D) { bv = B[batch * p.batch_b + b_index(form, d0 + tb.x, corner.y + tb.y)]; }
    (*slab).b[i] = bv;
  }
}

fn stage(slab: ptr<function, Slab>, form: u32, t: u32) {
  gemm_stage4(true, form != 2u, t, &((*slab).a));
  gemm_stage4(false, form == 0u, t, &((*slab).b));
}

fn matmul_tile(form: u32, wg: vec3<u32>, lid: vec3<u32>) {
  let t = lid.y * 8u + lid.x;
  let corner = vec3<u32>(wg.y * GT, wg.x * GT, 0u);   // first row r and column s of the tile
  let slabs = (p.D + GK - 1u) / GK;
  var acc: GemmAcc;
  var slab: Slab;
  fetch(&slab, form, t, corner, 0u, wg.z);
  for (var k = 0u; k < slabs; k++) {
    workgroupBarrier();   // the previous slab's reads are done
    stage(&slab, form, t);
    workgroupBarrier();
    if (k + 1u < slabs) { fetch(&slab, form, t, corner, (k + 1u) * GK, wg.z); }
    gemm_slab(&acc, lid.x, lid.y);
  }

  for (var i = 0u; i < 8u; i++) {
    let r = corner.x + gemm_row(lid.y, i);
    if (r >= p.R) { continue; }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let s = corner.y + gemm_col(lid.x, h, j);
        if (s >= p.S) { continue; }
        put_c(wg.z * p.batch_c + r * p.S + s, acc[2u * i + h][j]);
      }
    }
  }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(0u, wg, lid);
}

@compute @workgroup_size(8, 8, 1)
fn matmul_backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(1u, wg, lid);
}

@compute @workgroup_size(8, 8, 1)
fn matmul_backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_tile(2u, wg, lid);
}

// ── Skinny products: one side of C at most 16 wide (a LoRA adapter's rank) ─────────────────────────
//
//   matmul_forward_skinny, matmul_backward_input_skinny, matmul_backward_weight_skinny: C = alpha·A·B (+ C),
//   the forms, bindings and Params above, for C with S ≤ 16 (NARROW_ROWS false: u = x·Aᵀ, du = s·dy·B,
//   dB = s·dyᵀ·u) or R ≤ 16 (NARROW_ROWS true: dA = duᵀ·x).
// Why: a 64×64 tile with 8 real columns wastes 7/8 of its work and, worse, there are few tiles: u over
// 2,048 rows is 32 workgroups, dA over K = 896 is 14, each walking the whole reduction alone, on a GPU
// with 24+ multiprocessors. Here a workgroup owns 16 wide outputs × all (≤ 16) narrow ones, so the same
// products launch 128 and 56 workgroups, and its 64 invocations split each 64-deep slab in four:
// invocation (w, q) = (lid.x, lid.y) sums d = 16q … 16q + 15 for wide output w into 16 accumulators (4
// vec4: one read of the wide operand and up to 4 vec4 broadcasts of the narrow one per 16 FMAs); the four
// partial sums meet in workgroup memory at the end. Slabs are loaded along each operand's contiguous
// index (coalesced), the wide tile's rows padded to 65 floats so the 16 invocations reading one d hit 16
// banks. Dispatch: (ceil(wide / 16), 1, batch) workgroups of 16×4.

override NARROW_ROWS: bool = false;

const SKW: u32 = 16u;    // wide outputs per workgroup
const SKD: u32 = 64u;    // depth of a slab
const SKP: u32 = 65u;    // padded row of the wide tile

var<workgroup> sk_wide: array<f32, 1040>;          // [w · 65 + d], 16 × 64 (+ padding); then the partial sums
var<workgroup> sk_narrow: array<vec4<f32>, 256>;   // [d · 4 + j / 4] = j…j+3 at d, 64 × 16

// The wide and the narrow operand of C, whichever side is narrow.
fn sk_wide_val(form: u32, w: u32, d: u32, z: u32) -> f32 {
  if (NARROW_ROWS) { return B[z * p.batch_b + b_index(form, d, w)]; }
  return A[z * p.batch_a + a_index(form, w, d)];
}
fn sk_narrow_val(form: u32, j: u32, d: u32, z: u32) -> f32 {
  if (NARROW_ROWS) { return A[z * p.batch_a + a_index(form, j, d)]; }
  return B[z * p.batch_b + b_index(form, d, j)];
}

// (index along the operand's side of C, d) of the i-th value an invocation loads: along d when the
// operand runs along d in memory, else along its side. `side`: the tile's extent on that side.
fn sk_at(along_d: bool, side: u32, t: u32, i: u32) -> vec2<u32> {
  let idx = t + 64u * i;
  if (along_d) { return vec2<u32>(idx / SKD, idx % SKD); }
  return vec2<u32>(idx % side, idx / side);
}

fn matmul_skinny(form: u32, wg: vec3<u32>, lid: vec3<u32>) {
  let t = lid.y * SKW + lid.x;
  let wide = select(p.R, p.S, NARROW_ROWS);
  let narrow = select(p.S, p.R, NARROW_ROWS);
  let w0 = wg.x * SKW;
  // Does the operand run along d in memory? (A along d in forms 0 and 1; B along d in form 0.)
  let wide_along_d = select(form != 2u, form == 0u, NARROW_ROWS);
  let narrow_along_d = select(form == 0u, form != 2u, NARROW_ROWS);
  let n4 = (narrow + 3u) / 4u;
  var acc: array<vec4<f32>, 4>;
  let slabs = (p.D + SKD - 1u) / SKD;
  for (var k = 0u; k < slabs; k++) {
    let d0 = k * SKD;
    for (var i = 0u; i < 16u; i++) {
      let wd = sk_at(wide_along_d, SKW, t, i);
      var v = 0.0;
      if (w0 + wd.x < wide && d0 + wd.y < p.D) { v = sk_wide_val(form, w0 + wd.x, d0 + wd.y, wg.z); }
      sk_wide[wd.x * SKP + wd.y] = v;
    }
    // The narrow tile in whole vec4s (4 neighbouring j at one d), one writer each: see the one-writer rule
    // in lib/gemm-tile.wgsl. Along d, invocation t owns d = t; else 4 invocations share a d, a vec4 each.
    for (var q = 0u; q < 4u; q++) {
      var d = t;
      var j4 = q;
      if (!narrow_along_d) {
        d = t / 4u + 16u * q;
        j4 = t % 4u;
      }
      var u = vec4<f32>(0.0);
      for (var c = 0u; c < 4u; c++) {
        if (4u * j4 + c < narrow && d0 + d < p.D) { u[c] = sk_narrow_val(form, 4u * j4 + c, d0 + d, wg.z); }
      }
      sk_narrow[d * 4u + j4] = u;
    }
    workgroupBarrier();
    for (var dd = 0u; dd < 16u; dd++) {
      let d = lid.y * 16u + dd;
      let a = vec4<f32>(sk_wide[lid.x * SKP + d]);
      for (var v = 0u; v < n4; v++) { acc[v] = fma(a, sk_narrow[d * 4u + v], acc[v]); }
    }
    workgroupBarrier();
  }
  // The four quarters of d meet: partial sums [q][w][j] in sk_wide, then 4 outputs per invocation.
  for (var v = 0u; v < 4u; v++) {
    for (var c = 0u; c < 4u; c++) { sk_wide[(lid.y * SKW + lid.x) * 16u + 4u * v + c] = acc[v][c]; }
  }
  workgroupBarrier();
  for (var e = 0u; e < 4u; e++) {
    let o = t + 64u * e;
    let w = o / 16u;
    let j = o % 16u;
    if (w0 + w >= wide || j >= narrow) { continue; }
    var sum = 0.0;
    for (var q = 0u; q < 4u; q++) { sum += sk_wide[(q * SKW + w) * 16u + j]; }
    var ci = wg.z * p.batch_c + (w0 + w) * p.S + j;
    if (NARROW_ROWS) { ci = wg.z * p.batch_c + j * p.S + w0 + w; }
    put_c(ci, sum);
  }
}

@compute @workgroup_size(16, 4, 1)
fn matmul_forward_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_skinny(0u, wg, lid);
}

@compute @workgroup_size(16, 4, 1)
fn matmul_backward_input_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_skinny(1u, wg, lid);
}

@compute @workgroup_size(16, 4, 1)
fn matmul_backward_weight_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  matmul_skinny(2u, wg, lid);
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
      put_c(c_base + (r0 + i) * p.S + s0 + j, acc[i][j]);
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
