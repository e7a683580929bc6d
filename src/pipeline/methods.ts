// The names of the methods a run trains (pure data: the page reads them too). Four fixed ones, and the
// points of the routing frontier: `pipeline@0.1` is the pipeline with the top 10% of training questions
// (by the complexity signal) sent to the teacher and the rest answered directly, so `pipeline@0` is
// sft-all's routing and `pipeline@1` distill-all's. Each point is a method of its own in the run's
// folder (its checkpoints, routed set and evaluation), so a stopped frontier resumes like any run.

import { EntrotuneError } from '../errors';

export const METHODS = ['pipeline', 'sft-all', 'distill-all', 'reverse'] as const;
export type FixedMethod = (typeof METHODS)[number];
/** A frontier point: the pipeline at hard fraction f, written as JavaScript prints f (`pipeline@0.25`). */
export type FrontierMethod = `pipeline@${number}`;
export type Method = FixedMethod | FrontierMethod;

/** The fractions `npm run demo -- --frontier` and the page suggest: both ends, the paper's 25%, and between. */
export const DEFAULT_FRONTIER = [0, 0.1, 0.25, 0.5, 1];
/** The paper's hard fraction (its 75% quantile cut), marked on the frontier's charts. */
export const PAPER_FRACTION = 0.25;

/** The frontier point at hard fraction `f` (0 ≤ f ≤ 1). */
export function frontierMethod(f: number): FrontierMethod {
  if (!(Number.isFinite(f) && f >= 0 && f <= 1)) throw new EntrotuneError(`a frontier fraction must be between 0 and 1, got ${f}`, 'give fractions of the training questions, e.g. 0,0.1,0.25,0.5,1');
  return `pipeline@${f}`;
}

/** The hard fraction of a frontier point; null for the fixed methods (and for anything else). */
export function frontierFraction(m: string): number | null {
  const match = /^pipeline@(.+)$/.exec(m);
  if (!match) return null;
  const f = Number(match[1]);
  // Only the canonical spelling: "pipeline@.5" and "pipeline@0.50" would name the folder of another point.
  return Number.isFinite(f) && f >= 0 && f <= 1 && String(f) === match[1] ? f : null;
}

export function isMethod(m: string): m is Method {
  return (METHODS as readonly string[]).includes(m) || frontierFraction(m) !== null;
}

/** A method list as the user gave it: each a fixed method or a frontier point, none twice. */
export function checkMethods(methods: readonly string[]): Method[] {
  for (const m of methods) {
    if (!isMethod(m)) throw new EntrotuneError(`unknown method '${m}'`, `methods are ${METHODS.join(', ')}, or pipeline@f for a frontier point (0 ≤ f ≤ 1, e.g. pipeline@0.25)`);
  }
  const twice = methods.find((m, i) => methods.indexOf(m) !== i);
  if (twice) throw new EntrotuneError(`method '${twice}' is given twice`, 'name each method once');
  return [...methods] as Method[];
}

/** "0,0.1,0.25,0.5,1" (a flag or a form field) as frontier points, in the order given. */
export function parseFrontier(text: string): FrontierMethod[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new EntrotuneError(`the frontier "${text}" names no fraction`, 'give fractions of the training questions, e.g. 0,0.1,0.25,0.5,1');
  const points = parts.map((s) => {
    const f = Number(s);
    if (s === '' || !Number.isFinite(f)) throw new EntrotuneError(`the frontier fraction "${s}" is not a number`, 'give fractions of the training questions, e.g. 0,0.1,0.25,0.5,1');
    return frontierMethod(f);
  });
  checkMethods(points);
  return points;
}
