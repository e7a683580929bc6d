// attention.wgsl — causal grouped-query attention with an online softmax (one pass over the keys,
// never materialising the T×T score matrix).
//
//   attention_forward  for batch b, query i (position pos0 + i), head h, kv head g = h / (NH/NKV):
//                        s_j   = scale · q[b,i,h,:] · k[b,j,g,:]       for keys j ≤ pos0 + i
//                        y[b,i,h,:] = Σ_j softmax(s)_j · v[b,j,g,:]
//                        lse[b,h,i] = log Σ_j exp(s_j)                 (saved for the backward pass)
//
// Shapes (row-major): q, y [B, Tq, NH, HS]; k, v [B, S, NKV, HS] where S is the cache length (S = Tq,
// pos0 = 0 for a whole sequence; S = the KV cache's capacity when decoding); lse [B, NH, Tq].
// Right padding needs no mask: a real query only sees keys at or before it, all real.
// Bindings: 0 params, 1 y (=), 2 lse (=), 3 q, 4 k, 5 v.
// uses: lib/attention-tile.wgsl
//
// GPU set (attention_forward): flash-style tiles. The rows of one kv head g are the (query, head) pairs
// of its group, numbered R = i·G + hh (G = NH/NKV query heads per kv head, h = g·G + hh): the G heads
// of one query are neighbours, so a tile of rows spans few queries and every K/V row it stages in
// workgroup memory serves all of them. A workgroup of 256 takes BQ = 64 consecutive rows and walks the
// keys 0 … pos0 + (its last query) in tiles of BK = 32 (causal: tiles past the diagonal are never
// visited; inside the diagonal tile each row masks the keys past its own):
//   scores  S = Q·Kᵀ (64×32), HS in slabs of 16 dimensions: the Q and K slabs are loaded coalesced
//           (16 consecutive floats of a row per 16 invocations) into workgroup memory, and invocation
//           (ty, tx) = (lid / 16, lid % 16) keeps the scores of rows 4ty…4ty+3 against keys 2tx, 2tx+1
//           in registers: one vec4 of Q and two floats of K per 8 FMAs. Each score is one fma chain
//           over d = 0 … HS−1 in order, as in the other entries and in the backward, so P rebuilt
//           there from lse matches.
//   softmax invocation r < 64 owns row r's running max m and sum l (online softmax): a tile with new
//           max m' rescales l, and the output accumulators, by exp(m − m'); P = exp(s − m') is written
//           back over the scores by all 256 invocations, one whole vec4 (4 rows of a key) each, after
//           the maxima are in rowM; then invocation r adds up row r's P (in key order).
//   output  O += P·V: invocation (ty, tx) owns rows 4ty…4ty+3 × dimensions 4(tx + 16u) … +3, u < NU4
//           (NU4 = ceil(HS/64), an override constant, so HS ≤ 256), 16 FMAs per vec4 of V read. V is
//           staged KC keys at a time (all HS dimensions, padded to HSP = 64·NU4): KC = 16, 8, 8, 4 for
//           NU4 = 1 … 4, in the space the Q/K slabs used.
// Barriers per key tile: 2 per Q/K slab (2·ceil(HS/16)), 3 for the softmax, 2 per V chunk (2·32/KC):
// 15 at HS = 64 for 64 rows × 32 keys (the previous kernel: 17 per 64 keys of one row).
// Workgroup memory: 1,664 + 2,048 + 256 floats = 15.5 KiB (under WebGPU's default 16 KiB).
// Dispatch: (NKV, B, ceil(Tq·G / 64)), the row tile in z and last tile first: workgroups start in
// about x, y, z order, so the tiles with the most keys start first and the short ones fill the tail.
// The grid does not depend on pos0: an inference plan patches pos0 in the uniform after the dispatch
// is built, and the key loop reads it from there.
// FLOPs: 4·HS per (query, key) pair (rows past Tq·G and keys past a row's diagonal are padding).

const NEG: f32 = -3.0e38;   // stands for −∞: exp(NEG − m) is exactly 0

