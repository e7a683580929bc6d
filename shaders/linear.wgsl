// linear.wgsl — a linear layer over a frozen, possibly quantised weight: y = x·Wᵀ + bias, and the
// gradient to its input.
//
//   linear_forward         Y[m, y_col0 + n] (=|+=) Σ_k X[m,k]            · deq(W)[w_row0 + n, k]  (+ bias[n])   n < N
//                          or, with HAS_RESIDUAL, Y = R + … where R (binding 8 instead of the bias) is laid out as
//                          Y: a residual stream's add (o_proj, down_proj) without first copying it into Y
//   linear_forward_rows    the same without a bias (the lm_head's vocabulary passes)
//   linear_backward_input  dX[m, k]         (=|+=) Σ_n dY[m, y_col0 + n] · deq(W)[w_row0 + n, k]                n < N
//
// and, when r > 0, a LoRA adapter's second product added in the same pass (the projection's output is
// written once instead of written, then read and written again by a separate `+=` launch):
//   forward:         + e_scale · Σ_j ea[m, j] · eb[e_row0 + n, j]    ea = u = dropout(x)·Aᵀ [M, r], eb = B [·, r]
//   backward_input:  + e_scale · Σ_j ea[m, j] · eb[j, k]             ea = du [M, r],                eb = A [r, K]
//
// deq(W)[n,k] with flat index e = n·K + k of the bound chunk:
//   BITS = 32: W holds the f32 bits (no quantisation, `none`)
//   BITS = 4 or 8: code = bits of word e·BITS/32, value = table[code] · scale[e / 64]  (NF4, int8)
// A weight too large for one binding is split by rows (vocab chunks of the lm_head): each chunk is
// launched with its own W and scale. All entries read rows [w_row0, w_row0 + N) of the bound chunk, so
// a caller can work on any row range of a weight, not only on whole chunks (binding a sub-range would
// need its offset to be a multiple of 256 bytes, i.e. of 4096 NF4 elements, which a vocabulary pass of
// arbitrary width does not meet); a range across two chunks is two launches (src/kernels/linear.ts).
// Chunks start on a block boundary, so e / 64 finds the scale of element e of the binding. The full dX
// of a chunked weight is the sum over its chunks: the launcher's first dispatch writes with the
// caller's accumulate flag, the others add. Y, dY: rows ldy wide.
// Bindings: 0 params, 1 Y / dX (out), 2 X / dY, 3 W (u32 words), 4 scale [blocks], 5 table, 6 ea, 7 eb,
//           8 bias [N] or residual (as Y). Unused ones (scale/table for BITS=32, ea/eb with r = 0, binding 8
//           without HAS_BIAS or HAS_RESIDUAL)
//           get a 4-byte dummy; the GPU entries share one tile function, so all three have binding 8,
//           while `layout: 'auto'` leaves it out of linear_backward_input_sw.
//
// GPU set: lib/gemm-tile.wgsl's 64×64 tiles, 8×8 invocations with an 8×8 block each, 16-deep slabs
// fetched into registers one slab ahead. Dispatch (ceil(cols / 64), ceil(M / 64), 1) workgroups of 8×8,
// cols = N (forward) or K (backward_input). The product is C[m, s] = Σ_d A(m, d)·B(d, s) with
//   forward:         A = X  (along d = k),  B(d, s) = deq(W)[s, d]  (W rows run along d)
//   backward_input:  A = dY (along d = n),  B(d, s) = deq(W)[d, s]  (W rows run along s)
// so every load walks memory in its contiguous direction: X/dY 16 invocations per 64-byte row piece;
// the weight either 2 (NF4) or 4 (int8) words per row of the slab (forward), or 8/16 neighbouring
// words of one row (backward). Quantised weights are decoded a word at a time, when the word's
// codes belong to one row and one block (K a multiple of 8 for NF4, of 4 for int8: every published
// model): 8 (or 4) codes per word read, one scale per word, the code book in workgroup memory. Other
// K fall back to one element at a time. Each decoded weight is reused by the 64 rows of the tile.
// The adapter's product is ceil(r / 16) more slabs of the same loop, its operands read from ea and eb.
//
// uses: lib/gemm-tile.wgsl

