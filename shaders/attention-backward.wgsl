// attention-backward.wgsl — backward pass of causal grouped-query attention (attention.wgsl), recomputing
// the probabilities from the saved lse instead of storing the T×T matrix.
//
// For batch b, head h, kv head g = h / (NH/NKV), query i, key j ≤ i (training: pos0 = 0, S = Tq = T):
//   s_ij  = scale · q[b,i,h,:] · k[b,j,g,:]            scale = 1/sqrt(HS)
//   P_ij  = exp(s_ij − lse[b,h,i])                      the forward's softmax, rebuilt from its lse
//   D_i   = Σ_d dy[b,i,h,d] · y[b,i,h,d]               (= Σ_j P_ij dP_ij, the softmax Jacobian's row term)
//   dP_ij = dy[b,i,h,:] · v[b,j,g,:]
//   dS_ij = P_ij · (dP_ij − D_i)
//
//   attention_backward_dq   dq[b,i,h,:] (=) = scale · Σ_{j≤i} dS_ij · k[b,j,g,:];   D[b,h,i] (=) = D_i
//   attention_backward_dkv  dk[b,j,g,:] (=) = scale · Σ_{h in g} Σ_{i≥j} dS_ij · q[b,i,h,:]
//                           dv[b,j,g,:] (=) = Σ_{h in g} Σ_{i≥j} P_ij · dy[b,i,h,:]
//
// Shapes (row-major): q, y, dy, dq [B, T, NH, HS]; k, v, dk, dv [B, T, NKV, HS]; lse, D [B, NH, T].
// Bindings: dq  0 params, 1 dq (=), 2 D (=), 3 dy, 4 y, 5 lse, 6 q, 7 k, 8 v;
//           dkv 0 params, 1 dk (=), 2 dv (=), 3 dy, 4 D (from dq), 5 lse, 6 q, 7 k, 8 v.
// dkv reads the D that dq wrote, so dq must be recorded first (same pass is fine: dispatches are ordered).
// uses: lib/attention-tile.wgsl
//
// GPU set: FlashAttention-2's split, in tiles staged through workgroup memory (workgroups of 256).
// Rows are numbered as in the forward: the (query, head) pairs of kv head g, R = i·G + hh (G = NH/NKV,
// h = g·G + hh), so one tile of 64 rows spans a few queries of every head in the group.
//   attention_backward_dq   a tile of 64 rows: D for each row (dy·y, written once), then the key tiles
//                           0 … its last query, 32 keys at a time (causal skipping as the forward):
//                           S and dP (64×32 each) over HS in slabs of 8, P = exp(s − lse), dS in
//                           workgroup memory, then dQ += dS·K with K staged KC keys at a time.
//   attention_backward_dkv  a tile of 32 keys: walks the rows that see them (R ≥ j0·G: queries i ≥ the
//                           tile's first key, every head of the group) 64 at a time, rebuilding S, dP,
//                           P and dS the same way, then dV += Pᵀ·dO and dK += dSᵀ·Q with dO and Q staged
//                           KC rows at a time (P and dS take turns in one 64×32 buffer).
// Scores and dP: invocation (ty, tx) = (lid / 16, lid % 16) holds rows 4ty…4ty+3 against keys 2tx, 2tx+1
// in registers, one fma chain over d = 0 … HS−1 in order per score (the forward's chain, so s − lse
// matches it). Slabs: Q and dO [8][68] (64 rows + 4, so the stores conflict at most 2-way), K and V
// [8][36], loaded coalesced (8 consecutive floats of a row per 8 invocations).
// Products: dq: invocation (ty, tx) owns rows 4ty…4ty+3 × dimensions 4(tx + 16u) … +3, u < NU4
// (NU4 = ceil(HS/64), an override constant: HS ≤ 256); dkv: keys 2ty, 2ty+1 × the same dimensions, for
// dK and dV. The staged operand takes all HS dimensions padded to HSP = 64·NU4, KC rows at a time
// (KC = 16, 8, 8, 4 for NU4 = 1 … 4), in the space the slabs used.
// Barriers at HS = 64: dq 2·8 + 1 + 2·2 = 21 per 64×32 tile; dkv 2·8 + 2 + 1 + 2·2·4 = 35 per 64 rows × 32 keys.
// Workgroup memory: 1,664 + 2,048 + 256 floats = 15.5 KiB (under WebGPU's default 16 KiB).
// Dispatch: dq (NKV, B, ceil(T·G / 64)), last row tile first; dkv (NKV, B, ceil(T / 32)), first key tile
// first: the tile in z, so that the tiles with the most work start first (workgroups start in about
// x, y, z order) and the short ones fill the tail.
//
// FLOPs per causal (i, j, h) triple, B·NH·T(T+1)/2 of them:
//   dq:  s (2·HS) + dP (2·HS) + dq (2·HS)                          = 6·HS
//   dkv: s (2·HS) + dP (2·HS) + dk (2·HS) + dv (2·HS)              = 8·HS
// 14·HS in all against the forward's 4·HS: s and dP are computed twice (once per kernel), the price of
// never writing P or dS to memory and of no float atomics in WGSL (a fused backward needs 10·HS but
// adds dq across key tiles).

