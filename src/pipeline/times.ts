// How long a run has taken, over every process that worked on it. A run that is stopped and resumed
// (a closed tab, a killed process, Pause) is timed by each process in turn; each keeps what it spends
// in the run's times.jsonl as it goes (a record per stretch: which clock, how many seconds), so the
// report sums the time of every process, not only of the last one. A process that is killed loses at
// most the seconds since its last flush (every FLUSH_SECONDS, and at the end of every stretch).

import type { RecordStore } from '../storage/records';

/** One stretch of time on one clock: "run", "train pipeline", "eval sft-all", … */
export interface TimeRecord {
  id: string;
  seconds: number;
}

/** Unsaved time is written at least this often while a clock runs. */
export const FLUSH_SECONDS = 10;

export class RunTimes {
  private readonly saved = new Map<string, number>();
  /** Clocks running now: since when their time is not saved. */
  private readonly running = new Map<string, number>();
  /** Time of stopped clocks that is not saved yet. */
  private readonly pending = new Map<string, number>();
  private lastFlush = performance.now();
  /** Writes started by background(), one after another; the first that failed. */
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  private constructor(private readonly store: RecordStore<TimeRecord>) {}

  /** The clocks of a run, with what earlier processes kept. */
  static async open(store: RecordStore<TimeRecord>): Promise<RunTimes> {
    const t = new RunTimes(store);
    for (const r of await store.load()) t.saved.set(r.id, (t.saved.get(r.id) ?? 0) + r.seconds);
    return t;
  }

  start(clock: string): void {
    this.running.set(clock, performance.now());
  }

  /** Stop a clock (its time is saved with the next flush). */
  stop(clock: string): void {
    const since = this.running.get(clock);
    if (since === undefined) return;
    this.running.delete(clock);
    this.pending.set(clock, (this.pending.get(clock) ?? 0) + (performance.now() - since) / 1000);
  }

  /** Seconds on a clock so far: every earlier process's and this one's, running or not. */
  total(clock: string): number {
    const since = this.running.get(clock);
    return (this.saved.get(clock) ?? 0) + (this.pending.get(clock) ?? 0) + (since === undefined ? 0 : (performance.now() - since) / 1000);
  }

  /** Save the time not saved yet, of running clocks too (they go on running). A write that background()
   *  started and that failed is thrown here. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
    await this.write();
  }

  private async write(): Promise<void> {
    const now = performance.now();
    const records: TimeRecord[] = [];
    for (const [id, s] of this.pending) if (s > 0) records.push({ id, seconds: s });
    for (const [id, since] of this.running) if (now > since) records.push({ id, seconds: (now - since) / 1000 });
    this.pending.clear();
    for (const id of this.running.keys()) this.running.set(id, now);
    for (const r of records) this.saved.set(r.id, (this.saved.get(r.id) ?? 0) + r.seconds);
    this.lastFlush = now;
    await this.store.append(records);
  }

  /** flush() when the last one is FLUSH_SECONDS old, from a callback that cannot wait (a training step,
   *  an evaluated batch): call it as often as you like. Its failure is kept for the next flush(). */
  background(): void {
    if ((performance.now() - this.lastFlush) / 1000 < FLUSH_SECONDS) return;
    this.lastFlush = performance.now(); // (one write in flight, not one per call until it lands)
    this.chain = this.chain.then(() => this.write()).catch((err: unknown) => {
      this.failure ??= err;
    });
  }
}
