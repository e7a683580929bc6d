// linear.wgsl — a linear layer over a frozen, possibly quantised weight: y = x·Wᵀ + bias.
//
//   linear_forward   Y[m, y_col0 + n] (=|+=) Σ_k X[m,k] · deq(W)[n,k]  (+ bias[n])
//
// deq(W)[n,k] with flat index e = n·K + k:
//   BITS = 32: W holds the f32 bits (no quantisation, `none`)
//   BITS = 4 or 8: code = bits of word e·BITS/32, value = table[code] · scale[e / 64]  (NF4, int8)
// A weight too large for one binding is split by rows (vocab chunks of the lm_head): each chunk
// is launched with its own W, scale and bias, writing columns [y_col0, y_col0 + N) of Y,
// whose rows are ldy wide. Chunks start on a block boundary (their rows·K is a multiple of 64).
// Bindings: 0 params, 1 Y (out), 2 X [M,K], 3 W (u32 words), 4 scale [blocks], 5 table, 6 bias [N].
//           Unused ones (scale/table for BITS=32, bias without HAS_BIAS) get a 4-byte dummy.
// Dispatch: (ceil(N/64), ceil(M/64), 1) workgroups of 16×16; tiles as in matmul.wgsl (64×64×16,
// 4×4 outputs per invocation). Dequantising in the tile load costs one word read and a table
// lookup per weight, amortised over the 64 rows of X that reuse it.

override BITS: u32 = 32u;
override HAS_BIAS: bool = false;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

struct Params { M: u32, N: u32, K: u32, ldy: u32, y_col0: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<u32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> table: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

var<workgroup> Xs: array<array<f32, BM>, BK>;  // Xs[k][m]
var<workgroup> Ws: array<array<f32, BN>, BK>;  // Ws[k][n]

fn weight(e: u32) -> f32 {
  if (BITS == 32u) { return bitcast<f32>(W[e]); }
  let per_word = 32u / BITS;
  let code = (W[e / per_word] >> ((e % per_word) * BITS)) & (0xffffffffu >> (32u - BITS));  // the low BITS bits
  return table[code] * scale[e / 64u];
}

@compute @workgroup_size(16, 16, 1)
fn linear_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] = 0.0; } }

  let slabs = (p.K + BK - 1u) / BK;
  for (var t = 0u; t < slabs; t++) {
    let k0 = t * BK;
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let r = idx / BK;      // both X and W are contiguous along k
      let k = idx % BK;
      var xv = 0.0;
      if (row0 + r < p.M && k0 + k < p.K) { xv = X[(row0 + r) * p.K + k0 + k]; }
      Xs[k][r] = xv;
      var wv = 0.0;
      if (col0 + r < p.N && k0 + k < p.K) { wv = weight((col0 + r) * p.K + k0 + k); }
      Ws[k][r] = wv;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = Xs[k][lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Ws[k][lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y + 16u * i;
    if (m >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + lid.x + 16u * j;
      if (n >= p.N) { continue; }
      var v = acc[i][j];
      if (HAS_BIAS) { v += bias[n]; }
      let yi = m * p.ldy + p.y_col0 + n;
      if (p.accumulate == 1u) { v += Y[yi]; }
      Y[yi] = v;
    }
  }
}

// ── Row ranges, and the gradient to the input ─────────────────────────────────────────────────────
//
//   linear_forward_rows    Y[m, y_col0 + n] (=|+=) Σ_k X[m,k]                  · deq(W)[w_row0 + n, k]   n < N
//   linear_backward_input  dX[m, k]         (=|+=) Σ_n dY[m, y_col0 + n]       · deq(W)[w_row0 + n, k]   n < N
//
// Both read rows [w_row0, w_row0 + N) of the bound chunk, so a caller can work on any row range of a
// weight (the vocabulary passes of crossentropy.wgsl), not only on whole chunks: binding a sub-range
// instead would need its offset to be a multiple of 256 bytes, i.e. of 4096 NF4 elements with their
// scales, which a pass of arbitrary width does not meet. A range that spans two chunks is two launches
// (src/kernels/qweight.ts splits it). The chunk itself starts on a block boundary, so e / 64 still
// finds the scale of element e of the binding. No bias: the lm_head has none, and dX does not need it.
// Since the weight is split by rows, the full dX of a chunked weight is the sum over its chunks: the
// launcher's first dispatch writes with the caller's accumulate flag, the others add (+=).
//
// Bindings: 0 params (RowParams; it aliases binding 0 with Params, which is valid because no entry
//           point uses both), 1 Y / dX (out), 2 X / dY, 3 W, 4 scale, 5 table. Binding 6 (bias) is not
//           used, so `layout: 'auto'` leaves it out and the launchers pass five tensors.
// Dispatch: linear_forward_rows   (ceil(N/64), ceil(M/64), 1) workgroups of 16×16;
//           linear_backward_input (ceil(K/64), ceil(M/64), 1) workgroups of 16×16.
// linear_backward_input is linear_forward with the reduction moved from k to n: a 64(m)×64(k) tile
// of dX, slabs of 16 rows n. dY[m, n] is contiguous along n and W[n, k] along k, so each tile load
// gives neighbouring invocations neighbouring addresses (coalesced). Napkin maths as linear_forward:
// 2·M·N·K FLOPs; per 16-deep slab (64+64)·16 floats loaded for 64·64·16 FMAs = 32 FMAs per float
// fetched; each quantised weight costs one word read and one table lookup, reused by 64 rows of dY.

struct RowParams { M: u32, N: u32, K: u32, ldy: u32, y_col0: u32, accumulate: u32, w_row0: u32 }

@group(0) @binding(0) var<uniform> q: RowParams;

@compute @workgroup_size(16, 16, 1)
fn linear_forward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let row0 = wg.y * BM;   // first m of the tile
  let col0 = wg.x * BN;   // first n of the tile (relative to w_row0)
  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] = 0.0; } }

  let slabs = (q.K + BK - 1u) / BK;
  for (var t = 0u; t < slabs; t++) {
    let k0 = t * BK;
    // 1024 elements of each tile, 4 per invocation; X [M,K] and W [rows,K] are contiguous along k.
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let r = idx / BK;
      let k = idx % BK;
      var xv = 0.0;
      if (row0 + r < q.M && k0 + k < q.K) { xv = X[(row0 + r) * q.K + k0 + k]; }
      Xs[k][r] = xv;
      var wv = 0.0;
      if (col0 + r < q.N && k0 + k < q.K) { wv = weight((q.w_row0 + col0 + r) * q.K + k0 + k); }
      Ws[k][r] = wv;
    }
    workgroupBarrier();
    // acc[i][j] += X[row0 + lid.y + 16i, k] · W[col0 + lid.x + 16j, k] over the slab
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = Xs[k][lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Ws[k][lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y + 16u * i;
    if (m >= q.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + lid.x + 16u * j;
      if (n >= q.N) { continue; }
      let yi = m * q.ldy + q.y_col0 + n;
      var v = acc[i][j];
      if (q.accumulate == 1u) { v += Y[yi]; }
      Y[yi] = v;
    }
  }
}