struct Params { Tq: u32, S: u32, NH: u32, NKV: u32, HS: u32, pos0: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;

const BQ: u32 = 64u;         // rows per tile
const BK: u32 = 32u;         // keys per tile
const DK: u32 = 16u;         // dimensions per score slab
const QST: u32 = 68u;        // floats per slab dimension of Q: 64 rows + 4 (store conflicts 2-way, not 16-way)
const KST: u32 = 36u;        // floats per slab dimension of K: 32 keys + 4
const KOFF: u32 = 1088u;     // where the K slab starts in U (DK·QST)
const NONE: u32 = 0xffffffffu;

// NU4, U (the Q slab [DK][QST] and the K slab [DK][KST] in the score phase, the V chunk [KC][HSP] in the
// output phase), get2, and the V chunk's staging and P·V come from lib/attention-tile.wgsl, with its
// race rule: the softmax too rewrites Ps one whole vec4 per invocation, and the per-row tables are scalar.
var<workgroup> Ps: array<vec4<f32>, 512>;      // [key][row / 4]: scores, then P, of the key tile
var<workgroup> rowOff: array<u32, 64>;         // offset of row r in q and y, NONE past the last row
var<workgroup> rowN: array<u32, 64>;           // keys row r sees: pos0 + i + 1 (0 past the last row)
var<workgroup> rowM: array<f32, 64>;           // per row: the running max m' after the tile's scores
var<workgroup> rowC: array<f32, 64>;           // per row: the tile's rescale exp(m − m'), at the end l

/** Rows 4r4 … 4r4+3 of rowM / rowC as one vec4. */
fn rowM4(r4: u32) -> vec4<f32> { return vec4<f32>(rowM[4u * r4], rowM[4u * r4 + 1u], rowM[4u * r4 + 2u], rowM[4u * r4 + 3u]); }
fn rowC4(r4: u32) -> vec4<f32> { return vec4<f32>(rowC[4u * r4], rowC[4u * r4 + 1u], rowC[4u * r4 + 2u], rowC[4u * r4 + 3u]); }

@compute @workgroup_size(256)
fn attention_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let G = p.NH / p.NKV;
  let g = wg.x;
  let b = wg.y;
  let R0 = (nwg.z - 1u - wg.z) * BQ;
  let nrows = p.Tq * G;
  let lastKey = p.pos0 + min(p.Tq - 1u, (R0 + BQ - 1u) / G);   // the last key any row of the tile sees
  let ty = lid / 16u;
  let tx = lid % 16u;
  let KC = keysPerChunk();   // keys per V chunk
  let kvStride = p.NKV * p.HS;                                  // between consecutive keys
  let kvBase = (b * p.S * p.NKV + g) * p.HS;                    // key 0 of (b, g)

  if (lid < BQ) {
    let R = R0 + lid;
    var off = NONE;
    var n = 0u;
    if (R < nrows) {
      let i = R / G;
      off = ((b * p.Tq + i) * p.NH + g * G + R % G) * p.HS;
      n = p.pos0 + i + 1u;
    }
    rowOff[lid] = off;
    rowN[lid] = n;
  }
  workgroupBarrier();

  var m = NEG;                            // invocation r < 64: row r's running max and sum
  var l = 0.0;
  var acc: array<vec4<f32>, 16>;          // [4u + e]: rows 4ty…4ty+3 at dimension 4(tx + 16u) + e
  for (var j0 = 0u; j0 <= lastKey; j0 += BK) {
    // ── scores: s0, s1 = rows 4ty…4ty+3 against keys j0 + 2tx, j0 + 2tx + 1 ──
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    for (var d0 = 0u; d0 < p.HS; d0 += DK) {
      // Each invocation stores one whole vec4 slot: dimension d = d0 + tx of 4 consecutive rows (keys)
      // 4ty … 4ty+3, so 16 neighbouring invocations still read 16 consecutive floats of a row.
      let d = d0 + tx;
      var xq = vec4<f32>(0.0);                   // Q slab: 64 rows × 16 dimensions, 256 slots
      for (var e = 0u; e < 4u; e++) {
        let off = rowOff[4u * ty + e];
        if (off != NONE && d < p.HS) { xq[e] = q[off + d]; }
      }
      U[tx * (QST / 4u) + ty] = xq;
      if (ty < BK / 4u) {                        // K slab: 32 keys × 16 dimensions, 128 slots
        var xk = vec4<f32>(0.0);
        for (var e = 0u; e < 4u; e++) {
          let c = 4u * ty + e;
          if (j0 + c <= lastKey && d < p.HS) { xk[e] = k[kvBase + (j0 + c) * kvStride + d]; }
        }
        U[(KOFF + tx * KST) / 4u + ty] = xk;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < DK; kk++) {
        let qv = U[kk * (QST / 4u) + ty];
        let kv = get2(KOFF + kk * KST + 2u * tx);
        s0 = fma(qv, vec4<f32>(kv.x), s0);
        s1 = fma(qv, vec4<f32>(kv.y), s1);
      }
      workgroupBarrier();
    }
    Ps[(2u * tx) * 16u + ty] = s0 * p.scale;
    Ps[(2u * tx + 1u) * 16u + ty] = s1 * p.scale;
    workgroupBarrier();

    // ── online softmax: the max per row (invocation r < 64), then P = exp(s − m') over the whole
    //    workgroup (one whole vec4 of Ps per store), then the sum per row ──
    let ri = lid / 4u;
    let rc = lid % 4u;
    if (lid < BQ) {
      let n = rowN[lid];
      let nk = select(0u, min(BK, n - j0), n > j0);   // keys of this tile row lid sees
      var mx = m;
      for (var c = 0u; c < nk; c++) { mx = max(mx, Ps[c * 16u + ri][rc]); }
      rowM[lid] = mx;
      rowC[lid] = exp(m - mx);            // 1 while the row has seen nothing (m = mx = NEG)
      m = mx;
    }
    workgroupBarrier();
    for (var s = lid; s < BK * 16u; s += 256u) {       // slot s: key s / 16, rows 4(s % 16) … +3
      let c = s / 16u;
      let r4 = s % 16u;
      let mx4 = rowM4(r4);
      let sc = Ps[s];
      var pv = vec4<f32>(0.0);
      for (var e = 0u; e < 4u; e++) {
        if (j0 + c < rowN[4u * r4 + e]) { pv[e] = exp(sc[e] - mx4[e]); }   // masked keys are exactly 0
      }
      Ps[s] = pv;
    }
    workgroupBarrier();
    if (lid < BQ) {                       // reads only: overlaps the output phase's reads of Ps
      var sum = 0.0;
      for (var c = 0u; c < BK; c++) { sum += Ps[c * 16u + ri][rc]; }
      l = l * rowC[lid] + sum;
    }

    // ── output: acc = acc·corr + P·V, V staged KC keys at a time ──
    let corr = rowC4(ty);
    for (var u = 0u; u < NU4; u++) {
      for (var e = 0u; e < 4u; e++) { acc[4u * u + e] *= corr; }
    }
    for (var c0 = 0u; c0 < BK && j0 + c0 <= lastKey; c0 += KC) {
      stageKeys(lid, true, kvBase, kvStride, j0 + c0, lastKey, p.HS);
      workgroupBarrier();
      for (var c = 0u; c < KC; c++) { addStaged(&acc, Ps[(c0 + c) * 16u + ty], c, tx); }
      workgroupBarrier();
    }
  }

