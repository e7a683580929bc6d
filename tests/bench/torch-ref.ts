// `npm run bench -- --torch`: a plain PyTorch LoRA step of the same shape beside each QLoRA step the
// bench profiles (tests/bench/torch-lora-step.py, run by python3 in the same process's run). Optional:
// without python3 or torch the bench says so in one line and carries on. Nothing in `npm test` uses it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What torch-lora-step.py writes with --json (the fields the bench reads; --json carries all of them). */
export interface TorchStep {
  torch: string;
  device: string;
  dtype: string;
  /** 'dense f32', or 'nf4 (bitsandbytes …)' when bitsandbytes imports on a CUDA machine. */
  base: string;
  batch: string;
  labels: string;
  steps: number;
  warmup: number;
  msPerStep: number;
  msPerStepMedian: number;
  tokensPerSecond: number;
}

/** A step's torch figure in the bench's --json: the script's figures and entrotune/torch tokens/s, or why there are none. */
export type TorchFigure = (TorchStep & { ratio: number }) | { skipped: string };

const python = () => process.env.PYTHON ?? 'python3';
const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).pop() ?? '';

/** Why the comparison cannot run here (one line), or null when python3 imports torch. */
export function torchMissing(): string | null {
  const r = spawnSync(python(), ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) return `${python()} cannot be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `${python()} cannot import torch (${lastLine(r.stderr) || `exit ${r.status}`})`;
  return null;
}

/**
 * One torch LoRA step profile of `config` at B×T: r = 8, alpha = 16, f32, loss on the second half of
 * each row as the bench's batch has it, NF4 base weights when bitsandbytes imports (else dense).
 * The script's own line goes to stderr with the bench's progress.
 */
export function torchStep(script: string, config: string, B: number, T: number): TorchStep | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'entrotune-torch-'));
  const out = join(dir, 'step.json');
  try {
    const args = [script, '--config', config, '--shape', `${B}x${T}`, '--labels', 'half', '--dtype', 'f32', '--r', '8', '--alpha', '16', '--nf4', '--json', out];
    const r = spawnSync(python(), args, { encoding: 'utf8', stdio: ['ignore', 2, 'pipe'], timeout: 1_800_000, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    if (r.error) return { error: `${python()} ${script}: ${r.error.message}` };
    if (r.status !== 0) return { error: `torch-lora-step.py exited with ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
    return JSON.parse(readFileSync(out, 'utf8')) as TorchStep;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The line printed under entrotune's step, and what --json carries for it. */
export function torchCompare(entrotuneTokensPerSecond: number, t: TorchStep | { error: string }): { line: string; figure: TorchFigure } {
  if ('error' in t) return { line: `torch reference failed: ${t.error}`, figure: { skipped: t.error } };
  const ratio = entrotuneTokensPerSecond / t.tokensPerSecond;
  return {
    line:
      `torch reference (torch ${t.torch}, ${t.device}, ${t.dtype}, base ${t.base}, lm_head on the trained half): ` +
      `${t.msPerStep.toFixed(1)} ms/step (median ${t.msPerStepMedian.toFixed(1)} of ${t.steps}), ${t.tokensPerSecond.toFixed(1)} tokens/s; ` +
      `entrotune / torch = ${ratio < 0.01 ? ratio.toExponential(2) : ratio.toFixed(3)}×`,
    figure: { ...t, ratio },
  };
}
