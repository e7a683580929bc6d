// embedding.wgsl — token embedding lookup from a (possibly quantised) table.
//
//   embedding_forward   x[r, c] = deq(E)[ids[r] − row0, c]   for rows r whose id is in [row0, row0 + rows)
//
// The table may be split by rows into chunks that each fit one binding (large vocabularies);
// each chunk is one launch and writes only the tokens it holds. deq() is the same as in
// linear.wgsl: BITS = 32 (f32 bits), 4 (NF4 table) or 8 (int8 table), one scale per 64 elements.
//   embedding_backward  dE[uniq[u], c] += Σ_{k in [off[u], off[u+1])} dx[pos[k], c]   (f32 table, full fine-tuning)
//     The rows of each distinct token are listed by the CPU (CSR: uniq, off, pos), so every dE row is
//     summed by one invocation per column: deterministic, no float atomics.
// Bindings: forward 0 params, 1 x [R, C] (=), 2 ids [R] (u32), 3 E (u32 words), 4 scale, 5 table;
//           backward 0 params (R = U distinct tokens), 1 dE [V, C] (+=), 2 dx [rows, C], 3 uniq [U], 4 off [U+1], 5 pos.
// Dispatch: 1-D over R·C elements, 256-wide workgroups, invocations stride.

override BITS: u32 = 32u;

struct Params { R: u32, C: u32, row0: u32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> E: array<u32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> table: array<f32>;

fn weight(e: u32) -> f32 {
  if (BITS == 32u) { return bitcast<f32>(E[e]); }
  let per_word = 32u / BITS;
  let code = (E[e / per_word] >> ((e % per_word) * BITS)) & (0xffffffffu >> (32u - BITS));  // the low BITS bits
  return table[code] * scale[e / 64u];
}

@compute @workgroup_size(256)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let n = p.R * p.C;
  for (var i = gid.x; i < n; i += stride) {
    let r = i / p.C;
    let c = i % p.C;
    let id = ids[r];
    if (id < p.row0 || id >= p.row0 + p.rows) { continue; }
    x[i] = weight((id - p.row0) * p.C + c);
  }
}

@group(0) @binding(1) var<storage, read_write> dE: array<f32>;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read> uniq: array<u32>;
@group(0) @binding(4) var<storage, read> off: array<u32>;
@group(0) @binding(5) var<storage, read> pos: array<u32>;

@compute @workgroup_size(256)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.R * p.C; i += stride) {
    let u = i / p.C;
    let c = i % p.C;
    var acc = 0.0;
    for (var k = off[u]; k < off[u + 1u]; k++) { acc += dx[pos[k] * p.C + c]; }
    dE[uniq[u] * p.C + c] += acc;
  }
}
