// crossentropy.wgsl — next-token cross-entropy over a vocabulary too large for [N, V] logits.
//
// The caller walks the vocabulary in passes of Vc rows of the lm_head. Each pass computes logits
// [N, Vc] for vocabulary rows [v0, v0 + Vc) into one reused scratch (linear_forward_rows), then one
// of two flows (src/kernels/crossentropy.ts):
//
// Three walks (full fine-tuning: dW wanted, which needs the normalised gradient in every pass):
//   ce_stats     (every pass, first walk) online log-sum-exp, per row n whose target is not IGNORE:
//                  stats[n, 0] = m = max of the logits seen so far
//                  stats[n, 1] = s = Σ exp(x − m) over the logits seen so far
//                  stats[n, 2] = z = the target's logit, written by the pass that holds the target
//                the pass with v0 = 0 starts from (m, s) = (−3e38, 0), the others merge into stats.
//   ce_loss      (once, after the first walk) lse_n = m + ln s;  loss_n = lse_n − z  (= −ln softmax(x)_target)
//                  stats[n, 3] = lse_n;  rowloss[n] = loss_n (0 for ignored rows)
//                  count[0] = #valid rows, count[1] = 1 / count[0] (0 when no row is valid)
//                  loss[0]  = Σ_n loss_n · count[1]   (mean over valid rows: PyTorch/HF `reduction='mean'`
//                                                     with ignore_index; 0 rather than NaN for no valid row)
//   ce_backward  (every pass, second walk) in place on the pass's recomputed logits:
//                  g[n, v] = ∂loss/∂x[n, v0 + v] = (exp(x − lse_n) − [v0 + v == target_n]) · count[1]
//                  (0 for ignored rows); the caller then adds g · W[v0 : v0 + Vc] to dh (and gᵀ·h to dW).
//
// Two walks (no dW: LoRA/QLoRA), flash-attention style with K = V = W, so the logits are made once:
//   ce_online    (every pass) the same (m, s, z) as ce_stats, and in place on the pass's logits
//                  p[n, v] = exp(x − m_new)            (unnormalised, relative to the NEW running max;
//                                                       0 for ignored rows)
//                  stats[n, 3] = r = exp(m_old − m_new)  dh[n, :] ·= r  when v0 > 0
//                so that after the caller's dh (= first pass, += after) p · W[v0 : v0 + Vc]
//                  dh[n, :] = Σ_{v seen} exp(x_v − m) · W[v, :]   with m, s the running stats.
//                A max that grows a lot makes r underflow to 0: the earlier share is negligible
//                beside e^0 = 1 of the new max, and 0 is its correct f32 value (never NaN: m_old ≤ m_new).
//   ce_loss      (once, after the last pass) as above (overwrites column 3 with lse).
//   ce_finish    (once, after ce_loss and the gather wt[n, :] = deq(W)[target_n, :] by embedding_forward)
//                  dh[n, :] = (dh[n, :] / s_n − wt[n, :]) · count[1]   (0 for ignored rows)
//                = Σ_v (softmax_v − onehot_v) · count[1] · W[v, :], the same gradient as ce_backward's.
//
// Targets are u32; IGNORE = 0xffffffff marks a row without loss (PyTorch's −100: map it on the CPU).
// A target must be < V or IGNORE: an out-of-range target is never found, so its z stays at whatever
// the first pass left (0) — token ids are validated where the data set is read.
// Merging two (m, s) summaries: M = max(m1, m2), s = s1·exp(m1 − M) + s2·exp(m2 − M); nothing is ever
// exponentiated above 0, so no overflow, and an empty share (m = −3e38, s = 0) merges as a no-op.
//
// Bindings: ce_stats    0 params, 1 stats [N, 4] (read_write), 2 logits [N, Vc], 3 targets [N] (u32)
//           ce_loss     0 params, 1 stats (read_write: writes column 3), 2 rowloss [N] (=), 3 loss [1] (=),
//                       4 count [2] (=), 5 targets
//           ce_backward 0 params, 1 logits [N, Vc] (in place, =), 2 stats, 3 targets, 4 count
//           ce_online   0 params, 1 stats (read_write), 2 logits [N, Vc] (in place, =), 3 targets,
//                       4 dh [N, C] (rescaled in place)
//           ce_finish   0 params, 1 dh [N, C] (in place, =), 2 stats, 3 targets, 4 count, 5 wt [N, C]
// Dispatch: ce_stats and ce_online one 256-wide workgroup per row (rows folded into y past 65535);
//           ce_loss one 256-wide workgroup; ce_backward and ce_finish a 1-D grid over N·Vc (N·C),
//           invocations striding.
// Napkin maths: ce_stats and ce_backward read (and ce_backward writes) 4 bytes per logit and do one
// exp each: memory bound, small beside the lm_head products that make the logits (2·C FLOPs per
// logit per walk). With dW the lm_head runs three times (two forward walks + dh); without, twice, and
// ce_online's one read and one write per logit replace ce_stats' read and ce_backward's read + write
// (its second read of a 32 KiB row, for the exps after the max, comes from cache), plus N·C floats of dh
// read and written per pass for the rescale.

