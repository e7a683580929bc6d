// Choosing the next token from a row of logits: greedy (temperature 0, the default: evaluation is
// greedy) or temperature + nucleus (top-p) sampling with a seeded random source.

export interface SamplingOptions {
  /** 0 = greedy (default). */
  temperature?: number;
  /** Keep the smallest set of tokens whose probability reaches topP (default 1: all). */
  topP?: number;
  seed?: number;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

export function sampleToken(logits: Float32Array, o: SamplingOptions, random: () => number): number {
  const temperature = o.temperature ?? 0;
  if (temperature <= 0) return argmax(logits);
  const topP = Math.min(1, Math.max(0, o.topP ?? 1));
  const max = logits[argmax(logits)];
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
  let order: number[];
  if (topP < 1) {
    order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    let kept = 0, cut = order.length;
    for (let j = 0; j < order.length; j++) {
      kept += probs[order[j]] / sum;
      if (kept >= topP) { cut = j + 1; break; }
    }
    order = order.slice(0, cut);
    sum = order.reduce((s, i) => s + probs[i], 0);
  } else {
    order = Array.from(probs.keys());
  }
  let u = random() * sum;
  for (const i of order) {
    u -= probs[i];
    if (u <= 0) return i;
  }
  return order[order.length - 1];
}
