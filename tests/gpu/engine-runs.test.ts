// run.json is the run's record on the page (status, phase, the list of runs): a write of it that
// fails (a full quota, a broken disk) is the run's error, never dropped while the run goes on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitTrainTest } from '../../src/data/dataset';
import { parseDataset } from '../../src/data/formats';
import { PROMPTS } from '../../src/data/prompts';
import { LocalEngine } from '../../src/engine/local-engine';
import type { RunEvent, RunSettings } from '../../src/engine/protocol';
import { StorageError } from '../../src/errors';
import { memorySink } from '../../src/pipeline/storage';
import { memoryRunFolders, type RunFolders } from '../../src/storage/runs';

const TINY = join(__dirname, '../fixtures/tiny/llama');
const { questions } = parseDataset(readFileSync(join(__dirname, '../fixtures/data/arith-sample.jsonl'), 'utf8'), 'arith-sample.jsonl');
const data = splitTrainTest(questions.slice(0, 8), { testFraction: 0.25, seed: 1 });

const settings = (id: string): RunSettings => ({
  id,
  model: { name: 'tiny-llama', source: { kind: 'files', folder: 'tiny' } },
  data: { name: 'arith-sample.jsonl', testFraction: 0.25, invalid: 0 },
  prompt: PROMPTS.letters,
  teacher: { kind: 'column' },
  methods: ['sft-all'],
  order: 'mix',
  quantiles: [0.25, 0.75],
  train: { r: 4, alpha: 8, lr: 5e-3, dropout: 0, schedule: 'constant', warmupSteps: 0 },
  loop: { epochs: 1, batchSize: 2, accumulation: 1, checkpointEvery: 1 },
  distill: { retries: 0, maxTokens: 16 },
  eval: { maxNewTokens: 4, maxBatch: 8 },
  scoreBatch: 8,
  seed: 0,
});

/** Run folders in memory whose run.json writes fail, from the `from`-th on, as a full OPFS quota does. */
function runJsonFails(from: number): RunFolders {
  const inner = memoryRunFolders();
  let writes = 0;
  return {
    ...inner,
    open(id) {
      const st = inner.open(id);
      return {
        ...st,
        write: async (name, bytes) => {
          if (name === 'run.json' && ++writes >= from) throw new StorageError('write', `${st.where}/run.json`, 'QuotaExceededError: the quota has been exceeded', true);
          return st.write(name, bytes);
        },
      };
    },
  };
}

const engines: LocalEngine[] = [];
async function engineWith(runs: RunFolders): Promise<LocalEngine> {
  const e = new LocalEngine(async () => undefined, async () => memorySink(), runs);
  engines.push(e);
  await e.loadModel({ kind: 'dir', path: TINY }, { quant: 'none' });
  return e;
}
afterAll(async () => {
  for (const e of engines) await e.unloadModel();
});

describe('run.json writes', () => {
  it('a run.json that cannot be created fails scoring with the StorageError that names it', async () => {
    const e = await engineWith(runJsonFails(1));
    await expect(e.score(settings('s1'), data)).rejects.toMatchObject({ name: 'StorageError', path: 'memory runs/s1/run.json', full: true });
  });

  it('a phase update of run.json that fails mid-run stops the run with that error', async () => {
    const e = await engineWith(runJsonFails(3)); // 1: created, 2: running, 3: the phase "train sft-all"
    const events: RunEvent[] = [];
    await expect(e.runPipeline(settings('p1'), data, (ev) => events.push(ev))).rejects.toMatchObject({ name: 'StorageError', path: 'memory runs/p1/run.json' });
    // The failure itself could not be recorded either: the run says so beside the error.
    expect(events.some((ev) => ev.phase === 'status' && ev.status === 'failed' && /could not be recorded in run\.json/.test(ev.text))).toBe(true);
  });
});
