// A few DOM helpers. The page is plain TypeScript over the DOM: six forms and a handful of tables
// that change when the worker reports. A framework (React, Svelte, Lit) would add a build step or a
// runtime, and a second way of thinking, for no behaviour the page needs; `el()` keeps building
// elements short and safe (text is always set as text, never parsed as HTML).

export { seconds } from '../util/format';

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

export function input(id: string): HTMLInputElement {
  return $<HTMLInputElement>(id);
}

export type Child = Node | string | number | null | undefined | false;

/** el('td', { class: 'num' }, '12') — attributes by name; `on*` functions become listeners. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  append(e, ...children);
  return e;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** A table with a header row; cells are text or nodes. */
export function table(head: string[], rows: Child[][], attrs: Record<string, unknown> = {}): HTMLTableElement {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c)))))),
  );
}

/** <dl> of label → value pairs (each pair in a <div>, so a grid keeps them together). */
export function stats(dl: HTMLElement, pairs: [string, Child][]): void {
  replace(dl, ...pairs.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function pct(p: number, digits = 1): string {
  return Number.isFinite(p) ? `${(100 * p).toFixed(digits)}%` : '–';
}

/** An error as the page shows it: the class name, the message and, on a line of its own, the HINT
 *  (from the error's `hint` field, which crosses the worker with the other fields). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const hint = (err as { hint?: unknown }).hint;
  if (typeof hint !== 'string' || !hint) return `${err.name}: ${err.message}`;
  const said = err.message.endsWith(`\nHINT: ${hint}`) ? err.message.slice(0, -`\nHINT: ${hint}`.length) : err.message;
  return `${err.name}: ${said}\nHINT: ${hint}`;
}

/** Save bytes as a file: a Blob URL on a temporary link (nothing leaves the machine). */
export function download(name: string, bytes: Uint8Array | string, type = 'application/octet-stream'): void {
  const blob = new Blob([typeof bytes === 'string' ? bytes : (bytes as Uint8Array<ArrayBuffer>)], { type });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The value of the checked radio of a group. */
export function radioValue(name: string): string {
  return (document.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`))?.value ?? '';
}

export function setRadio(name: string, value: string): void {
  const r = document.querySelector<HTMLInputElement>(`input[name="${name}"][value="${value}"]`);
  if (r) {
    r.checked = true;
    r.dispatchEvent(new Event('change', { bubbles: true }));
  }
}

/** Show the `[data-<group>="value"]` panel of a radio group, hide the others. */
export function radioPanels(name: string, attr: string): void {
  const sync = () => {
    const v = radioValue(name);
    for (const p of document.querySelectorAll<HTMLElement>(`[data-${attr}]`)) p.hidden = p.dataset[camel(attr)] !== v;
  };
  for (const r of document.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)) r.addEventListener('change', sync);
  sync();
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function num(id: string, fallback: number): number {
  const v = Number(input(id).value);
  return input(id).value.trim() !== '' && Number.isFinite(v) ? v : fallback;
}
