#!/usr/bin/env node
// entrotune's command line from a clone of the repository (`npx entrotune …`, or `npm run entrotune -- …`).
// On first use — and whenever a source file is newer than the build — it installs what is missing
// (.ci/ensure-deps.sh) and builds dist-node/cli.js; otherwise it starts the built CLI at once. Either way
// the command runs in the caller's own directory, so relative paths start where you are.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist-node', 'cli.js');

/** The newest modification time under `dir` (source files only). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function run(what, command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`entrotune: ${what} failed (${command} ${args.join(' ')} exited with ${r.status ?? r.signal}); the output above says why\n`);
    process.exit(1);
  }
}

if (!existsSync(join(root, 'node_modules', 'vite'))) run('installing what entrotune needs', 'bash', [join(root, '.ci', 'ensure-deps.sh')]);
const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'shaders')), statSync(join(root, 'package-lock.json')).mtimeMs);
if (!existsSync(cli) || statSync(cli).mtimeMs < sources) {
  process.stderr.write('entrotune: building the command line (dist-node/cli.js), once per change of the sources…\n');
  run('the build', process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--ssr', '--logLevel', 'warn']);
}
// `npm run entrotune -- …` runs scripts from the package root; INIT_CWD is where the user typed it.
if (process.env.npm_lifecycle_event === 'entrotune' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
await import(pathToFileURL(cli).href);
