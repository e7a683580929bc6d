// The engine's list of runs never hides a run: a run.json that cannot be read is listed apart with
// its typed error (so the page can show it and offer Delete), and storage that fails is an error,
// not "no runs".
import { describe, expect, it } from 'vitest';
import { LocalEngine } from '../../src/engine/local-engine';
import { deserializeError } from '../../src/errors';
import { memorySink } from '../../src/pipeline/storage';
import { memoryRunFolders, opfsRunFolders, type RunFolders } from '../../src/storage/runs';
import { fakeOpfs } from './fake-opfs';

const engine = (runs: RunFolders) => new LocalEngine(async () => undefined, async () => memorySink(), runs);

const info = (id: string, updated: string) => JSON.stringify({
  version: 1, status: 'done', phase: 'done', created: updated, updated, counts: { train: 1, test: 1 },
  settings: { id, methods: [] },
});

describe('the list of runs', () => {
  it('lists a run whose run.json is damaged apart, with a CorruptFileError naming the file; opening it says the same', async () => {
    const runs = memoryRunFolders();
    await runs.open('good').write('run.json', info('good', '2026-01-02T00:00:00Z'));
    await runs.open('torn').write('run.json', info('torn', '2026-01-03T00:00:00Z').slice(0, 40));
    await runs.open('future').write('run.json', JSON.stringify({ version: 2 }));
    await runs.open('trained').sink('pipeline').then((s) => s.write('state.json', '{}')); // a train() folder: no run.json
    const e = engine(runs);
    const list = await e.listRuns();
    expect(list.runs.map((r) => r.settings.id)).toEqual(['good']);
    expect(list.unreadable.map((u) => u.id).sort()).toEqual(['future', 'torn']);
    const torn = deserializeError(list.unreadable.find((u) => u.id === 'torn')!.error);
    expect(torn).toMatchObject({ name: 'CorruptFileError', file: 'memory runs/torn/run.json', hint: expect.stringMatching(/delete the run/) });
    expect(deserializeError(list.unreadable.find((u) => u.id === 'future')!.error).message).toMatch(/run\.json: version 2; this entrotune reads version 1/);
    await expect(e.openRun('torn')).rejects.toMatchObject({ name: 'CorruptFileError', file: 'memory runs/torn/run.json' });
    expect(await e.openRun('missing')).toBeNull();
    // It can be deleted, and then it is gone.
    await e.deleteRun('torn');
    expect((await e.listRuns()).unreadable.map((u) => u.id)).toEqual(['future']);
  });

  it('a damaged checkpoint state.json of a run is a CorruptFileError when the run is opened, not a bare SyntaxError', async () => {
    const runs = memoryRunFolders();
    await runs.open('r').write('run.json', JSON.stringify({ ...JSON.parse(info('r', '2026-01-02T00:00:00Z')), settings: { id: 'r', methods: ['pipeline'] } }));
    await (await runs.open('r').sink('pipeline')).write('state.json', '{"step": 3, "losses": [2.1,');
    await expect(engine(runs).openRun('r')).rejects.toMatchObject({ name: 'CorruptFileError', file: 'memory runs/r/pipeline/state.json' });
  });

  it('an OPFS that fails is a StorageError naming the folder, not "no runs"', async () => {
    const denied = fakeOpfs((op) => (op === 'root' ? new DOMException('the storage is not allowed', 'SecurityError') : undefined));
    await expect(engine(opfsRunFolders('runs', denied.root)).listRuns()).rejects.toMatchObject({ name: 'StorageError', op: 'list', path: 'OPFS runs' });
    expect(await engine(opfsRunFolders('runs', fakeOpfs().root)).listRuns()).toEqual({ runs: [], unreadable: [] });
  });
});