// C: width of dh rows (ce_online, ce_finish); the other entries leave it 0.
struct Params { N: u32, Vc: u32, v0: u32, C: u32 }

const IGNORE: u32 = 0xffffffffu;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;

// ce_stats
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read> logits_in: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<u32>;

var<workgroup> wm: array<f32, 256>;
var<workgroup> ws: array<f32, 256>;
var<workgroup> wtarget: u32;

// One logit into a running (m, s) = (max, Σ e^(x−m)): a new maximum rescales what we have to it
// first, and x itself then adds e^0.
fn lse_add(o: vec2<f32>, x: f32) -> vec2<f32> {
  if (x > o.x) { return vec2<f32>(x, o.y * exp(o.x - x) + 1.0); }
  return vec2<f32>(o.x, o.y + exp(x - o.x));
}

@compute @workgroup_size(256)
fn ce_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.N) { return; }   // uniform: the same for the whole workgroup
  if (lid == 0u) { wtarget = targets[row]; }
  let t = workgroupUniformLoad(&wtarget);
  if (t == IGNORE) { return; }  // uniform too (workgroupUniformLoad), so the barriers below stay legal

  // This invocation's summary of its strided share of the pass: v = lid, lid + 256, ...
  let base = row * p.Vc;
  var m = NEG;
  var s = 0.0;
  for (var v = lid; v < p.Vc; v += 256u) {
    let o = lse_add(vec2<f32>(m, s), logits_in[base + v]);
    m = o.x; s = o.y;
  }
  wm[lid] = m;
  ws[lid] = s;
  workgroupBarrier();
  // Tree merge of the 256 summaries (8 steps).
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) {
      let m1 = wm[lid];
      let m2 = wm[lid + w];
      let mm = max(m1, m2);
      ws[lid] = ws[lid] * exp(m1 - mm) + ws[lid + w] * exp(m2 - mm);
      wm[lid] = mm;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    // Merge the pass into the running summary of the earlier passes (none when v0 = 0).
    var m0 = NEG;
    var s0 = 0.0;
    var z = 0.0;
    if (p.v0 != 0u) {
      m0 = stats[row * 4u];
      s0 = stats[row * 4u + 1u];
      z = stats[row * 4u + 2u];
    }
    let mm = max(m0, wm[0]);
    stats[row * 4u] = mm;
    stats[row * 4u + 1u] = s0 * exp(m0 - mm) + ws[0] * exp(wm[0] - mm);
    if (t >= p.v0 && t - p.v0 < p.Vc) { z = logits_in[base + t - p.v0]; }
    stats[row * 4u + 2u] = z;
  }
}

// ce_loss
@group(0) @binding(2) var<storage, read_write> rowloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> count: array<f32>;
@group(0) @binding(5) var<storage, read> loss_targets: array<u32>;

var<workgroup> wsum: array<f32, 256>;
var<workgroup> wcount: array<f32, 256>;

