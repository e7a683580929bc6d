// One operation at a time per key: OPFS cannot hold two writables on one file at once (a second
// createWritable fails with NotFoundError or a write is lost), and distill() appends each teacher
// reply as it arrives, several at a time. Callers key by file path, so every store or sink object
// opened on the same file shares the queue.

const queues = new Map<string, Promise<unknown>>();

/** Run `fn` after every earlier call with the same key has settled; its result or error is returned as is. */
export function serialised(key: string, fn: () => Promise<void>): Promise<void> {
  const run = (queues.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}