override BITS: u32 = 32u;
override HAS_BIAS: bool = false;
override HAS_RESIDUAL: bool = false;   // never with HAS_BIAS: both read binding 8

struct Params { M: u32, N: u32, K: u32, ldy: u32, y_col0: u32, accumulate: u32, w_row0: u32, r: u32, e_row0: u32, e_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<u32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> table: array<f32>;
@group(0) @binding(6) var<storage, read> ea: array<f32>;
@group(0) @binding(7) var<storage, read> eb: array<f32>;
@group(0) @binding(8) var<storage, read> addend: array<f32>;   // the bias [N], or the residual (as Y)

var<workgroup> book: array<f32, 256>;   // the code book (16 NF4 or 256 int8 entries), read per decoded weight

fn weight(e: u32) -> f32 {
  if (BITS == 32u) { return bitcast<f32>(W[e]); }
  let per_word = 32u / BITS;
  let code = (W[e / per_word] >> ((e % per_word) * BITS)) & (0xffffffffu >> (32u - BITS));  // the low BITS bits
  return table[code] * scale[e / 64u];
}

// The forward's output value before `accumulate`: the product plus the bias of column n, or the
// residual's element at Y's index yi.
fn epilogue(v: f32, n: u32, yi: u32) -> f32 {
  if (HAS_BIAS) { return v + addend[n]; }
  if (HAS_RESIDUAL) { return v + addend[yi]; }
  return v;
}

// Codes per u32 word, and whether the GPU entries decode whole words (see the header).
fn codes_per_word() -> u32 { return 32u / BITS; }
fn packed() -> bool { return BITS != 32u && p.K % codes_per_word() == 0u; }

// One slab of both operands, fetched into registers ahead of use: 16 values of A (X or dY), and of
// the weight either 16 raw elements (f32 bits, or codes decoded one by one) or packed words with their
// scales (backward: 2 NF4 / 4 int8 words per invocation; forward: 4 words, one per row, in the first 32
// NF4 / 64 int8 invocations).
struct Slab { a: array<f32, 16>, w: array<u32, 16>, sc: array<f32, 4> }

// The packed words of the weight an invocation fetches (K % codes per word == 0, so a word's codes lie
// all inside or all outside the matrix and in one block of 64).
//   backward: codes run along s (k): the i-th word is (d, s) = (idx / wpr, (idx % wpr) · codes), idx = t + 64·i,
//             with wpr = 64 / codes words per slab row: its codes make whole vec4s along s;
//   forward:  codes run along d (k) within one row s (n): invocation t < 16 · (16 / codes) takes rows
//             4·(t % 16)…+3 at codes d = (t / 16) · codes…, one word per row, so each decoded code is one
//             whole vec4 over four neighbouring s (see gemm-tile's one-writer rule).
fn words_per_slab_row() -> u32 { return GT / codes_per_word(); }
fn bwd_word_at(t: u32, i: u32) -> vec2<u32> {
  let idx = t + 64u * i;
  return vec2<u32>(idx / words_per_slab_row(), (idx % words_per_slab_row()) * codes_per_word());
}
fn fwd_word_task(t: u32) -> vec2<u32> { return vec2<u32>((t / 16u) * codes_per_word(), 4u * (t % 16u)); }
fn fwd_word_tasks() -> u32 { return 16u * (GK / codes_per_word()); }

// Flat index in the chunk of weight (d, s) of the tile whose corner is (row0 of W's n, k0).
fn w_index(backward: bool, ds: vec2<u32>, d0: u32, col0: u32) -> u32 {
  if (backward) { return (p.w_row0 + d0 + ds.x) * p.K + col0 + ds.y; }   // W[n = d, k = s]
  return (p.w_row0 + col0 + ds.y) * p.K + d0 + ds.x;                      // W[n = s, k = d]
}

fn w_inside(backward: bool, ds: vec2<u32>, d0: u32, col0: u32) -> bool {
  if (backward) { return d0 + ds.x < p.N && col0 + ds.y < p.K; }
  return col0 + ds.y < p.N && d0 + ds.x < p.K;
}

fn fetch_word(slab: ptr<function, Slab>, j: u32, backward: bool, ds: vec2<u32>, d0: u32, col0: u32) {
  var word = 0u;
  var sc = 0.0;
  if (w_inside(backward, ds, d0, col0)) {
    let e = w_index(backward, ds, d0, col0);
    word = W[e / codes_per_word()];
    sc = scale[e / 64u];
  }
  (*slab).w[j] = word;
  (*slab).sc[j] = sc;
}

fn fetch(slab: ptr<function, Slab>, backward: bool, t: u32, row0: u32, col0: u32, d0: u32) {
  let D = select(p.K, p.N, backward);
  let lda = select(p.K, p.ldy, backward);
  let aoff = select(0u, p.y_col0, backward);
  for (var i = 0u; i < 16u; i++) {   // A = X or dY, rows along d
    let dr = gemm_at(true, t, i);
    var v = 0.0;
    if (row0 + dr.y < p.M && d0 + dr.x < D) { v = X[(row0 + dr.y) * lda + aoff + d0 + dr.x]; }
    (*slab).a[i] = v;
  }
  if (packed()) {
    if (backward) {
      for (var i = 0u; i < 16u / codes_per_word(); i++) { fetch_word(slab, i, true, bwd_word_at(t, i), d0, col0); }
    } else if (t < fwd_word_tasks()) {
      let task = fwd_word_task(t);
      for (var j = 0u; j < 4u; j++) { fetch_word(slab, j, false, task + vec2<u32>(0u, j), d0, col0); }
    }
    return;
  }
  for (var i = 0u; i < 16u; i++) {   // one element at a time; the weight's rows run along d forward, along s backward
    let ds = gemm_at(!backward, t, i);
    var v = 0.0;
    if (w_inside(backward, ds, d0, col0)) { v = weight(w_index(backward, ds, d0, col0)); }
    (*slab).w[i] = bitcast<u32>(v);
  }
}

// The adapter's slab from j0 on, laid out as fetch's one-element-at-a-time weight.
fn fetch_adapter(slab: ptr<function, Slab>, backward: bool, t: u32, row0: u32, col0: u32, j0: u32) {
  for (var i = 0u; i < 16u; i++) {
    let dr = gemm_at(true, t, i);
    var v = 0.0;
    if (row0 + dr.y < p.M && j0 + dr.x < p.r) { v = p.e_scale * ea[(row0 + dr.y) * p.r + j0 + dr.x]; }
    (*slab).a[i] = v;
  }
  for (var i = 0u; i < 16u; i++) {
    let ds = gemm_at(!backward, t, i);
    let j = j0 + ds.x;
    let c = col0 + ds.y;
    var v = 0.0;
    if (backward) {
      if (j < p.r && c < p.K) { v = eb[j * p.K + c]; }   // A [r, K]
    } else if (j < p.r && c < p.N) {
      v = eb[(p.e_row0 + c) * p.r + j];   // B [·, r]
    }
    (*slab).w[i] = bitcast<u32>(v);
  }
}

// Code c of a packed word, decoded and scaled.
fn decode(word: u32, c: u32, sc: f32) -> f32 {
  return sc * book[(word >> (c * BITS)) & (0xffffffffu >> (32u - BITS))];
}

// Slab registers into workgroup memory, whole vec4s only; `words`: the weight was fetched as packed words.
fn stage(slab: ptr<function, Slab>, backward: bool, t: u32, words: bool) {
  gemm_stage4(true, true, t, &((*slab).a));
  if (words) {
    if (backward) {   // a word's codes run along s: vec4s of 4 codes
      for (var i = 0u; i < 16u / codes_per_word(); i++) {
        let ds = bwd_word_at(t, i);
        let word = (*slab).w[i];
        let sc = (*slab).sc[i];
        for (var c = 0u; c < codes_per_word(); c += 4u) {
          gemm_put_b4(ds.x, ds.y + c, vec4<f32>(decode(word, c, sc), decode(word, c + 1u, sc), decode(word, c + 2u, sc), decode(word, c + 3u, sc)));
        }
      }
    } else if (t < fwd_word_tasks()) {   // four rows' words: code c of each is one vec4 along s
      let task = fwd_word_task(t);
      let w = (*slab).w;
      let sc = (*slab).sc;
      for (var c = 0u; c < codes_per_word(); c++) {
        gemm_put_b4(task.x + c, task.y, vec4<f32>(decode(w[0], c, sc[0]), decode(w[1], c, sc[1]), decode(w[2], c, sc[2]), decode(w[3], c, sc[3])));
      }
    }
    return;
  }
  var b: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { b[i] = bitcast<f32>((*slab).w[i]); }
  gemm_stage4(false, !backward, t, &b);
}

fn linear_tile(backward: bool, wg: vec3<u32>, lid: vec3<u32>) {
  let t = lid.y * 8u + lid.x;
  let row0 = wg.y * GT;
  let col0 = wg.x * GT;
  if (BITS != 32u) {
    for (var c = t; c < select(256u, 16u, BITS == 4u); c += 64u) { book[c] = table[c]; }
  }
  let D = select(p.K, p.N, backward);
  let slabs = (D + GK - 1u) / GK;
  let total = slabs + (p.r + GK - 1u) / GK;   // then the adapter's slabs
  var acc: GemmAcc;
  var slab: Slab;
  fetch(&slab, backward, t, row0, col0, 0u);
  for (var s = 0u; s < total; s++) {
    workgroupBarrier();   // the previous slab's reads are done (and, the first time, the code book is written)
    stage(&slab, backward, t, s < slabs && packed());
    workgroupBarrier();
    let next = s + 1u;
    if (next < slabs) {
      fetch(&slab, backward, t, row0, col0, next * GK);
    } else if (next < total) {
      fetch_adapter(&slab, backward, t, row0, col0, (next - slabs) * GK);
    }
    gemm_slab(&acc, lid.x, lid.y);
  }

  let cols = select(p.N, p.K, backward);
  for (var i = 0u; i < 8u; i++) {
    let m = row0 + gemm_row(lid.y, i);
    if (m >= p.M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let n = col0 + gemm_col(lid.x, h, j);
        if (n >= cols) { continue; }
        var v = acc[2u * i + h][j];
        var yi = m * p.K + n;   // dX [M, K]
        if (!backward) {
          yi = m * p.ldy + p.y_col0 + n;
          v = epilogue(v, n, yi);
        }
        if (p.accumulate == 1u) { v += Y[yi]; }
        Y[yi] = v;
      }
    }
  }
}