  if (lid < BQ) {
    rowC[lid] = l;
    let R = R0 + lid;
    if (R < nrows) {
      let i = R / G;
      lse[(b * p.NH + g * G + R % G) * p.Tq + i] = m + log(l);
    }
  }
  workgroupBarrier();
  let lv = rowC4(ty);
  for (var a = 0u; a < 4u; a++) {
    let off = rowOff[4u * ty + a];
    if (off == NONE) { continue; }
    for (var u = 0u; u < NU4; u++) {
      for (var e = 0u; e < 4u; e++) {
        let d = 4u * (tx + 16u * u) + e;
        if (d < p.HS) { y[off + d] = acc[4u * u + e][a] / lv[a]; }
      }
    }
  }
}

// ── Software set: one invocation per (query row, head), no workgroup memory or barriers ───────────
//
//   attention_forward_sw  the same y and lse as attention_forward (same Params and bindings, read
//                         as vec4: HS must be a multiple of 4; the launcher uses the tiled entry
//                         otherwise).
// Invocation (i, h) of batch b walks its keys j ≤ pos0 + i once with the online softmax, its query
// and output rows in private arrays of HS4 = HS/4 vec4s. HS4 is an override constant so that the
// loops over it have a fixed trip count (SwiftShader then keeps the rows in registers: 2× faster
// than a loop bounded by p.HS over a 256-float array, measured at HS = 16).
// Dispatch: (ceil(Tq·NH / 64) folded into x·y, B) workgroups of 64. On a CPU adapter this replaces a
// workgroup per row with 2 barriers per 64 keys (SwiftShader: ~0.2 ms per barriered workgroup).

override HS4: u32 = 4u;   // HS / 4, at most 64

@group(0) @binding(1) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn attention_forward_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.Tq * p.NH) { return; }
  let i = idx / p.NH;
  let h = idx % p.NH;
  let b = gid.z;
  let g = h / (p.NH / p.NKV);
  let qoff = ((b * p.Tq + i) * p.NH + h) * HS4;
  var acc: array<vec4<f32>, 64>;
  var qv: array<vec4<f32>, 64>;
  for (var d = 0u; d < HS4; d++) { acc[d] = vec4<f32>(0.0); qv[d] = q4[qoff + d]; }
  var m = NEG;
  var l = 0.0;
  for (var j = 0u; j <= p.pos0 + i; j++) {
    let koff = ((b * p.S + j) * p.NKV + g) * HS4;
    var dot4 = vec4<f32>(0.0);
    for (var d = 0u; d < HS4; d++) { dot4 = fma(qv[d], k4[koff + d], dot4); }
    let s = (dot4.x + dot4.y + dot4.z + dot4.w) * p.scale;
    // Rescale what we have to the new maximum (corr = 1 when s is not one); key j weighs e^(s − m).
    let m_new = max(m, s);
    let corr = exp(m - m_new);
    let pj = exp(s - m_new);
    l = l * corr + pj;
    for (var d = 0u; d < HS4; d++) { acc[d] = fma(vec4<f32>(pj), v4[koff + d], acc[d] * corr); }
    m = m_new;
  }
  for (var d = 0u; d < HS4; d++) { y4[qoff + d] = acc[d] / l; }
  lse[(b * p.NH + h) * p.Tq + i] = m + log(l);
}