@compute @workgroup_size(16, 16, 1)
fn linear_backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Y is dX [M, K] (out), X is dY (rows q.ldy wide, this chunk's columns from q.y_col0).
  let tid = lid.y * 16u + lid.x;
  let row0 = wg.y * BM;   // first m of the tile
  let col0 = wg.x * BN;   // first k of the tile
  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] = 0.0; } }

  let slabs = (q.N + BK - 1u) / BK;
  for (var t = 0u; t < slabs; t++) {
    let n0 = t * BK;
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      // dY tile, 64 m × 16 n: invocation idx reads (m = idx / 16, n = idx % 16), contiguous along n.
      let r = idx / BK;
      let n = idx % BK;
      var dy = 0.0;
      if (row0 + r < q.M && n0 + n < q.N) { dy = X[(row0 + r) * q.ldy + q.y_col0 + n0 + n]; }
      Xs[n][r] = dy;   // Xs[n][m]
      // W tile, 16 n × 64 k: invocation idx reads (n = idx / 64, k = idx % 64), contiguous along k.
      let wn = idx / BN;
      let wk = idx % BN;
      var wv = 0.0;
      if (n0 + wn < q.N && col0 + wk < q.K) { wv = weight((q.w_row0 + n0 + wn) * q.K + col0 + wk); }
      Ws[wn][wk] = wv;   // Ws[n][k]
    }
    workgroupBarrier();
    // acc[i][j] += dY[row0 + lid.y + 16i, n] · W[n, col0 + lid.x + 16j] over the slab
    for (var n = 0u; n < BK; n++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = Xs[n][lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Ws[n][lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y + 16u * i;
    if (m >= q.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let k = col0 + lid.x + 16u * j;
      if (k >= q.K) { continue; }
      let xi = m * q.K + k;
      var v = acc[i][j];
      if (q.accumulate == 1u) { v += Y[xi]; }
      Y[xi] = v;
    }
  }
}

// ── Software set: the same products without workgroup memory or barriers ──────────────────────────
//
//   linear_forward_sw         Y[m, y_col0 + n] (=|+=) Σ_k X[m,k] · deq(W)[w_row0 + n, k] (+ bias[n])   n < N
//   linear_backward_input_sw  dX[m, k]         (=|+=) Σ_n dY[m, y_col0 + n] · deq(W)[w_row0 + n, k]   n < N
//
// linear_forward_sw serves both linear_forward (w_row0 = 0) and linear_forward_rows (no bias: the
// launcher binds the dummy); both read RowParams. Bindings as above (0 params, 1 Y/dX, 2 X/dY, 3 W,
// 4 scale, 5 table, 6 bias for the forward only).
// Each invocation owns a 4×4 block of the output and walks the reduction straight from storage:
// per step 4 values of X (or dY) and 4 dequantised weights for 16 FMAs. Edge rows/columns are clamped
// for reading and not written. Dispatch: 64 invocations per workgroup over the output's 4×4 blocks,
// folded into y past the per-dimension limit. On a CPU adapter (SwiftShader) a barrier costs ~0.2 ms
// per workgroup; the tiled entries above pay it 2·ceil(K/16) times per 64×64 tile.

fn lin_clamp4(i0: u32, n: u32) -> vec4<u32> {
  return vec4<u32>(min(i0, n - 1u), min(i0 + 1u, n - 1u), min(i0 + 2u, n - 1u), min(i0 + 3u, n - 1u));
}

@compute @workgroup_size(64)
fn linear_forward_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let nb_n = (q.N + 3u) / 4u;
  let blk = gid.x + gid.y * nwg.x * 64u;
  if (blk >= nb_n * ((q.M + 3u) / 4u)) { return; }
  let m0 = (blk / nb_n) * 4u;
  let n0 = (blk % nb_n) * 4u;
  let xr = lin_clamp4(m0, q.M) * q.K;                      // X row starts
  let wr = (lin_clamp4(n0, q.N) + vec4<u32>(q.w_row0)) * q.K;   // W row starts (elements)
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < q.K; k++) {
    let w = vec4<f32>(weight(wr.x + k), weight(wr.y + k), weight(wr.z + k), weight(wr.w + k));
    acc0 = fma(vec4<f32>(X[xr.x + k]), w, acc0);
    acc1 = fma(vec4<f32>(X[xr.y + k]), w, acc1);
    acc2 = fma(vec4<f32>(X[xr.z + k]), w, acc2);
    acc3 = fma(vec4<f32>(X[xr.w + k]), w, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= q.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= q.N) { break; }
      var v = acc[i][j];
      if (HAS_BIAS) { v += bias[n]; }
      let yi = m * q.ldy + q.y_col0 + n;
      if (q.accumulate == 1u) { v += Y[yi]; }
      Y[yi] = v;
    }
  }
}

