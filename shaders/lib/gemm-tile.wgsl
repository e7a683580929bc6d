// lib/gemm-tile.wgsl — the register-tiled product step shared by the GPU set's GEMMs (linear.wgsl,
// matmul.wgsl). No entry point: a shader that says `// uses: lib/gemm-tile.wgsl` gets this appended.
//
// A workgroup of 8×8 invocations computes a 64×64 tile of C[r, s] = Σ_d A(r, d)·B(d, s), 16 values of d
// per slab. The two slab tiles live in workgroup memory reduction-major, GA[d][r] and GB[d][s]: a row
// of 64 floats plus 4 of padding (17 vec4), so an invocation reads its operands as whole vec4.
//
// Invocation (tx, ty) owns an 8×8 block of C made of four 4×4 quarters: rows 4·ty + {0..3} and
// 32 + 4·ty + {0..3}, columns 4·tx + {0..3} and 32 + 4·tx + {0..3}. Per d it reads 2 vec4 of A and 2 of B
// (16 words) for 64 FMAs: 4 FMAs per word read, what an SM's 128 lanes need from 32 words of shared
// memory per clock. Banks: the 8 invocations of a quarter-warp that share ty read the same A vec4 (a
// broadcast) and 8 neighbouring B vec4 (8 different 16-byte bank groups). The padding (17 vec4 a row)
// puts the vec4 stores of a tile loaded along d (transposed on the way in: 8 neighbouring invocations
// store at 8 neighbouring d) into 8 different 16-byte bank groups: no conflict.
//
// Every store into GA/GB writes a whole vec4, and each vec4 of a slab has exactly one writer: the WGSL
// memory model lets a write to one component of a vector touch all of it, and on Metal (and D3D's FXC,
// which writes the whole float4 back) invocations writing neighbouring components of one vec4 race. Vulkan
// stores one component, so no test here could see it. gemm_at gives each invocation four neighbouring
// rows (or columns) of one d per vec4 it stores.
//
// The slab loop of a user (linear.wgsl, matmul.wgsl) is: fetch slab 0 into registers; per slab,
// barrier, stage the registers into GA/GB (decoding NF4 there), barrier, fetch the next slab into
// registers (its global loads are in flight during the arithmetic), gemm_slab. Two barriers per slab.

const GT: u32 = 64u;     // rows and columns of a tile
const GK: u32 = 16u;     // depth of a slab
const GROW: u32 = 17u;   // vec4 per tile row in workgroup memory (64 floats + 4 of padding)

var<workgroup> GA: array<vec4<f32>, 272>;   // GK · GROW: GA[d · GROW + r / 4][r % 4] = A(r0 + r, d0 + d)
var<workgroup> GB: array<vec4<f32>, 272>;   // GB[d · GROW + s / 4][s % 4] = B(d0 + d, s0 + s)

// The 8×8 block: acc[2i + h][j] is C at tile row gemm_row(ty, i), tile column gemm_col(tx, h, j).
alias GemmAcc = array<vec4<f32>, 16>;

// Four neighbouring rows r..r+3 of A (columns s..s+3 of B) at one d, r and s multiples of 4.
fn gemm_put_a4(d: u32, r: u32, v: vec4<f32>) { GA[d * GROW + r / 4u] = v; }
fn gemm_put_b4(d: u32, s: u32, v: vec4<f32>) { GB[d * GROW + s / 4u] = v; }

// (d, row) in a 16 × 64 operand tile of the i-th (0…15) value invocation t (0…63) loads, chosen so that
// values 4q…4q+3 are rows 4k…4k+3 of one d (stored as one vec4 by gemm_stage4) and, for each i, the
// 64 invocations read memory in its contiguous direction:
//   along_d (the operand's rows run along d): d = t % 16, row = 4·(t / 16) + 16·q + c: 16 invocations per
//            64-byte piece of a row;
//   otherwise (memory runs along the rows): row = 4·(t % 16) + c, d = t / 16 + 4·q: per d, 16 invocations
//            over 64 neighbouring floats, every fourth one per load, the other three by the next loads.
fn gemm_at(along_d: bool, t: u32, i: u32) -> vec2<u32> {
  let q = i / 4u;
  let c = i % 4u;
  if (along_d) { return vec2<u32>(t % 16u, 4u * (t / 16u) + 16u * q + c); }
  return vec2<u32>(t / 16u + 4u * q, 4u * (t % 16u) + c);
}

// Store the 16 values an invocation loaded at gemm_at's places, 4 whole vec4s, into GA (a) or GB.
fn gemm_stage4(into_a: bool, along_d: bool, t: u32, v: ptr<function, array<f32, 16>>) {
  for (var q = 0u; q < 4u; q++) {
    let at = gemm_at(along_d, t, 4u * q);
    let x = vec4<f32>((*v)[4u * q], (*v)[4u * q + 1u], (*v)[4u * q + 2u], (*v)[4u * q + 3u]);
    if (into_a) { gemm_put_a4(at.x, at.y, x); } else { gemm_put_b4(at.x, at.y, x); }
  }
}

fn gemm_row(ty: u32, i: u32) -> u32 { return select(4u * ty + i, 28u + 4u * ty + i, i >= 4u); }
fn gemm_col(tx: u32, h: u32, j: u32) -> u32 { return 32u * h + 4u * tx + j; }

// acc += the 16-deep slab now in GA/GB.
fn gemm_slab(acc: ptr<function, GemmAcc>, tx: u32, ty: u32) {
  for (var d = 0u; d < GK; d++) {
    let a0 = GA[d * GROW + ty];
    let a1 = GA[d * GROW + 8u + ty];
    let b0 = GB[d * GROW + tx];
    let b1 = GB[d * GROW + 8u + tx];
    for (var i = 0u; i < 4u; i++) {
      (*acc)[2u * i] = fma(vec4<f32>(a0[i]), b0, (*acc)[2u * i]);
      (*acc)[2u * i + 1u] = fma(vec4<f32>(a0[i]), b1, (*acc)[2u * i + 1u]);
      (*acc)[8u + 2u * i] = fma(vec4<f32>(a1[i]), b0, (*acc)[8u + 2u * i]);
      (*acc)[9u + 2u * i] = fma(vec4<f32>(a1[i]), b1, (*acc)[9u + 2u * i]);
    }
  }
}
