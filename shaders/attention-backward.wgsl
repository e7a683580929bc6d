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
// Dispatch: dq (T, NH, B) workgroups of 64, one per query row and head (like the forward);
//           dkv (T, NKV, B) workgroups of 64, one per key row and kv head. dkv reads the D that dq
//           wrote, so dq must be recorded first (same pass is fine: dispatches are ordered).
// Both take the other side 64 rows at a time: phase 1 gives each invocation one row (its dot products
// over HS), phase 2 gives each invocation output dimensions d = lid + 64·u, u < 4 (so HS ≤ 256) and
// sums over the 64 rows of the block through workgroup memory.
//
// FLOPs per causal (i, j, h) triple, B·NH·T(T+1)/2 of them:
//   dq:  s (2·HS) + dP (2·HS) + dq (2·HS)                          = 6·HS
//   dkv: s (2·HS) + dP (2·HS) + dk (2·HS) + dv (2·HS)              = 8·HS
// 14·HS in all against the forward's 4·HS: s and dP are computed twice (once per kernel), the price of
// never writing P or dS to memory (a fused FlashAttention-2 backward needs 10·HS but atomics on dq).

struct Params { T: u32, NH: u32, NKV: u32, HS: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// shared by both entry points
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> q: array<f32>;
@group(0) @binding(7) var<storage, read> k: array<f32>;
@group(0) @binding(8) var<storage, read> v: array<f32>;

var<workgroup> red: array<f32, 64>;

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

// ---- dq (and D) ---------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read_write> dq: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dout: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;

var<workgroup> qs: array<f32, 256>;    // q[b,i,h,:]
var<workgroup> dys: array<f32, 256>;   // dy[b,i,h,:]
var<workgroup> dss: array<f32, 64>;    // dS_ij for the 64 keys of the current block

@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.x;
  let h = wg.y;
  let b = wg.z;
  let g = h / (p.NH / p.NKV);
  let row = ((b * p.T + i) * p.NH + h) * p.HS;   // offset of q, y, dy, dq at (b, i, h)
  let li = (b * p.NH + h) * p.T + i;             // offset of lse, D at (b, h, i)

  // D_i = dy_i · y_i: each invocation sums its strided dimensions, then a tree over the 64.
  var part = 0.0;
  for (var d = lid; d < p.HS; d += 64u) {
    let gy = dy[row + d];
    qs[d] = q[row + d];
    dys[d] = gy;
    part = fma(gy, y[row + d], part);
  }
  let Di = reduce_sum(lid, part);   // its barriers also publish qs and dys
  if (lid == 0u) { Dout[li] = Di; }
  let L = lse[li];

  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);   // Σ_j dS_ij k_j[d], d = lid + 64·u
  for (var j0 = 0u; j0 <= i; j0 += 64u) {
    // phase 1: invocation lid takes key j = j0 + lid; keys past i (masked) get dS = 0.
    let j = j0 + lid;
    var ds = 0.0;
    if (j <= i) {
      let koff = ((b * p.T + j) * p.NKV + g) * p.HS;
      var qk = 0.0;
      var dp = 0.0;
      // the same fma chain as the forward, so s_ij − lse_i matches it to the last bit where possible
      for (var d = 0u; d < p.HS; d++) {
        qk = fma(qs[d], k[koff + d], qk);
        dp = fma(dys[d], v[koff + d], dp);
      }
      let pij = exp(qk * p.scale - L);   // ≤ 1 up to rounding: lse ≥ every s_ij of the row
      ds = pij * (dp - Di);
    }
    dss[lid] = ds;
    workgroupBarrier();
    // phase 2: invocation lid owns dimensions d = lid + 64·u and sums the block's keys.
    let nkeys = min(64u, i + 1u - j0);
    for (var u = 0u; u < 4u; u++) {
      let d = lid + 64u * u;
      if (d < p.HS) {
        var a = acc[u];
        for (var jj = 0u; jj < nkeys; jj++) {
          a = fma(dss[jj], k[((b * p.T + j0 + jj) * p.NKV + g) * p.HS + d], a);
        }
        acc[u] = a;
      }
    }
    workgroupBarrier();   // dss is overwritten by the next block
  }

  for (var u = 0u; u < 4u; u++) {
    let d = lid + 64u * u;
    if (d < p.HS) { dq[row + d] = acc[u] * p.scale; }
  }
}

// ---- dk, dv -------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(4) var<storage, read> Din: array<f32>;

var<workgroup> ks: array<f32, 256>;    // k[b,j,g,:]
var<workgroup> vs: array<f32, 256>;    // v[b,j,g,:]
var<workgroup> pss: array<f32, 64>;    // P_ij for the 64 queries of the current block
// dS_ij for the block reuses dss from above (the two entry points never run in one workgroup).

@compute @workgroup_size(64)
fn attention_backward_dkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wg.x;
  let g = wg.y;
  let b = wg.z;
  let group = p.NH / p.NKV;                     // query heads per kv head
  let kvoff = ((b * p.T + j) * p.NKV + g) * p.HS;
  for (var d = lid; d < p.HS; d += 64u) {
    ks[d] = k[kvoff + d];
    vs[d] = v[kvoff + d];
  }
  workgroupBarrier();

  var adk = array<f32, 4>(0.0, 0.0, 0.0, 0.0);  // Σ dS_ij q_i[d], d = lid + 64·u
  var adv = array<f32, 4>(0.0, 0.0, 0.0, 0.0);  // Σ P_ij dy_i[d]
  for (var r = 0u; r < group; r++) {
    let h = g * group + r;
    // queries i ≥ j see key j (causal); i runs over [j, T), 64 at a time
    for (var i0 = j; i0 < p.T; i0 += 64u) {
      // phase 1: invocation lid takes query i = i0 + lid; queries past T get P = dS = 0.
      let i = i0 + lid;
      var pij = 0.0;
      var ds = 0.0;
      if (i < p.T) {
        let row = ((b * p.T + i) * p.NH + h) * p.HS;
        let li = (b * p.NH + h) * p.T + i;
        var qk = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < p.HS; d++) {
          qk = fma(q[row + d], ks[d], qk);   // same operand order as the forward's fma chain
          dp = fma(dy[row + d], vs[d], dp);
        }
        pij = exp(qk * p.scale - lse[li]);
        ds = pij * (dp - Din[li]);
      }
      pss[lid] = pij;
      dss[lid] = ds;
      workgroupBarrier();
      // phase 2: invocation lid owns dimensions d = lid + 64·u and sums the block's queries
      // (reads of q and dy along d are contiguous across the workgroup).
      let nq = min(64u, p.T - i0);
      for (var u = 0u; u < 4u; u++) {
        let d = lid + 64u * u;
        if (d < p.HS) {
          var a = adk[u];
          var c = adv[u];
          for (var ii = 0u; ii < nq; ii++) {
            let off = ((b * p.T + i0 + ii) * p.NH + h) * p.HS + d;
            a = fma(dss[ii], q[off], a);
            c = fma(pss[ii], dy[off], c);
          }
          adk[u] = a;
          adv[u] = c;
        }
      }
      workgroupBarrier();   // pss, dss are overwritten by the next block
    }
  }

  for (var u = 0u; u < 4u; u++) {
    let d = lid + 64u * u;
    if (d < p.HS) {
      dk[kvoff + d] = adk[u] * p.scale;
      dv[kvoff + d] = adv[u];
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
