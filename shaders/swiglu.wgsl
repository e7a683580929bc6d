// swiglu.wgsl — the gated MLP activation of Llama/Qwen: h = silu(gate) ⊙ up, silu(g) = g·σ(g).
//
//   swiglu_forward   h[i] = gate[i] · σ(gate[i]) · up[i]      over n = rows·I elements
//
//   swiglu_backward  dgate[i] = dh·up·σ(g)·(1 + g·(1 − σ(g))),  dup[i] = dh·g·σ(g)   (=)
//
// Bindings: forward 0 params, 1 h (=), 2 gate, 3 up; backward 0 params, 1 dgate (=), 2 dup (=), 3 dh, 4 gate, 5 up.
// Dispatch: 1-D grid of 256-wide workgroups (≤ 65535), invocations stride over n.
// σ(g) = 1 / (1 + exp(−g)) is evaluated so that large |g| neither overflows nor loses the sign.

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> h: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;

fn sigmoid(g: f32) -> f32 {
  if (g >= 0.0) { return 1.0 / (1.0 + exp(-g)); }
  let e = exp(g);
  return e / (1.0 + e);
}

@compute @workgroup_size(256)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let g = gate[i];
    h[i] = g * sigmoid(g) * up[i];
  }
}

@group(0) @binding(1) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dup: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read> bgate: array<f32>;
@group(0) @binding(5) var<storage, read> bup: array<f32>;

@compute @workgroup_size(256)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let g = bgate[i];
    let sg = sigmoid(g);
    let d = dh[i];
    dgate[i] = d * bup[i] * sg * (1.0 + g * (1.0 - sg));
    dup[i] = d * g * sg;
  }
}