@compute @workgroup_size(8, 8, 1)
fn linear_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  linear_tile(false, wg, lid);
}

@compute @workgroup_size(8, 8, 1)
fn linear_forward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  linear_tile(false, wg, lid);   // launched without HAS_BIAS
}

@compute @workgroup_size(8, 8, 1)
fn linear_backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  linear_tile(true, wg, lid);
}

// ── Software set: the same products without workgroup memory or barriers ──────────────────────────
//
//   linear_forward_sw         Y[m, y_col0 + n] (=|+=) Σ_k X[m,k] · deq(W)[w_row0 + n, k] (+ bias[n])   n < N
//   linear_backward_input_sw  dX[m, k]         (=|+=) Σ_n dY[m, y_col0 + n] · deq(W)[w_row0 + n, k]   n < N
//   each with the adapter's product (r > 0) walked after the weight's, as in the GPU entries.
//
// linear_forward_sw serves both linear_forward and linear_forward_rows (no bias: the launcher binds
// the dummy). Params and bindings as above.
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
  let nb_n = (p.N + 3u) / 4u;
  let blk = gid.x + gid.y * nwg.x * 64u;
  if (blk >= nb_n * ((p.M + 3u) / 4u)) { return; }
  let m0 = (blk / nb_n) * 4u;
  let n0 = (blk % nb_n) * 4u;
  let mc = lin_clamp4(m0, p.M);
  let nc = lin_clamp4(n0, p.N);
  let xr = mc * p.K;                                // X row starts
  let wr = (nc + vec4<u32>(p.w_row0)) * p.K;        // W row starts (elements)
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let w = vec4<f32>(weight(wr.x + k), weight(wr.y + k), weight(wr.z + k), weight(wr.w + k));
    acc0 = fma(vec4<f32>(X[xr.x + k]), w, acc0);
    acc1 = fma(vec4<f32>(X[xr.y + k]), w, acc1);
    acc2 = fma(vec4<f32>(X[xr.z + k]), w, acc2);
    acc3 = fma(vec4<f32>(X[xr.w + k]), w, acc3);
  }
  let er = (nc + vec4<u32>(p.e_row0)) * p.r;   // the adapter's B rows
  for (var j = 0u; j < p.r; j++) {
    let b = vec4<f32>(eb[er.x + j], eb[er.y + j], eb[er.z + j], eb[er.w + j]);
    acc0 = fma(vec4<f32>(p.e_scale * ea[mc.x * p.r + j]), b, acc0);
    acc1 = fma(vec4<f32>(p.e_scale * ea[mc.y * p.r + j]), b, acc1);
    acc2 = fma(vec4<f32>(p.e_scale * ea[mc.z * p.r + j]), b, acc2);
    acc3 = fma(vec4<f32>(p.e_scale * ea[mc.w * p.r + j]), b, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      let yi = m * p.ldy + p.y_col0 + n;
      var v = epilogue(acc[i][j], n, yi);
      if (p.accumulate == 1u) { v += Y[yi]; }
      Y[yi] = v;
    }
  }
}