struct Params { T: u32, NH: u32, NKV: u32, HS: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// shared by both entry points
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> q: array<f32>;
@group(0) @binding(7) var<storage, read> k: array<f32>;
@group(0) @binding(8) var<storage, read> v: array<f32>;

const BQ: u32 = 64u;         // rows per tile (dq) or per step (dkv)
const BK: u32 = 32u;         // keys per tile
const DK: u32 = 8u;          // dimensions per score slab
const QST: u32 = 68u;        // floats per slab dimension of Q and dO: 64 rows + 4
const KST: u32 = 36u;        // floats per slab dimension of K and V: 32 keys + 4
const DOFF: u32 = 544u;      // slab offsets in U: Q at 0, dO, K, V
const KOFF: u32 = 1088u;
const VOFF: u32 = 1376u;
const NONE: u32 = 0xffffffffu;

// NU4, U (the slabs [DK][QST|KST], then the staged operand [KC][HSP]), get2, keysPerChunk, and dq's K
// chunk staging and dS·K come from lib/attention-tile.wgsl, with its race rule: the per-row tables
// are scalar arrays, read back as vec4 by probs.
var<workgroup> rowOff: array<u32, 64>;          // offset of row r in q, dy, y, dq; NONE past the last row
var<workgroup> rowN: array<u32, 64>;            // keys row r sees: i + 1 (0 past the last row)
var<workgroup> rowL: array<f32, 64>;            // lse of row r
var<workgroup> rowD: array<f32, 64>;            // D of row r


/** Row r's offset, visible keys, lse and D into the row tables (r < 64; `off` NONE for no row). */
fn setRow(r: u32, off: u32, n: u32, L: f32, D: f32) {
  rowOff[r] = off;
  rowN[r] = n;
  rowL[r] = L;
  rowD[r] = D;
}

struct Tile { s0: vec4<f32>, s1: vec4<f32>, dp0: vec4<f32>, dp1: vec4<f32> }

/** Scores q·k (unscaled) and dP = dy·v of rows 4ty…4ty+3 (the row tables) against keys j0 + 2tx,
 *  j0 + 2tx + 1 of kv head g; keys from jEnd on are read as 0. Ends with a barrier. */
fn scoreTile(lid: u32, b: u32, g: u32, j0: u32, jEnd: u32) -> Tile {
  let ty = lid / 16u;
  let tx = lid % 16u;
  let dd = lid % 8u;
  let kvStride = p.NKV * p.HS;
  let kvBase = (b * p.T * p.NKV + g) * p.HS;
  var t: Tile;
  for (var d0 = 0u; d0 < p.HS; d0 += DK) {
    // Each invocation stores whole vec4 slots: dimension d = d0 + dd of 4 consecutive rows (keys), so 8
    // neighbouring invocations still read 8 consecutive floats of a row.
    let d = d0 + dd;
    let r4 = (lid / 8u) % 16u;                   // Q and dO slabs: 64 rows × 8 dimensions, 128 slots each
    var xq = vec4<f32>(0.0);
    var xd = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
      let off = rowOff[4u * r4 + e];
      if (off != NONE && d < p.HS) {
        if (lid < 128u) { xq[e] = q[off + d]; } else { xd[e] = dy[off + d]; }
      }
    }
    if (lid < 128u) { U[dd * (QST / 4u) + r4] = xq; } else { U[(DOFF + dd * QST) / 4u + r4] = xd; }
    if (lid < 128u) {                            // K and V slabs: 32 keys × 8 dimensions, 64 slots each
      let c4 = (lid / 8u) % 8u;
      var xk = vec4<f32>(0.0);
      var xv = vec4<f32>(0.0);
      for (var e = 0u; e < 4u; e++) {
        let c = 4u * c4 + e;
        if (j0 + c < jEnd && d < p.HS) {
          let o = kvBase + (j0 + c) * kvStride + d;
          if (lid < 64u) { xk[e] = k[o]; } else { xv[e] = v[o]; }
        }
      }
      if (lid < 64u) { U[(KOFF + dd * KST) / 4u + c4] = xk; } else { U[(VOFF + dd * KST) / 4u + c4] = xv; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DK; kk++) {
      let qv = U[kk * (QST / 4u) + ty];
      let dv = U[(DOFF + kk * QST) / 4u + ty];
      let kv = get2(KOFF + kk * KST + 2u * tx);
      let vv = get2(VOFF + kk * KST + 2u * tx);
      t.s0 = fma(qv, vec4<f32>(kv.x), t.s0);
      t.s1 = fma(qv, vec4<f32>(kv.y), t.s1);
      t.dp0 = fma(dv, vec4<f32>(vv.x), t.dp0);
      t.dp1 = fma(dv, vec4<f32>(vv.y), t.dp1);
    }
    workgroupBarrier();
  }
  return t;
}

/** P and dS of rows 4ty…4ty+3 against keys j (P0, dS0) and j + 1 (P1, dS1). */
struct Probs { P0: vec4<f32>, P1: vec4<f32>, dS0: vec4<f32>, dS1: vec4<f32> }

fn probs(t: Tile, ty: u32, j: u32) -> Probs {
  let r0 = 4u * ty;
  let L = vec4<f32>(rowL[r0], rowL[r0 + 1u], rowL[r0 + 2u], rowL[r0 + 3u]);
  let D = vec4<f32>(rowD[r0], rowD[r0 + 1u], rowD[r0 + 2u], rowD[r0 + 3u]);
  let n = vec4<u32>(rowN[r0], rowN[r0 + 1u], rowN[r0 + 2u], rowN[r0 + 3u]);
  var r: Probs;
  // masked pairs (key past the row's diagonal, rows past the last) are exactly 0
  r.P0 = select(vec4<f32>(0.0), exp(t.s0 * p.scale - L), vec4<u32>(j) < n);
  r.P1 = select(vec4<f32>(0.0), exp(t.s1 * p.scale - L), vec4<u32>(j + 1u) < n);
  r.dS0 = r.P0 * (t.dp0 - D);
  r.dS1 = r.P1 * (t.dp1 - D);
  return r;
}

// ---- dq (and D) ---------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dout: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;

var<workgroup> dSq: array<vec4<f32>, 512>;     // [key][row / 4]: dS of the key tile

@compute @workgroup_size(256)
fn attention_backward_dq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let G = p.NH / p.NKV;
  let g = wg.x;
  let b = wg.y;
  let R0 = (nwg.z - 1u - wg.z) * BQ;
  let nrows = p.T * G;
  let lastKey = min(p.T - 1u, (R0 + BQ - 1u) / G);   // the tile's last query, so its last key
  let ty = lid / 16u;
  let tx = lid % 16u;
  let KC = keysPerChunk();
  let kvStride = p.NKV * p.HS;
  let kvBase = (b * p.T * p.NKV + g) * p.HS;

