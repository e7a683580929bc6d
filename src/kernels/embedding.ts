// Launchers for shaders/embedding.wgsl: token rows looked up from a QWeight of any bits and row
// chunks, and the scatter-add of their gradient into an f32 table (full fine-tuning).
// Outputs first, then inputs, then sizes.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';
import { quantTables, tableFor, packedBytes, type QWeight } from './quantize';

/** x[R, C] = deq(E)[ids[r], :], one dispatch per row chunk of E. */
export async function embeddingForward(gpu: Gpu, x: Tensor, ids: Tensor, E: QWeight, R: number): Promise<Dispatch[]> {
  const C = E.K;
  needPositive('embedding_forward', { R, C });
  needElements('embedding_forward', x, R * C);
  needElements('embedding_forward', ids, R);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  for (const c of E.chunks) {
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'embedding', entry: 'embedding_forward', constants: { BITS: E.bits } },
        [x, ids, c.words, c.scale ?? dummy, tableFor(gpu, E.bits)],
        [['u32', R], ['u32', C], ['u32', c.row0], ['u32', c.rows]],
        grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, R * C),
        // Which rows this chunk holds depends on the ids: counted as if it held all R (an upper bound
        // for a table split into chunks). ids read, R rows of the table read and of x written.
        { flops: 0, bytes: 4 * R + packedBytes(R * C, E.bits) + 4 * R * C },
      ),
    );
  }
  return out;
}

/** dE[uniq[u], :] += Σ dx[pos[off[u]..off[u+1]], :] for u < U (f32 table; the CPU lists each token's rows). */
export async function embeddingBackward(gpu: Gpu, dE: Tensor, dx: Tensor, uniq: Tensor, off: Tensor, pos: Tensor, U: number, C: number, maxRows: number): Promise<Dispatch> {
  needPositive('embedding_backward', { U, C });
  needElements('embedding_backward', dx, maxRows * C);
  needElements('embedding_backward', uniq, U);
  needElements('embedding_backward', off, U + 1);
  return makeDispatch(gpu, { shader: 'embedding', entry: 'embedding_backward' }, [dE, dx, uniq, off, pos], [['u32', U], ['u32', C], ['u32', 0], ['u32', 0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, maxRows * C),
    // Up to maxRows rows of dx added into as many rows of dE (U is rewritten per batch; maxRows bounds it), with the CSR lists.
    { flops: maxRows * C, bytes: 4 * (maxRows * C + 2 * maxRows * C + 3 * maxRows + 1) });
}
