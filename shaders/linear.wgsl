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