  if (lid < BQ) {
    let R = R0 + lid;
    if (R < nrows) {
      let i = R / G;
      let h = g * G + R % G;
      let off = ((b * p.T + i) * p.NH + h) * p.HS;
      let li = (b * p.NH + h) * p.T + i;
      var D = 0.0;
      for (var d = 0u; d < p.HS; d++) { D = fma(dy[off + d], y[off + d], D); }
      Dout[li] = D;
      setRow(lid, off, i + 1u, lse[li], D);
    } else {
      setRow(lid, NONE, 0u, 0.0, 0.0);
    }
  }
  workgroupBarrier();

  var acc: array<vec4<f32>, 16>;          // [4u + e]: Σ dS·k of rows 4ty…4ty+3 at dimension 4(tx + 16u) + e
  for (var j0 = 0u; j0 <= lastKey; j0 += BK) {
    let t = scoreTile(lid, b, g, j0, lastKey + 1u);
    let pr = probs(t, ty, j0 + 2u * tx);
    dSq[(2u * tx) * 16u + ty] = pr.dS0;
    dSq[(2u * tx + 1u) * 16u + ty] = pr.dS1;
    workgroupBarrier();
    for (var c0 = 0u; c0 < BK && j0 + c0 <= lastKey; c0 += KC) {
      stageKeys(lid, false, kvBase, kvStride, j0 + c0, lastKey, p.HS);   // K chunk: KC keys × HSP dimensions
      workgroupBarrier();
      for (var c = 0u; c < KC; c++) { addStaged(&acc, dSq[(c0 + c) * 16u + ty], c, tx); }
      workgroupBarrier();
    }
  }

