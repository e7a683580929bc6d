// The charts. With uPlot (≈50 kB, no dependencies, canvas, fast with thousands of points; MIT): the
// entropy histogram with the two cut points, the training loss of each method, and the routing
// frontier (accuracy against teacher tokens, one point per hard fraction). Bundled with the
// page: no chart library is fetched from a CDN. The results' bar charts (a few bars per group) are
// plain elements instead: uPlot has no grouped bars, and elements carry their numbers as text.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { FrontierPoint } from '../pipeline/frontier';
import { frontierFraction, PAPER_FRACTION, type Method } from '../pipeline/methods';
import { el, replace } from './dom';

const COLORS: Record<string, string> = { base: '#71717a', pipeline: '#1d4ed8', 'sft-all': '#b45309', 'distill-all': '#047857', reverse: '#7c3aed' };

/** A method's colour; the frontier's points go from sft-all's amber (0) to distill-all's green (1). */
function colorOf(name: string): string {
  const f = frontierFraction(name);
  if (f === null) return COLORS[name] ?? '#111';
  const mix = (a: number, b: number) => Math.round(a + (b - a) * f).toString(16).padStart(2, '0');
  return `#${mix(0xb4, 0x04)}${mix(0x53, 0x78)}${mix(0x09, 0x57)}`;
}

export interface Bar {
  /** Names the colour too: a method, or "base". */
  series: string;
  value: number;
  text: string;
}

/** Horizontal bars in groups (one group per bucket, one bar per method), scaled to `max`, with a legend. */
export function barChart(container: HTMLElement, groups: { label: string; bars: Bar[] }[], max: number): void {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const swatch = (name: string) => el('span', { class: 'swatch', style: `background:${colorOf(name)}` });
  replace(container,
    el('div', { class: 'legend' }, ...names.map((n) => el('span', {}, swatch(n), ` ${n}`))),
    ...groups.map((g) => el('div', { class: 'bar-group' }, el('div', { class: 'bar-label' }, g.label),
      ...g.bars.map((b) => el('div', { class: 'bar-row' },
        el('span', { class: 'bar-name' }, b.series),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar', style: `width:${max > 0 ? Math.max(0, Math.min(100, (100 * b.value) / max)) : 0}%;background:${colorOf(b.series)}` })),
        el('span', { class: 'bar-value' }, b.text))))));
}

function widthOf(el: HTMLElement): number {
  return Math.max(280, Math.min(900, el.clientWidth || 600));
}

/** A chart in `el`, kept as wide as it. */
function plot(el: HTMLElement, height: number, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): uPlot {
  const u = new uPlot({ width: widthOf(el), height, ...opts }, data, el);
  new ResizeObserver(() => u.setSize({ width: widthOf(el), height })).observe(el);
  return u;
}

export class EntropyHistogram {
  private u: uPlot | null = null;
  private bounds: [number, number] | null = null;
  /** The x axis: the bins' range (the data's), widened to show both cut points. */
  private range: [number, number] = [0, 1];

  constructor(private readonly el: HTMLElement) {}

  /** counts over `edges` (normalised entropy, binned over the data's range); thresholds drawn as dashed lines. */
  draw(edges: number[], counts: number[], bounds: [number, number] | null): void {
    this.bounds = bounds;
    this.range = [Math.min(edges[0], ...(bounds ?? [])), Math.max(edges[edges.length - 1], ...(bounds ?? []))];
    const x = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
    const data: uPlot.AlignedData = [x, counts];
    if (this.u) {
      this.u.setData(data);
      return;
    }
    this.u = plot(this.el, 220, {
      legend: { show: false },
      cursor: { show: true, points: { show: false } },
      scales: { x: { time: false, range: () => this.range }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ label: 'entropy / max entropy', stroke: '#1b1b1f' }, { label: 'questions', stroke: '#1b1b1f' }],
      series: [{}, { label: 'questions', fill: 'rgba(29, 78, 216, 0.35)', stroke: '#1d4ed8', paths: uPlot.paths.bars!({ size: [0.95, 100] }), points: { show: false } }],
      hooks: {
        draw: [(u) => {
          if (!this.bounds) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.strokeStyle = '#b91c1c';
          ctx.fillStyle = '#1b1b1f';
          ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
          const labels = ['easy | medium', 'medium | hard'];
          const pad = 4 * devicePixelRatio;
          const right = u.bbox.left + u.bbox.width;
          this.bounds.forEach((b, i) => {
            const px = u.valToPos(b, 'x', true);
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
            // Each label on its own row, right of its line, or left of it where it would leave the plot:
            // two cut points close together never write over each other.
            const w = ctx.measureText(labels[i]).width;
            const lx = px + pad + w <= right ? px + pad : Math.max(u.bbox.left, px - pad - w);
            ctx.fillText(labels[i], lx, u.bbox.top + (14 + 16 * i) * devicePixelRatio);
          });
          ctx.restore();
        }],
      },
    }, data);
  }
}

