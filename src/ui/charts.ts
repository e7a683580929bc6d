// The charts. With uPlot (≈50 kB, no dependencies, canvas, fast with thousands of points; MIT): the
// entropy histogram with the two cut points, and the training loss of each method. Bundled with the
// page: no chart library is fetched from a CDN. The results' bar charts (a few bars per group) are
// plain elements instead: uPlot has no grouped bars, and elements carry their numbers as text.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Method } from '../pipeline/targets';
import { el, replace } from './dom';

const COLORS: Record<string, string> = { base: '#71717a', pipeline: '#1d4ed8', 'sft-all': '#b45309', 'distill-all': '#047857', reverse: '#7c3aed' };

export interface Bar {
  /** Names the colour too: a method, or "base". */
  series: string;
  value: number;
  text: string;
}

/** Horizontal bars in groups (one group per bucket, one bar per method), scaled to `max`, with a legend. */
export function barChart(container: HTMLElement, groups: { label: string; bars: Bar[] }[], max: number): void {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const swatch = (name: string) => el('span', { class: 'swatch', style: `background:${COLORS[name] ?? '#111'}` });
  replace(container,
    el('div', { class: 'legend' }, ...names.map((n) => el('span', {}, swatch(n), ` ${n}`))),
    ...groups.map((g) => el('div', { class: 'bar-group' }, el('div', { class: 'bar-label' }, g.label),
      ...g.bars.map((b) => el('div', { class: 'bar-row' },
        el('span', { class: 'bar-name' }, b.series),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar', style: `width:${max > 0 ? Math.max(0, Math.min(100, (100 * b.value) / max)) : 0}%;background:${COLORS[b.series] ?? '#111'}` })),
        el('span', { class: 'bar-value' }, b.text))))));
}

function widthOf(el: HTMLElement): number {
  return Math.max(280, Math.min(900, el.clientWidth || 600));
}

/** Keep a chart as wide as its container. */
function follow(u: uPlot, el: HTMLElement, height: number): void {
  new ResizeObserver(() => u.setSize({ width: widthOf(el), height })).observe(el);
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
    const height = 220;
    this.u = new uPlot({
      width: widthOf(this.el),
      height,
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
    }, data, this.el);
    follow(this.u, this.el, height);
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
    const height = 240;
    this.u = new uPlot({
      width: widthOf(this.el),
      height,
      scales: { x: { time: false } },
      // Whole steps only on the x axis.
      axes: [{ label: 'step', stroke: '#1b1b1f', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { label: 'loss', stroke: '#1b1b1f' }],
      series: [{ label: 'step' }, ...methods.map((m) => ({ label: m, stroke: COLORS[m] ?? '#111', width: 2, spanGaps: false }))],
    }, data, this.el);
    follow(this.u, this.el, height);
  }
}
