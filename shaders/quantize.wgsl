// quantize.wgsl — blockwise absmax quantisation at load time (QLoRA's NF4, or int8), on the GPU.
//
//   quantize_blocks   for each block b of 64 consecutive elements (flat, row-major index):
//                       scale[b] = max |w| over the block
//                       code(e)  = the index of the table entry nearest to w[e] / scale[b]
//                       err2[b]  = Σ (w − table[code]·scale)²,  norm2[b] = Σ w²   (for the report)
//
// BITS = 4: the 16-entry table (NF4 or any other 4-bit codebook — the codebook is data), 8 codes
// per u32, element e in bits 4·(e mod 8) of word e/8.
// BITS = 8: 256-entry table with table[c] = (c − 128) / 127 (symmetric int8); the nearest entry is
// computed directly; 4 codes per u32, element e in bits 8·(e mod 4) of word e/4.
// Elements past n (the last partial block) count as 0.
// Bindings: 0 params, 1 codes [ceil(n·BITS/32)] (=), 2 scale [nblocks] (=), 3 err2 [nblocks] (=),
//           4 norm2 [nblocks] (=), 5 w [n], 6 table [2^BITS].
// Dispatch: one 64-wide workgroup per block: (min(nb, 65535), ceil(nb / 65535)).
//
//   quantize_blocks_sw  the software set's twin (no barriers, no workgroup memory): one invocation per
//                       block, the same codes and scales; err2 and norm2 summed in element order (the
//                       tree above sums in another order: they agree to rounding).
//                       Dispatch: 64-wide workgroups over the blocks, 2-D as the other _sw entries.

override BITS: u32 = 4u;

struct Params { n: u32, nblocks: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> err2: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm2: array<f32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> table: array<f32>;

/** The code of the table entry nearest to v / absmax (int8: computed; 4-bit: searched). */
fn nearest_code(v: f32, absmax: f32) -> u32 {
  var x = 0.0;
  if (absmax > 0.0) { x = v / absmax; }
  if (BITS == 8u) {
    return u32(clamp(round(x * 127.0), -127.0, 127.0) + 128.0);
  }
  var code = 0u;
  var best = abs(x - table[0]);
  for (var c = 1u; c < 16u; c++) {
    let d = abs(x - table[c]);
    if (d < best) { best = d; code = c; }
  }
  return code;
}

var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;
var<workgroup> qcode: array<u32, 64>;

@compute @workgroup_size(64)
fn quantize_blocks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = wg.x + wg.y * nwg.x;
  if (b >= p.nblocks) { return; }  // uniform per workgroup
  let e = b * 64u + lid;
  var v = 0.0;
  if (e < p.n) { v = w[e]; }

  // absmax of the block
  red[lid] = abs(v);
  workgroupBarrier();
  for (var width = 32u; width > 0u; width >>= 1u) {
    if (lid < width) { red[lid] = max(red[lid], red[lid + width]); }
    workgroupBarrier();
  }
  let absmax = red[0];
  workgroupBarrier();

  let code = nearest_code(v, absmax);
  qcode[lid] = code;
  let deq = table[code] * absmax;
  red[lid] = (v - deq) * (v - deq);
  red2[lid] = v * v;
  workgroupBarrier();
  for (var width = 32u; width > 0u; width >>= 1u) {
    if (lid < width) { red[lid] += red[lid + width]; red2[lid] += red2[lid + width]; }
    workgroupBarrier();
  }

  let per_word = 32u / BITS;
  if (lid < 64u / per_word) {
    var word = 0u;
    for (var k = 0u; k < per_word; k++) { word |= qcode[lid * per_word + k] << (k * BITS); }
    codes[b * (64u / per_word) + lid] = word;
  }
  if (lid == 0u) { scale[b] = absmax; err2[b] = red[0]; norm2[b] = red2[0]; }
}

@compute @workgroup_size(64)
fn quantize_blocks_sw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = gid.x + gid.y * nwg.x * 64u;
  if (b >= p.nblocks) { return; }
  let base = b * 64u;
  var absmax = 0.0;
  for (var i = 0u; i < 64u; i++) {
    if (base + i < p.n) { absmax = max(absmax, abs(w[base + i])); }
  }
  var e2 = 0.0;
  var n2 = 0.0;
  let per_word = 32u / BITS;
  for (var j = 0u; j < 64u / per_word; j++) {
    var word = 0u;
    for (var k = 0u; k < per_word; k++) {
      let e = base + j * per_word + k;
      var v = 0.0;
      if (e < p.n) { v = w[e]; }
      let code = nearest_code(v, absmax);
      let deq = table[code] * absmax;
      e2 += (v - deq) * (v - deq);
      n2 += v * v;
      word |= code << (k * BITS);
    }
    codes[b * (64u / per_word) + j] = word;
  }
  scale[b] = absmax;
  err2[b] = e2;
  norm2[b] = n2;
}
