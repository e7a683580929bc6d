// How the base weights are stored on the GPU: a choice of the model (the loader, the memory
// planner, the CLI flags and the page's settings speak of it). The kernels only see bits per
// element (Bits); this is where the name becomes the number.

import type { Bits } from '../kernels/quantize';

export type Quant = 'nf4' | 'int8' | 'none';

export const QUANT_BITS: Record<Quant, Bits> = { nf4: 4, int8: 8, none: 32 };

/** The format as a person reads it: 'none' means the weights stay f32. */
export function quantName(q: Quant): string {
  return q === 'none' ? 'f32' : q === 'nf4' ? 'NF4' : 'int8';
}