@compute @workgroup_size(64)
fn linear_backward_input_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Y is dX [M, K] (out), X is dY (rows p.ldy wide, this range's columns from p.y_col0).
  let nb_k = (p.K + 3u) / 4u;
  let blk = gid.x + gid.y * nwg.x * 64u;
  if (blk >= nb_k * ((p.M + 3u) / 4u)) { return; }
  let m0 = (blk / nb_k) * 4u;
  let k0 = (blk % nb_k) * 4u;
  let mc = lin_clamp4(m0, p.M);
  let dyr = mc * p.ldy + vec4<u32>(p.y_col0);   // dY row starts
  let kc = lin_clamp4(k0, p.K);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var n = 0u; n < p.N; n++) {
    let wrow = (p.w_row0 + n) * p.K;
    let w = vec4<f32>(weight(wrow + kc.x), weight(wrow + kc.y), weight(wrow + kc.z), weight(wrow + kc.w));
    acc0 = fma(vec4<f32>(X[dyr.x + n]), w, acc0);
    acc1 = fma(vec4<f32>(X[dyr.y + n]), w, acc1);
    acc2 = fma(vec4<f32>(X[dyr.z + n]), w, acc2);
    acc3 = fma(vec4<f32>(X[dyr.w + n]), w, acc3);
  }
  for (var j = 0u; j < p.r; j++) {   // the adapter's du·A
    let a = vec4<f32>(eb[j * p.K + kc.x], eb[j * p.K + kc.y], eb[j * p.K + kc.z], eb[j * p.K + kc.w]);
    acc0 = fma(vec4<f32>(p.e_scale * ea[mc.x * p.r + j]), a, acc0);
    acc1 = fma(vec4<f32>(p.e_scale * ea[mc.y * p.r + j]), a, acc1);
    acc2 = fma(vec4<f32>(p.e_scale * ea[mc.z * p.r + j]), a, acc2);
    acc3 = fma(vec4<f32>(p.e_scale * ea[mc.w * p.r + j]), a, acc3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + j;
      if (k >= p.K) { break; }
      let xi = m * p.K + k;
      var v = acc[i][j];
      if (p.accumulate == 1u) { v += Y[xi]; }
      Y[xi] = v;
    }
  }
}
