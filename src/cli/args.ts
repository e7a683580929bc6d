// Small helpers for the CLI: typed options with clear errors, progress lines on stderr.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Question } from '../data/dataset';
import { parseDataset } from '../data/formats';
import { PROMPTS, type LabelStyle } from '../data/prompts';
import { DatasetError, EntrotuneError } from '../errors';
import { createDevice, KERNEL_CHOICES, type Gpu, type KernelChoice } from '../gpu/device';
import { formatBytes } from '../gpu/memory';
import type { Quant } from '../model/quant';
import { RUN_DEFAULTS } from '../settings/defaults';

/** Thrown by parse() on --help or -h: the command's usage goes to stdout and the exit status is 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(usage);
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new EntrotuneError((err as Error).message, usage);
  }
}

export function num(v: string | undefined, name: string, fallback: number, check: (n: number) => boolean = Number.isFinite): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!check(n)) throw new EntrotuneError(`--${name} must be a valid number, got "${v}"`);
  return n;
}

export function quant(v: string | undefined): Quant | undefined {
  if (v === undefined) return undefined;
  if (v !== 'nf4' && v !== 'int8' && v !== 'none') throw new EntrotuneError(`--quant must be nf4, int8 or none, got "${v}"`);
  return v;
}

/** A progress line that rewrites itself on a terminal and prints every few seconds otherwise. */
export function progressLine(): (text: string, final?: boolean) => void {
  let last = 0;
  const tty = process.stderr.isTTY;
  return (text, final = false) => {
    const now = Date.now();
    if (!final && now - last < (tty ? 100 : 2000)) return;
    last = now;
    if (tty) process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
}

export function describeLoadProgress(p: { phase: string; bytes?: number; total?: number; file?: string; done?: number; tensor?: string }): string {
  if (p.phase === 'download') return `downloading ${p.file}: ${formatBytes(p.bytes ?? 0)} / ${formatBytes(p.total ?? 0)}`;
  return `loading weights ${p.done}/${p.total ?? '?'} ${p.tensor ?? ''}`;
}

/** A dataset file's text, or a DatasetError naming it (missing, a folder, unreadable). */
export async function readDataFile(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${(err as Error).message})`;
    throw new DatasetError(file, null, why, `check the path (relative paths start from ${process.cwd()})`);
  }
}

/** The questions of a dataset file (JSONL, JSON, CSV) and how many rows were refused: each is listed on
 *  stderr and skipped (or stops the run). */
export async function readQuestions(file: string, o: { limit?: number; onInvalid?: 'skip' | 'stop' } = {}): Promise<{ questions: Question[]; invalid: number }> {
  const { basename } = await import('node:path');
  const parsed = parseDataset(await readDataFile(file), basename(file), { onInvalid: o.onInvalid, stopHint: 'leave out --on-invalid stop (invalid rows are then listed and skipped)' });
  for (const bad of parsed.invalid) process.stderr.write(`skipped ${basename(file)} line ${bad.line}: ${bad.reason}\n`);
  const qs = o.limit ? parsed.questions.slice(0, o.limit) : parsed.questions;
  if (!qs.length) throw new EntrotuneError(`${file} has no valid questions`);
  return { questions: qs, invalid: parsed.invalid.length };
}

/** --prompt: letters (the default) or numbers. */
export function promptStyle(v: string | undefined): LabelStyle {
  const style = (v ?? RUN_DEFAULTS.prompt) as LabelStyle;
  if (!(style in PROMPTS)) throw new EntrotuneError(`--prompt must be letters or numbers, got "${v}"`);
  return style;
}

let kernels: KernelChoice = 'auto';

/**
 * Take the global `--kernels auto|gpu|software` out of argv (any position, any command) and keep it
 * for cliDevice(). Returns the other arguments.
 */
export function takeKernelsOption(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const inline = a.startsWith('--kernels=') ? a.slice('--kernels='.length) : null;
    if (a !== '--kernels' && inline === null) {
      out.push(a);
      continue;
    }
    const v = inline ?? argv[++i];
    if (!KERNEL_CHOICES.includes(v as KernelChoice)) throw new EntrotuneError(`--kernels must be ${KERNEL_CHOICES.join(', ')}, got "${v ?? ''}"`, 'auto picks the software set on CPU adapters and the GPU set elsewhere');
    kernels = v as KernelChoice;
  }
  return out;
}

/** The WebGPU device for a CLI command, with the kernel set chosen by --kernels (default auto). */
export function cliDevice(): Promise<Gpu> {
  return createDevice({ kernels });
}
