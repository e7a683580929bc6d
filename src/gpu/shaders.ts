// WGSL sources come from shaders/*.wgsl through Vite's `?raw` imports (also under vitest and the
// Node build) and are compiled as written: every variant is an `override` constant. No shader needs
// text templating yet (an f16 element type would: it comes with the first f16 kernel).
//
// Code two shader families share lives in shaders/lib/*.wgsl (functions and workgroup variables, no
// entry point). A shader names what it uses in a comment line `// uses: lib/<name>.wgsl`; the library
// text is appended after the shader's own, which WGSL allows (module-scope declarations may come in
// any order) and which keeps the shader's own line numbers in compile errors.

import { EntrotuneError } from '../errors';

const sources = import.meta.glob(['../../shaders/*.wgsl', '../../shaders/lib/*.wgsl'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

const byName = new Map<string, string>();
const libraries = new Map<string, string>();
for (const [path, text] of Object.entries(sources)) {
  const file = path.slice(path.lastIndexOf('/') + 1);
  if (path.includes('/shaders/lib/')) libraries.set(`lib/${file}`, text);
  else byName.set(file.slice(0, -'.wgsl'.length), text);
}

const USES = /^\/\/ uses: (lib\/[\w-]+\.wgsl)$/gm;

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}

function ownSource(name: string): string {
  const text = byName.get(name);
  if (text === undefined) throw new EntrotuneError(`no shader named ${name}.wgsl`, `known shaders: ${shaderNames().join(', ')}`);
  return text;
}

/** The libraries a shader uses, in the order it names them. */
function usedLibraries(name: string): { file: string; text: string }[] {
  return [...ownSource(name).matchAll(USES)].map(([, file]) => {
    const text = libraries.get(file);
    if (text === undefined) throw new EntrotuneError(`${name}.wgsl uses ${file}, which does not exist`, `known libraries: ${[...libraries.keys()].join(', ')}`);
    return { file, text };
  });
}

/** The text to compile: the shader, then each library it uses. */
export function shaderSource(name: string): string {
  return [ownSource(name), ...usedLibraries(name).map((l) => l.text)].join('\n');
}

/** Which file line `line` (1-based) of shaderSource(name) comes from, for compile errors. */
export function shaderLocation(name: string, line: number): { file: string; line: number } {
  let start = 0;
  for (const part of [{ file: `${name}.wgsl`, text: ownSource(name) }, ...usedLibraries(name)]) {
    const lines = part.text.split('\n').length;
    if (line <= start + lines) return { file: part.file, line: line - start };
    start += lines;
  }
  return { file: `${name}.wgsl`, line };
}
