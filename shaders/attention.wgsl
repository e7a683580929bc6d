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
// Dispatch: (Tq, NH, B) workgroups of 64: one workgroup per query row and head. Keys are taken
// 64 at a time (one per invocation for the scores); each invocation then owns output dimensions
// d = lid + 64·u, u < 4, so HS ≤ 256.
// Online softmax: running max m and sum l; a new block with max m' rescales the accumulator and l
// by exp(m − m'). FLOPs: 4·HS per (query, key) pair.

const NEG: f32 = -3.0e38;   // stands for −∞: exp(NEG − m) is exactly 0

struct Params { Tq: u32, S: u32, NH: u32, NKV: u32, HS: u32, pos0: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;

var<workgroup> qs: array<f32, 256>;
var<workgroup> ps: array<f32, 64>;
var<workgroup> red: array<f32, 64>;

fn reduce_max(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) { red[lid] = max(red[lid], red[lid + w]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.x;
  let h = wg.y;
  let b = wg.z;
  let g = h / (p.NH / p.NKV);
  let qoff = ((b * p.Tq + i) * p.NH + h) * p.HS;
  for (var d = lid; d < p.HS; d += 64u) { qs[d] = q[qoff + d]; }
  workgroupBarrier();

  let last = p.pos0 + i;          // the last key this query may see
  var m = NEG;
  var l = 0.0;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = 0u; j0 <= last; j0 += 64u) {
    let j = j0 + lid;
    var s = NEG;
    if (j <= last) {
      let koff = ((b * p.S + j) * p.NKV + g) * p.HS;
      var dot = 0.0;
      for (var d = 0u; d < p.HS; d++) { dot = fma(qs[d], k[koff + d], dot); }
      s = dot * p.scale;
    }
    let m_new = max(m, reduce_max(lid, s));
    var pj = 0.0;
    if (j <= last) { pj = exp(s - m_new); }
    ps[lid] = pj;
    let corr = exp(m - m_new);
    l = l * corr + reduce_sum(lid, pj);   // reduce_sum's barriers also publish ps
    let nkeys = min(64u, last + 1u - j0);
    for (var u = 0u; u < 4u; u++) {
      let d = lid + 64u * u;
      if (d < p.HS) {
        var a = acc[u] * corr;
        for (var jj = 0u; jj < nkeys; jj++) {
          a = fma(ps[jj], v[((b * p.S + j0 + jj) * p.NKV + g) * p.HS + d], a);
        }
        acc[u] = a;
      }
    }
    m = m_new;
    workgroupBarrier();           // ps is overwritten by the next block
  }

  let yoff = ((b * p.Tq + i) * p.NH + h) * p.HS;
  for (var u = 0u; u < 4u; u++) {
    let d = lid + 64u * u;
    if (d < p.HS) { y[yoff + d] = acc[u] / l; }
  }
  if (lid == 0u) { lse[(b * p.NH + h) * p.Tq + i] = m + log(l); }
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
