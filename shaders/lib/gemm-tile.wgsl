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
// broadcast) and 8 neighbouring B vec4 (8 different 16-byte bank groups). The padding makes the
// stores of a tile loaded along d (transposed on the way in: the 16 invocations of one row r write
// GA[0..15][r]) fall 4 banks apart per d instead of all in one bank: 2-way conflicts instead of 16-way.
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

fn gemm_put_a(d: u32, r: u32, v: f32) { GA[d * GROW + r / 4u][r % 4u] = v; }
fn gemm_put_b(d: u32, s: u32, v: f32) { GB[d * GROW + s / 4u][s % 4u] = v; }
// Four neighbouring columns s..s+3 of B at once (s a multiple of 4).
fn gemm_put_b4(d: u32, s: u32, v: vec4<f32>) { GB[d * GROW + s / 4u] = v; }

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