@compute @workgroup_size(64)
fn linear_backward_input_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Y is dX [M, K] (out), X is dY (rows q.ldy wide, this range's columns from q.y_col0).
  let nb_k = (q.K + 3u) / 4u;
  let blk = gid.x + gid.y * nwg.x * 64u;
  if (blk >= nb_k * ((q.M + 3u) / 4u)) { return; }
  let m0 = (blk / nb_k) * 4u;
  let k0 = (blk % nb_k) * 4u;
  let dyr = lin_clamp4(m0, q.M) * q.ldy + vec4<u32>(q.y_col0);   // dY row starts
  let kc = lin_clamp4(k0, q.K);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var n = 0u; n < q.N; n++) {
    let wrow = (q.w_row0 + n) * q.K;
    let w = vec4<f32>(weight(wrow + kc.x), weight(wrow + kc.y), weight(wrow + kc.z), weight(wrow + kc.w));
    acc0 = fma(vec4<f32>(X[dyr.x + n]), w, acc0);
    acc1 = fma(vec4<f32>(X[dyr.y + n]), w, acc1);
    acc2 = fma(vec4<f32>(X[dyr.z + n]), w, acc2);
    acc3 = fma(vec4<f32>(X[dyr.w + n]), w, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= q.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + j;
      if (k >= q.K) { break; }
      let xi = m * q.K + k;
      var v = acc[i][j];
      if (q.accumulate == 1u) { v += Y[xi]; }
      Y[xi] = v;
    }
  }
}
