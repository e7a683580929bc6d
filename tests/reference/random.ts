// Seeded random numbers for tests (mulberry32): the same inputs on every run and machine.

export { rng } from '../../src/util/random';
import { rng } from '../../src/util/random';

/** n uniform values in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
}