export class LossChart {
  private u: uPlot | null = null;
  private series = new Map<Method, (number | null)[]>();
  private pending = false;

  constructor(private readonly el: HTMLElement) {}

  clear(): void {
    this.series.clear();
    this.u?.destroy();
    this.u = null;
  }

  /** The whole history of a method (a reopened run). */
  setMethod(method: Method, losses: number[]): void {
    this.series.set(method, [...losses]);
    this.schedule();
  }

  add(method: Method, step: number, loss: number): void {
    const s = this.series.get(method) ?? [];
    while (s.length < step - 1) s.push(null);
    s[step - 1] = Number.isFinite(loss) ? loss : null;
    this.series.set(method, s);
    this.schedule();
  }

  /** At most one redraw per frame, whatever the event rate. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  private render(): void {
    const methods = [...this.series.keys()];
    const n = Math.max(0, ...methods.map((m) => this.series.get(m)!.length));
    const x = Array.from({ length: n }, (_, i) => i + 1);
    const data = [x, ...methods.map((m) => Array.from({ length: n }, (_, i) => this.series.get(m)![i] ?? null))] as uPlot.AlignedData;
    const names = this.u ? this.u.series.slice(1).map((s) => s.label) : [];
    if (this.u && names.join() === methods.join()) {
      this.u.setData(data);
      return;
    }
    this.u?.destroy();
    this.u = plot(this.el, 240, {
      scales: { x: { time: false } },
      // Whole steps only on the x axis.
      axes: [{ label: 'step', stroke: '#1b1b1f', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { label: 'loss', stroke: '#1b1b1f' }],
      series: [{ label: 'step' }, ...methods.map((m) => ({ label: m, stroke: colorOf(m), width: 2, spanGaps: false }))],
    }, data);
  }
}

/** Held-out accuracy (%) against the teacher's target tokens, a point per hard fraction with its 95%
 *  interval as a whisker and its fraction beside it; the paper's 25% is ringed. */
export class FrontierChart {
  private u: uPlot | null = null;
  private shown: FrontierPoint[] = [];
  /** The y axis starts at the lowest interval rounded down to 10%, so that points a few apart show. */
  private low = 0;

  constructor(private readonly el: HTMLElement) {}

  draw(points: FrontierPoint[]): void {
    this.shown = points.filter((p) => p.accuracy.n);
    this.low = Math.max(0, Math.floor(10 * Math.min(1, ...this.shown.map((p) => p.accuracy.low)) + 1e-9) * 10);
    const data: uPlot.AlignedData = [this.shown.map((p) => p.teacherTargetTokens), this.shown.map((p) => 100 * p.accuracy.p)];
    if (this.u) {
      this.u.setData(data);
      return;
    }
    this.u = plot(this.el, 260, {
      legend: { show: false },
      scales: { x: { time: false, range: (_u, _min, max) => [0, Math.max(1, max) * 1.08] }, y: { range: () => [this.low, 100] } },
      axes: [{ label: 'teacher target tokens', stroke: '#1b1b1f' }, { label: 'held-out accuracy (%)', stroke: '#1b1b1f' }],
      series: [{}, { label: 'accuracy', stroke: '#1d4ed8', width: 2, points: { show: true, size: 8, fill: '#1d4ed8' } }],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          const px = devicePixelRatio;
          ctx.save();
          ctx.font = `${12 * px}px system-ui, sans-serif`;
          ctx.lineWidth = 1.5 * px;
          for (const p of this.shown) {
            const x = u.valToPos(p.teacherTargetTokens, 'x', true);
            ctx.strokeStyle = '#1d4ed8';
            ctx.beginPath();
            ctx.moveTo(x, u.valToPos(100 * p.accuracy.low, 'y', true));
            ctx.lineTo(x, u.valToPos(100 * p.accuracy.high, 'y', true));
            ctx.stroke();
            const y = u.valToPos(100 * p.accuracy.p, 'y', true);
            ctx.fillStyle = '#1b1b1f';
            ctx.fillText(`${+(100 * p.fraction).toFixed(1)}%`, x + 6 * px, y + 16 * px);
            if (p.fraction === PAPER_FRACTION) {
              ctx.strokeStyle = '#b91c1c';
              ctx.lineWidth = 2 * px;
              ctx.beginPath();
              ctx.arc(x, y, 9 * px, 0, 2 * Math.PI);
              ctx.stroke();
              ctx.fillStyle = '#b91c1c';
              ctx.fillText('the paper\'s 25%', x + 12 * px, y - 10 * px);
              ctx.lineWidth = 1.5 * px;
            }
          }
          ctx.restore();
        }],
      },
    }, data);
  }
}
