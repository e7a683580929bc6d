// lib/attention-tile.wgsl — what the GPU set's attention forward (attention.wgsl) and its backward
// (attention-backward.wgsl) share: the workgroup buffer U, reading it, and the step that stages a chunk
// of key rows into U and adds weight · row into the output accumulators (P·V in the forward, dS·K for
// dQ). No entry point: a shader that says `// uses: lib/attention-tile.wgsl` gets this appended, and must
// declare the bindings `k` and `v` (array<f32>: keys and values, rows `stride` floats apart).
//
// Race rule: every store into a workgroup array of vectors writes the whole vector, and no two
// invocations store into the same vector between two barriers. A component store (U[i][c] = x) may
// access the whole vector (WGSL memory model); Metal and D3D12/FXC do rewrite all of it, so neighbouring
// invocations storing different components of one vec4 race there. Hence the staging below builds
// whole vec4 slots, and the shaders' per-row tables are scalar arrays.

override NU4: u32 = 1u;      // ceil(HS / 64), 1 … 4: groups of 64 output dimensions per row

// The score phase's slabs, then a staged chunk [KC][HSP] of KC rows of all HS dimensions padded to
// HSP = 64·NU4 floats.
var<workgroup> U: array<vec4<f32>, 416>;

// Two neighbouring floats f, f + 1 of U (f even).
fn get2(f: u32) -> vec2<f32> {
  let w = U[f >> 2u];
  return select(w.xy, w.zw, (f & 2u) != 0u);
}

// Rows per staged chunk: KC·HSP ≤ 1,536 floats (KC = 16, 8, 8, 4 for NU4 = 1 … 4).
fn keysPerChunk() -> u32 { return select(select(4u, 8u, NU4 < 4u), 16u, NU4 == 1u); }

// U[c][·] = key rows first + c (c < KC, none past `last`) of k (or v, from_v) from `base`, HS floats each,
// zero past HS or `last`: one whole vec4 slot per store (HSP is a multiple of 4, so a slot's floats share c).
fn stageKeys(lid: u32, from_v: bool, base: u32, stride: u32, first: u32, last: u32, HS: u32) {
  let HSP = 64u * NU4;
  for (var f4 = lid; f4 < keysPerChunk() * HSP / 4u; f4 += 256u) {
    let c = (4u * f4) / HSP;
    let d = (4u * f4) % HSP;
    var x = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
      if (first + c <= last && d + e < HS) {
        let i = base + (first + c) * stride + d + e;
        if (from_v) { x[e] = v[i]; } else { x[e] = k[i]; }
      }
    }
    U[f4] = x;
  }
}

// acc[4u + e] += w · U[c][4(tx + 16u) + e] for u < NU4: the weights w of four rows times staged row c.
fn addStaged(acc: ptr<function, array<vec4<f32>, 16>>, w: vec4<f32>, c: u32, tx: u32) {
  for (var u = 0u; u < NU4; u++) {
    let x = U[c * 16u * NU4 + 16u * u + tx];
    (*acc)[4u * u] = fma(w, vec4<f32>(x.x), (*acc)[4u * u]);
    (*acc)[4u * u + 1u] = fma(w, vec4<f32>(x.y), (*acc)[4u * u + 1u]);
    (*acc)[4u * u + 2u] = fma(w, vec4<f32>(x.z), (*acc)[4u * u + 2u]);
    (*acc)[4u * u + 3u] = fma(w, vec4<f32>(x.w), (*acc)[4u * u + 3u]);
  }
}
