// WGSL sources come from shaders/*.wgsl through Vite's `?raw` imports (also under vitest and the
// Node build). The only text templating is {{NAME}} substitution for what `override` constants cannot
// express (element type, `enable f16;`); anything left unreplaced is an error, not a silent bug.

import { EntrotuneError } from '../errors';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

const byName = new Map<string, string>();
for (const [path, text] of Object.entries(sources)) byName.set(path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), text);

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}

export function shaderSource(name: string): string {
  const text = byName.get(name);
  if (text === undefined) throw new EntrotuneError(`no shader named ${name}.wgsl`, `known shaders: ${shaderNames().join(', ')}`);
  return text;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Replace {{NAME}} by vars[NAME]; throws on a placeholder without a value. Values may not add lines. */
export function substitute(text: string, vars: Readonly<Record<string, string>>, file = 'shader'): string {
  const out = text.replace(PLACEHOLDER, (match, name: string) => {
    const v = vars[name];
    if (v === undefined) return match;
    if (v.includes('\n')) throw new EntrotuneError(`${file}: value for {{${name}}} spans lines`, 'substitutions must keep line numbers intact');
    return v;
  });
  const left = [...out.matchAll(PLACEHOLDER)].map((m) => m[1]);
  if (left.length) {
    throw new EntrotuneError(`${file}: no value for ${[...new Set(left)].map((n) => `{{${n}}}`).join(', ')}`, 'pass it in the pipeline key\'s `vars`');
  }
  return out;
}
