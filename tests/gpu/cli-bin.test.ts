// The command line as a newcomer meets it: `npx entrotune <command> --help` for every command, and
// relative paths that start from the caller's directory (npx, the bin script, and `npm run entrotune`).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli';

const exec = promisify(execFile);
const BIN = join(ROOT, 'bin/entrotune.js');
const COMMANDS = ['demo', 'generate', 'score', 'train', 'pipeline', 'eval', 'plan', 'device'];

async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, env: { ...process.env, npm_config_yes: 'true' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('entrotune from a clone', () => {
  it('prints each command\'s usage for --help, and for help <command>', async () => {
    for (const c of COMMANDS) {
      const r = await run(process.execPath, [BIN, c, '--help'], ROOT);
      expect(r.code, `${c}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^entrotune ${c}`));
    }
    expect((await run(process.execPath, [BIN, 'help', 'score'], ROOT)).stdout).toMatch(/^entrotune score --model/);
    const npx = await run('npx', ['entrotune', 'train', '--help'], join(ROOT, 'tests'));
    expect(npx.code, npx.stderr).toBe(0);
    expect(npx.stdout).toMatch(/^entrotune train --model/);
  });

  it('resolves relative paths from the caller\'s directory, with npx and with npm run', async () => {
    const args = ['generate', '--model', 'fixtures/tiny/llama', '--prompt', 'Hi', '--max-tokens', '2'];
    const viaNpx = await run('npx', ['entrotune', ...args], join(ROOT, 'tests'));
    expect(viaNpx.code, viaNpx.stderr).toBe(0);
    expect(viaNpx.stderr).toMatch(/fixtures\/tiny\/llama: .* parameters/);
    const viaNpm = await run('npm', ['run', '--silent', 'entrotune', '--', ...args], join(ROOT, 'tests'));
    expect(viaNpm.code, viaNpm.stderr).toBe(0);
    const missing = await run(process.execPath, [BIN, 'generate', '--model', 'no-such-folder/x', '--prompt', 'Hi'], join(ROOT, 'tests'));
    expect(missing.code).not.toBe(0);
  });

  it('names the flag, not the API option, when --on-invalid stop meets a bad row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrotune-bin-'));
    writeFileSync(join(dir, 'bad.jsonl'), `${JSON.stringify({ question: 'q', options: ['a', 'b'], answer: 'A' })}\n{"question": "q2"}\n`);
    const r = await run(process.execPath, [BIN, 'score', '--model', join(ROOT, 'tests/fixtures/tiny/llama'), '--data', 'bad.jsonl', '--out', 'out', '--on-invalid', 'stop'], dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/DatasetError: bad\.jsonl, line 2: .*\nHINT: fix or remove that line, or leave out --on-invalid stop/);
    expect(r.stderr).not.toMatch(/onInvalid/);
  });
});