  for (var a = 0u; a < 4u; a++) {
    let off = rowOff[4u * ty + a];
    if (off == NONE) { continue; }
    for (var u = 0u; u < NU4; u++) {
      for (var e = 0u; e < 4u; e++) {
        let d = 4u * (tx + 16u * u) + e;
        if (d < p.HS) { dq[off + d] = acc[4u * u + e][a] * p.scale; }
      }
    }
  }
}

// ---- dk, dv -------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(4) var<storage, read> Din: array<f32>;

var<workgroup> PS: array<vec2<f32>, 1024>;      // [row][key / 2]: P of the step, then dS

/** acc[2u + kb] += Σ_rows PS[row][2ky + kb] · X[row, 4(tx + 16u) …], X = q (fromQ) or dy, staged KC rows at a time. */
fn addRows(acc: ptr<function, array<vec4<f32>, 8>>, lid: u32, R0: u32, nrows: u32, fromQ: bool) {
  let ky = lid / 16u;
  let tx = lid % 16u;
  let HSP = 64u * NU4;
  let KC = keysPerChunk();
  for (var c0 = 0u; c0 < BQ && R0 + c0 < nrows; c0 += KC) {
    for (var f4 = lid; f4 < KC * HSP / 4u; f4 += 256u) {   // whole vec4 slots
      let c = (4u * f4) / HSP;
      let d = (4u * f4) % HSP;           // HSP is a multiple of 4: the slot's 4 floats share c
      let off = rowOff[c0 + c];
      var x = vec4<f32>(0.0);
      for (var e = 0u; e < 4u; e++) {
        if (off != NONE && d + e < p.HS) {
          if (fromQ) { x[e] = q[off + d + e]; } else { x[e] = dy[off + d + e]; }
        }
      }
      U[f4] = x;
    }
    workgroupBarrier();
    for (var c = 0u; c < KC; c++) {
      let w = PS[(c0 + c) * 16u + ky];
      for (var u = 0u; u < NU4; u++) {
        let xv = U[c * 16u * NU4 + 16u * u + tx];
        (*acc)[2u * u] = fma(vec4<f32>(w.x), xv, (*acc)[2u * u]);
        (*acc)[2u * u + 1u] = fma(vec4<f32>(w.y), xv, (*acc)[2u * u + 1u]);
      }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn attention_backward_dkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let G = p.NH / p.NKV;
  let g = wg.x;
  let b = wg.y;
  let j0 = wg.z * BK;
  let jEnd = min(p.T, j0 + BK);
  let nrows = p.T * G;
  let ty = lid / 16u;
  let tx = lid % 16u;

  var adk: array<vec4<f32>, 8>;           // [2u + kb]: key j0 + 2ty + kb at dimensions 4(tx + 16u) … +3
  var adv: array<vec4<f32>, 8>;
  // rows of queries i ≥ j0 (every head of the group), 64 at a time
  for (var R0 = j0 * G; R0 < nrows; R0 += BQ) {
    if (lid < BQ) {
      let R = R0 + lid;
      if (R < nrows) {
        let i = R / G;
        let h = g * G + R % G;
        let li = (b * p.NH + h) * p.T + i;
        setRow(lid, ((b * p.T + i) * p.NH + h) * p.HS, i + 1u, lse[li], Din[li]);
      } else {
        setRow(lid, NONE, 0u, 0.0, 0.0);
      }
    }
    workgroupBarrier();
    let t = scoreTile(lid, b, g, j0, jEnd);
    let pr = probs(t, ty, j0 + 2u * tx);
    for (var a = 0u; a < 4u; a++) { PS[(4u * ty + a) * 16u + tx] = vec2<f32>(pr.P0[a], pr.P1[a]); }
    workgroupBarrier();
    addRows(&adv, lid, R0, nrows, false);   // dV += Pᵀ·dO
    for (var a = 0u; a < 4u; a++) { PS[(4u * ty + a) * 16u + tx] = vec2<f32>(pr.dS0[a], pr.dS1[a]); }
    workgroupBarrier();
    addRows(&adk, lid, R0, nrows, true);    // dK += dSᵀ·Q
  }

  for (var kb = 0u; kb < 2u; kb++) {
    let j = j0 + 2u * ty + kb;
    if (j >= p.T) { continue; }
    let off = ((b * p.T + j) * p.NKV + g) * p.HS;
    for (var u = 0u; u < NU4; u++) {
      for (var e = 0u; e < 4u; e++) {
        let d = 4u * (tx + 16u * u) + e;
        if (d < p.HS) {
          dk[off + d] = adk[2u * u + kb][e] * p.scale;
          dv[off + d] = adv[2u * u + kb][e];
        }
      }
    }
  }
}

// ── Software set: one invocation per row, no workgroup memory or barriers ────────────────────────
//
//   attention_backward_dq_sw   the same dq and D as attention_backward_dq; one invocation per (i, h)
//                              walks its keys j ≤ i.
//   attention_backward_dkv_sw  the same dk and dv as attention_backward_dkv; one invocation per (j, g)
//                              walks every head h of the group and query i ≥ j.
// Same Params, bindings and `=` rule as above, rows read as vec4: HS must be a multiple of 4 (the
// launcher uses the tiled entries otherwise). Rows live in private arrays of HS4 = HS/4 vec4s, HS4 an
// override constant so the loops have a fixed trip count (see attention_forward_sw). dkv reads the D
// that dq wrote, so dq is recorded first.
// Dispatch: (ceil(T·NH / 64) or ceil(T·NKV / 64) folded into x·y, B) workgroups of 64.
// FLOPs as the tiled kernels (6·HS and 8·HS per causal triple); what goes is the barriers.

override HS4: u32 = 4u;   // HS / 4, at most 64

@group(0) @binding(1) var<storage, read_write> dq4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> y4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> v4: array<vec4<f32>>;

fn hsum(x: vec4<f32>) -> f32 { return x.x + x.y + x.z + x.w; }

@compute @workgroup_size(64)
fn attention_backward_dq_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.T * p.NH) { return; }
  let i = idx / p.NH;
  let h = idx % p.NH;
  let b = gid.z;
  let g = h / (p.NH / p.NKV);
  let row = ((b * p.T + i) * p.NH + h) * HS4;
  let li = (b * p.NH + h) * p.T + i;
  var qv: array<vec4<f32>, 64>;
  var dyv: array<vec4<f32>, 64>;
  var acc: array<vec4<f32>, 64>;
  var D4 = vec4<f32>(0.0);
  for (var d = 0u; d < HS4; d++) {
    qv[d] = q4[row + d];
    dyv[d] = dy4[row + d];
    acc[d] = vec4<f32>(0.0);
    D4 = fma(dyv[d], y4[row + d], D4);
  }
  let Di = hsum(D4);
  let lse_i = lse[li];
  for (var j = 0u; j <= i; j++) {
    let kv = ((b * p.T + j) * p.NKV + g) * HS4;
    var s4 = vec4<f32>(0.0);
    var dp4 = vec4<f32>(0.0);
    for (var d = 0u; d < HS4; d++) {
      s4 = fma(qv[d], k4[kv + d], s4);
      dp4 = fma(dyv[d], v4[kv + d], dp4);
    }
    let ds = exp(hsum(s4) * p.scale - lse_i) * (hsum(dp4) - Di);   // dS_ij = P_ij · (dP_ij − D_i)
    for (var d = 0u; d < HS4; d++) { acc[d] = fma(vec4<f32>(ds), k4[kv + d], acc[d]); }
  }
  for (var d = 0u; d < HS4; d++) { dq4[row + d] = p.scale * acc[d]; }
  Dout[li] = Di;
}

