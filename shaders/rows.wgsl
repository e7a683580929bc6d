// rows.wgsl — moving whole rows of W floats.
//
//   gather_rows    out[r, :] = x[idx[r], :]                     (the positions whose logits are asked for)
//   scatter_rows_idx  out[idx[r], :] = x[r, :]                  (gradients of gathered rows back into place)
//   scatter_rows   out[(r / Tq)·S + pos0 + r mod Tq, :] = x[r, :]  (append new keys/values to a KV cache
//                                                                  laid out [B, S, W]; x is [B·Tq, W])
// Bindings: 0 params, 1 out (=, only the rows named), 2 x, 3 idx (gather_rows, scatter_rows_idx).
// Dispatch: 1-D over R·W elements, 256-wide workgroups, invocations stride.

struct Params { R: u32, W: u32, Tq: u32, S: u32, pos0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;

@compute @workgroup_size(256)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var e = gid.x; e < p.R * p.W; e += stride) {
    let r = e / p.W;
    out[e] = x[idx[r] * p.W + e % p.W];
  }
}

@compute @workgroup_size(256)
fn scatter_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var e = gid.x; e < p.R * p.W; e += stride) {
    let r = e / p.W;
    let dst = (r / p.Tq) * p.S + p.pos0 + r % p.Tq;
    out[dst * p.W + e % p.W] = x[e];
  }
}

@compute @workgroup_size(256)
fn scatter_rows_idx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var e = gid.x; e < p.R * p.W; e += stride) {
    let r = e / p.W;
    out[idx[r] * p.W + e % p.W] = x[e];
  }
}
