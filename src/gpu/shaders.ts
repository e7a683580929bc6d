// WGSL sources come from shaders/*.wgsl through Vite's `?raw` imports (also under vitest and the
// Node build) and are compiled as written: every variant is an `override` constant. No shader needs
// text templating yet (an f16 element type would: it comes with the first f16 kernel).

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
