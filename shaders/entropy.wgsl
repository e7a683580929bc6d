// entropy.wgsl — the distribution of the next token, summarised on the GPU so that a full
// vocabulary row (150k floats) never has to be read back.
//
//   entropy_forward   for each row p of logits [P, V]:
//                       stats[p, 0] = H = −Σ_v softmax(x)_v · ln softmax(x)_v   (nats)
//                       stats[p, 1] = ln Σ_v exp(x_v)                          (log-sum-exp)
//                       stats[p, 2] = argmax_v x_v  (as f32: exact below 2^24; lowest index on ties)
//                       stats[p, 3] = max_v x_v
//   gather_labels     picked[p, j] = logits[p, ids[j]]  (the option-label tokens, for the restricted entropy)
//
// One pass with an online log-sum-exp: each invocation keeps m (running max), s = Σ e^(x−m) and
// t = Σ e^(x−m)·x over its strided share of the vocabulary; pairs merge by rescaling to the larger m.
// Then H = ln s + m − t/s (since −Σ p ln p = lse − Σ p x).
// Bindings: entropy_forward 0 params, 1 stats [P, 4] (=), 2 logits [P, V];
//           gather_labels   0 params, 1 picked [P, J] (=), 2 logits, 3 ids [J] (u32).
// Dispatch: entropy_forward (P) workgroups of 256, one row each; gather_labels 1-D over P·J.
// Memory bound: 4 bytes read per logit, 16 bytes written per row.

struct Params { P: u32, V: u32, J: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;

const NEG: f32 = -3.0e38;

var<workgroup> wm: array<f32, 256>;
var<workgroup> ws: array<f32, 256>;
var<workgroup> wt: array<f32, 256>;
var<workgroup> wb: array<u32, 256>;

// One logit into a running summary (m, s, t) = (max, Σ e^(x−m), Σ e^(x−m)·x): a new maximum rescales
// what was summed to it first, so nothing is ever exponentiated above 0.
fn online_add(o: vec3<f32>, x: f32) -> vec3<f32> {
  if (x > o.x) {
    let c = exp(o.x - x);
    return vec3<f32>(x, o.y * c + 1.0, o.z * c + x);
  }
  let e = exp(x - o.x);
  return vec3<f32>(o.x, o.y + e, o.z + e * x);
}

@compute @workgroup_size(256)
fn entropy_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let base = row * p.V;
  var m = NEG;
  var s = 0.0;
  var t = 0.0;
  var best = 0xffffffffu;
  for (var v = lid; v < p.V; v += 256u) {
    let x = logits[base + v];
    if (x > m) { best = v; }
    let o = online_add(vec3<f32>(m, s, t), x);
    m = o.x; s = o.y; t = o.z;
  }
  wm[lid] = m; ws[lid] = s; wt[lid] = t; wb[lid] = best;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) {
      let m1 = wm[lid]; let m2 = wm[lid + w];
      let mm = max(m1, m2);
      let c1 = exp(m1 - mm); let c2 = exp(m2 - mm);
      ws[lid] = ws[lid] * c1 + ws[lid + w] * c2;
      wt[lid] = wt[lid] * c1 + wt[lid + w] * c2;
      let b2 = wb[lid + w];
      if (m2 > m1 || (m2 == m1 && b2 < wb[lid])) { wb[lid] = b2; }
      wm[lid] = mm;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let S = ws[0];
    let M = wm[0];
    out[row * 4u] = log(S) + M - wt[0] / S;
    out[row * 4u + 1u] = log(S) + M;
    out[row * 4u + 2u] = f32(wb[0]);
    out[row * 4u + 3u] = M;
  }
}

@compute @workgroup_size(256)
fn gather_labels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.P * p.J) { return; }
  let row = i / p.J;
  out[i] = logits[row * p.V + ids[i % p.J]];
}

// ── Software set ───────────────────────────────────────────────────────────────────────────────────
//
//   entropy_forward_sw  the same stats [P, 4] as entropy_forward (same Params and bindings), one
//                       invocation per row walking its V logits once. Dispatch: ceil(P / 64)
//                       workgroups of 64. No barriers: a CPU adapter pays ~0.2 ms per barriered
//                       workgroup, and the tree merge above takes 8 of them per row.

@compute @workgroup_size(64)
fn entropy_forward_sw(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= p.P) { return; }
  let base = row * p.V;
  var m = NEG;
  var s = 0.0;
  var t = 0.0;
  var best = 0u;
  for (var v = 0u; v < p.V; v++) {
    let x = logits[base + v];
    if (x > m) { best = v; }   // strictly greater: the lowest index wins ties
    let o = online_add(vec3<f32>(m, s, t), x);
    m = o.x; s = o.y; t = o.z;
  }
  out[row * 4u] = log(s) + m - t / s;
  out[row * 4u + 1u] = log(s) + m;
  out[row * 4u + 2u] = f32(best);
  out[row * 4u + 3u] = m;
}
