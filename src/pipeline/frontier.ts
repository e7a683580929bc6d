// The routing frontier: held-out accuracy of the pipeline at several hard fractions (pipeline@f), each
// against what its teacher cost (the tokens of the teacher's chains among its targets, and the calls
// they took). Pure functions of a report: the table (JSON and Markdown) and the chart as a small SVG
// that the Markdown report embeds (the page draws the same points with uPlot, src/ui/charts.ts).

import type { Bucket } from '../score/analysis';
import { frontierFraction, PAPER_FRACTION, type FrontierMethod } from './methods';
import type { Accuracy, PipelineReport } from './report';

export interface FrontierPoint {
  /** Share of the training questions routed to the teacher: the most complex by the run's signal. */
  fraction: number;
  method: FrontierMethod;
  /** Training questions sent to the teacher; of those, kept chains of thought (the rest fell back to the answer). */
  questions: number;
  cot: number;
  /** Tokens of the teacher's chains among the targets: what the student is taught that the teacher wrote. */
  teacherTargetTokens: number;
  /** Teacher replies these questions took (retries included; cached ones count too) and the tokens generated. */
  teacherCalls: number;
  teacherTokens: number;
  accuracy: Accuracy;
  buckets: Record<Bucket, Accuracy>;
}

/** The frontier of a report: its pipeline@f methods, by fraction; null when it has none. */
export function frontierOf(r: Pick<PipelineReport, 'methods'>): FrontierPoint[] | null {
  const points: FrontierPoint[] = [];
  for (const m of r.methods) {
    const f = frontierFraction(m.method);
    if (f === null) continue;
    points.push({
      fraction: f, method: m.method as FrontierMethod,
      questions: m.teacher.questions, cot: m.targets.cot,
      teacherTargetTokens: m.cotTargetTokens ?? 0, teacherCalls: m.teacher.calls, teacherTokens: m.teacher.completionTokens,
      accuracy: m.accuracy, buckets: m.buckets,
    });
  }
  return points.length ? points.sort((a, b) => a.fraction - b.fraction) : null;
}

const pct = (a: Accuracy) => (a.n ? `${(100 * a.p).toFixed(1)}%` : '–');
const ci = (a: Accuracy) => (a.n ? `${(100 * a.p).toFixed(1)}% [${(100 * a.low).toFixed(1)}, ${(100 * a.high).toFixed(1)}]` : '–');
const fractionText = (f: number) => `${+(100 * f).toFixed(1)}%`;

/** The frontier's table: a header and a row of cells per point (the Markdown report's and the page's). */
export function frontierRows(points: FrontierPoint[]): { head: string[]; rows: string[][] } {
  return {
    head: ['hard fraction', 'to the teacher (kept)', 'teacher target tokens', 'teacher calls', 'accuracy [95% CI]', 'easy', 'medium', 'hard'],
    rows: points.map((p) => [
      `${fractionText(p.fraction)}${p.fraction === PAPER_FRACTION ? ' (the paper\'s)' : ''}`, `${p.questions} (${p.cot})`, String(p.teacherTargetTokens), String(p.teacherCalls),
      ci(p.accuracy), pct(p.buckets.easy), pct(p.buckets.medium), pct(p.buckets.hard),
    ]),
  };
}

/** The frontier as a Markdown table. */
export function frontierTable(points: FrontierPoint[]): string {
  const { head, rows } = frontierRows(points);
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** A round step for about `n` ticks over [0, max]: 1, 2 or 5 × 10^k. */
export function tickStep(max: number, n = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw)!;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The frontier chart as SVG: held-out accuracy (with its 95% interval as a whisker) against the
 * teacher's target tokens, one labelled point per fraction joined in order, the paper's 25% ringed.
 * The y axis starts at the lowest interval rounded down to 10%, so that a few points apart show.
 */
export function frontierSvg(points: FrontierPoint[]): string {
  const W = 520, H = 300, L = 56, R = 32, T = 16, B = 44;
  const xMax = Math.max(1, ...points.map((p) => p.teacherTargetTokens));
  const xStep = tickStep(xMax);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const measured = points.filter((p) => p.accuracy.n);
  const yLow = Math.max(0, Math.floor(10 * Math.min(1, ...measured.map((p) => p.accuracy.low)) + 1e-9) / 10); // (0.6 − 0.1 is 0.4999…)
  const x = (v: number) => L + ((W - L - R) * v) / xTop;
  const y = (v: number) => T + (H - T - B) * (1 - (v - yLow) / Math.max(1e-9, 1 - yLow));
  const n = (v: number) => v.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let k = Math.round(10 * yLow); k <= 10; k++) {
    const v = k / 10;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${n(y(v))}" y2="${n(y(v))}" stroke="#e4e4e7"/>`, `<text x="${L - 6}" y="${n(y(v) + 4)}" text-anchor="end">${Math.round(100 * v)}%</text>`);
  }
  for (let k = 0; k * xStep <= xTop; k++) out.push(`<text x="${n(x(k * xStep))}" y="${H - B + 16}" text-anchor="middle">${(k * xStep).toLocaleString('en')}</text>`);
  out.push(
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#1b1b1f"/>`, `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#1b1b1f"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">teacher target tokens</text>`,
    `<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">held-out accuracy</text>`,
  );
  if (measured.length > 1) out.push(`<polyline fill="none" stroke="#1d4ed8" stroke-width="1.5" points="${measured.map((p) => `${n(x(p.teacherTargetTokens))},${n(y(p.accuracy.p))}`).join(' ')}"/>`);
  for (const p of measured) {
    const px = n(x(p.teacherTargetTokens)), py = n(y(p.accuracy.p));
    const paper = p.fraction === PAPER_FRACTION;
    out.push(
      `<line x1="${px}" x2="${px}" y1="${n(y(p.accuracy.low))}" y2="${n(y(p.accuracy.high))}" stroke="#1d4ed8"/>`,
      `<circle cx="${px}" cy="${py}" r="3.5" fill="#1d4ed8"/>`,
      // Labels below and right of their point: inside the plot even at 100%.
      `<text x="${n(x(p.teacherTargetTokens) + 6)}" y="${n(y(p.accuracy.p) + 16)}"${paper ? ' fill="#b91c1c"' : ''}>${esc(fractionText(p.fraction))}${paper ? ', the paper\'s' : ''}</text>`,
    );
    if (paper) out.push(`<circle cx="${px}" cy="${py}" r="8" fill="none" stroke="#b91c1c" stroke-width="2"/>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