@group(0) @binding(1) var<storage, read_write> dk4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dv4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn attention_backward_dkv_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.T * p.NKV) { return; }
  let j = idx / p.NKV;
  let g = idx % p.NKV;
  let b = gid.z;
  let group = p.NH / p.NKV;
  let kv = ((b * p.T + j) * p.NKV + g) * HS4;
  var kvk: array<vec4<f32>, 64>;
  var kvv: array<vec4<f32>, 64>;
  var dka: array<vec4<f32>, 64>;
  var dva: array<vec4<f32>, 64>;
  for (var d = 0u; d < HS4; d++) {
    kvk[d] = k4[kv + d];
    kvv[d] = v4[kv + d];
    dka[d] = vec4<f32>(0.0);
    dva[d] = vec4<f32>(0.0);
  }
  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    for (var i = j; i < p.T; i++) {
      let row = ((b * p.T + i) * p.NH + h) * HS4;
      let li = (b * p.NH + h) * p.T + i;
      var s4 = vec4<f32>(0.0);
      var dp4 = vec4<f32>(0.0);
      for (var d = 0u; d < HS4; d++) {
        s4 = fma(q4[row + d], kvk[d], s4);
        dp4 = fma(dy4[row + d], kvv[d], dp4);
      }
      let pij = exp(hsum(s4) * p.scale - lse[li]);
      let ds = pij * (hsum(dp4) - Din[li]);
      for (var d = 0u; d < HS4; d++) {
        dka[d] = fma(vec4<f32>(ds), q4[row + d], dka[d]);
        dva[d] = fma(vec4<f32>(pij), dy4[row + d], dva[d]);
      }
    }
  }
  for (var d = 0u; d < HS4; d++) {
    dk4[kv + d] = p.scale * dka[d];
    dv4[kv + d] = dva[d];
  }
}