@compute @workgroup_size(256)
fn ce_loss(@builtin(local_invocation_index) lid: u32) {
  // One workgroup: N is a batch of tokens (thousands), so 256 invocations striding over it is plenty.
  var sum = 0.0;
  var cnt = 0.0;   // counts in f32 are exact up to 2^24 rows
  for (var n = lid; n < p.N; n += 256u) {
    var l = 0.0;
    var lse = 0.0;
    if (loss_targets[n] != IGNORE) {
      lse = stats[n * 4u] + log(stats[n * 4u + 1u]);   // lse = m + ln s
      l = lse - stats[n * 4u + 2u];                    // −ln softmax(x)_target = lse − z
      sum += l;
      cnt += 1.0;
    }
    stats[n * 4u + 3u] = lse;
    rowloss[n] = l;
  }
  wsum[lid] = sum;
  wcount[lid] = cnt;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) {
      wsum[lid] += wsum[lid + w];
      wcount[lid] += wcount[lid + w];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let c = wcount[0];
    let inv = select(0.0, 1.0 / c, c > 0.0);
    count[0] = c;
    count[1] = inv;
    loss[0] = wsum[0] * inv;
  }
}

// ce_backward
@group(0) @binding(1) var<storage, read_write> logits_io: array<f32>;
@group(0) @binding(2) var<storage, read> bw_stats: array<f32>;
@group(0) @binding(3) var<storage, read> bw_targets: array<u32>;
@group(0) @binding(4) var<storage, read> bw_count: array<f32>;

@compute @workgroup_size(256)
fn ce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let inv = bw_count[1];
  let total = p.N * p.Vc;
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < total; i += stride) {
    let n = i / p.Vc;
    let v = i % p.Vc;
    let t = bw_targets[n];
    var g = 0.0;
    if (t != IGNORE) {
      // softmax(x)_v − onehot(target)_v, scaled by 1/count: the gradient of the mean loss.
      let prob = exp(logits_io[i] - bw_stats[n * 4u + 3u]);
      g = (prob - select(0.0, 1.0, p.v0 + v == t)) * inv;
    }
    logits_io[i] = g;
  }
}

// ce_online
@group(0) @binding(1) var<storage, read_write> on_stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> on_logits: array<f32>;
@group(0) @binding(3) var<storage, read> on_targets: array<u32>;
@group(0) @binding(4) var<storage, read_write> on_dh: array<f32>;

// The earlier passes' (m, s, z), read by invocation 0, which alone writes the new ones; wz then takes
// the target's raw logit from the invocation that meets it, before that logit becomes p.
var<workgroup> wmold: f32;
var<workgroup> wsold: f32;
var<workgroup> wz: f32;

@compute @workgroup_size(256)
fn ce_online(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.N) { return; }   // uniform: the same for the whole workgroup
  let base = row * p.Vc;
  if (lid == 0u) {
    wtarget = on_targets[row];
    wmold = NEG;
    wsold = 0.0;
    wz = 0.0;
    if (p.v0 != 0u) {
      wmold = on_stats[row * 4u];
      wsold = on_stats[row * 4u + 1u];
      wz = on_stats[row * 4u + 2u];
    }
  }
  let t = workgroupUniformLoad(&wtarget);   // also a barrier: wmold, wsold, wz are set from here on
  if (t == IGNORE) {
    // p = 0, so the row adds exactly 0 to dh (ce_finish writes it 0 anyway); its stats are never read.
    for (var v = lid; v < p.Vc; v += 256u) { on_logits[base + v] = 0.0; }
    return;                                 // uniform (workgroupUniformLoad): the barriers below stay legal
  }
  let m_old = wmold;

  // The pass's max: strided, then a tree over the 256 partial maxima.
  var mx = NEG;
  for (var v = lid; v < p.Vc; v += 256u) { mx = max(mx, on_logits[base + v]); }
  wm[lid] = mx;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) { wm[lid] = max(wm[lid], wm[lid + w]); }
    workgroupBarrier();
  }
  let m_new = max(m_old, wm[0]);

  // p = exp(x − m_new) in place (≤ 1), summed the same way.
  var s = 0.0;
  for (var v = lid; v < p.Vc; v += 256u) {
    let x = on_logits[base + v];
    if (p.v0 + v == t) { wz = x; }
    let e = exp(x - m_new);
    on_logits[base + v] = e;
    s += e;
  }
  ws[lid] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) { ws[lid] += ws[lid + w]; }
    workgroupBarrier();
  }
  // r = exp(m_old − m_new) ∈ [0, 1]: brings what was summed relative to m_old to m_new (0 on the first
  // pass, where m_old = −3e38 and s_old = 0).
  let r = exp(m_old - m_new);
  if (lid == 0u) {
    on_stats[row * 4u] = m_new;
    on_stats[row * 4u + 1u] = wsold * r + ws[0];
    on_stats[row * 4u + 2u] = wz;
    on_stats[row * 4u + 3u] = r;
  }
  // The first pass's dh is written (=) after this, so it is not read here (it may hold anything).
  if (p.v0 != 0u) {
    for (var c = lid; c < p.C; c += 256u) { on_dh[row * p.C + c] *= r; }
  }
}

