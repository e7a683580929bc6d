// convert.wgsl — half-precision weights as published (BF16, F16) to f32, on the GPU, at load time.
//
//   bf16_to_f32   out[i] = f32 whose top 16 bits are the i-th bf16 (a shift: bf16 is truncated f32)
//   f16_to_f32    out[i] = the i-th IEEE half, via unpack2x16float (no shader-f16 feature needed)
//
// `words` holds two halves per u32, little-endian (element 2j in the low 16 bits), exactly the bytes
// of the safetensors file. n may be odd: the last word's high half is then padding and is not read.
// Bindings: 0 params, 1 out [n] (=), 2 words [ceil(n/2)].
// Dispatch: 1-D over word pairs, 256-wide workgroups (x ≤ 65535, y for more), invocations stride.

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> words: array<u32>;

@compute @workgroup_size(256)
fn bf16_to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let nw = (p.n + 1u) / 2u;
  for (var j = gid.x; j < nw; j += stride) {
    let w = words[j];
    out[2u * j] = bitcast<f32>(w << 16u);
    if (2u * j + 1u < p.n) { out[2u * j + 1u] = bitcast<f32>(w & 0xffff0000u); }
  }
}

@compute @workgroup_size(256)
fn f16_to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let nw = (p.n + 1u) / 2u;
  for (var j = gid.x; j < nw; j += stride) {
    let v = unpack2x16float(words[j]);
    out[2u * j] = v.x;
    if (2u * j + 1u < p.n) { out[2u * j + 1u] = v.y; }
  }
}