// ce_finish: ce_backward's bindings 1–4 (binding 1 now dh [N, C]), and the target rows.
@group(0) @binding(5) var<storage, read> fin_wt: array<f32>;

@compute @workgroup_size(256)
fn ce_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let inv = bw_count[1];
  let total = p.N * p.C;
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < total; i += stride) {
    let n = i / p.C;
    var g = 0.0;
    if (bw_targets[n] != IGNORE) {
      // Σ_v softmax_v·W[v, :] − W[target, :], scaled by 1/count; s ≥ 1 (the max's own e^0), no 0/0.
      g = (logits_io[i] / bw_stats[n * 4u + 1u] - fin_wt[i]) * inv;
    }
    logits_io[i] = g;
  }
}

// ── Software set ───────────────────────────────────────────────────────────────────────────────────
//
//   ce_stats_sw  the same stats as ce_stats (same Params and bindings), one invocation per row n
//                walking the pass's Vc logits with the online log-sum-exp, then merging into the
//                earlier passes' summary. Dispatch: ceil(N / 64) workgroups of 64 folded into x·y.
//   ce_online_sw the same as ce_online (same Params and bindings), one invocation per row: the pass's
//                max, then the exps written in place and summed, then the row of dh rescaled.
//                Dispatch as ce_stats_sw.
// ce_loss (one workgroup per step), ce_backward and ce_finish (no barrier) serve both sets. On a CPU adapter
// ce_stats' 256-wide tree merge cost ~0.2 ms per row; this loop costs Vc exps.

@compute @workgroup_size(64)
fn ce_stats_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.N) { return; }
  let t = targets[row];
  if (t == IGNORE) { return; }
  let base = row * p.Vc;
  var m = NEG;
  var s = 0.0;
  var z = 0.0;
  if (p.v0 != 0u) {
    m = stats[row * 4u];
    s = stats[row * 4u + 1u];
    z = stats[row * 4u + 2u];
  }
  for (var v = 0u; v < p.Vc; v++) {
    let o = lse_add(vec2<f32>(m, s), logits_in[base + v]);
    m = o.x; s = o.y;
  }
  if (t >= p.v0 && t - p.v0 < p.Vc) { z = logits_in[base + t - p.v0]; }
  stats[row * 4u] = m;
  stats[row * 4u + 1u] = s;
  stats[row * 4u + 2u] = z;
}

@compute @workgroup_size(64)
fn ce_online_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.N) { return; }
  let t = on_targets[row];
  let base = row * p.Vc;
  if (t == IGNORE) {
    for (var v = 0u; v < p.Vc; v++) { on_logits[base + v] = 0.0; }
    return;
  }
  var m_old = NEG;
  var s_old = 0.0;
  var z = 0.0;
  if (p.v0 != 0u) {
    m_old = on_stats[row * 4u];
    s_old = on_stats[row * 4u + 1u];
    z = on_stats[row * 4u + 2u];
  }
  var m_new = m_old;
  for (var v = 0u; v < p.Vc; v++) { m_new = max(m_new, on_logits[base + v]); }
  var s = 0.0;
  for (var v = 0u; v < p.Vc; v++) {
    let x = on_logits[base + v];
    if (p.v0 + v == t) { z = x; }
    let e = exp(x - m_new);
    on_logits[base + v] = e;
    s += e;
  }
  let r = exp(m_old - m_new);
  on_stats[row * 4u] = m_new;
  on_stats[row * 4u + 1u] = s_old * r + s;
  on_stats[row * 4u + 2u] = z;
  on_stats[row * 4u + 3u] = r;
  if (p.v0 != 0u) {
    for (var c = 0u; c < p.C; c++) { on_dh[row * p.C + c] *= r; }
  }
}
