// A teacher running on entrotune's own engine: a larger model loaded with loadModel() (e.g. Qwen2.5-3B
// in NF4 teaching Qwen2.5-0.5B), generating with its KV cache. Model.generate() runs one sequence on
// one shared cache, so requests are served one at a time, in call order.

import type { Model } from '../model/model';
import type { Teacher, TeacherReply, TeacherRequest } from './teacher';

export interface OwnTeacherOptions {
  /**
   * Sequences to generate together. Model.generate() runs one sequence, so only 1 is used today;
   * the option is here so callers need not change when batched generation lands.
   */
  maxBatch?: number;
  /** Nucleus sampling for the retries that have a temperature (default 1: off). */
  topP?: number;
}

export function ownTeacher(model: Model, o: OwnTeacherOptions = {}): Teacher {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    id: `own:${model.name}`,
    concurrency: 1,
    generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply> {
      const run = async (): Promise<TeacherReply> => {
        if (signal?.aborted) throw signal.reason;
        try {
          const r = await model.generate(req.messages, {
            maxNewTokens: req.maxTokens,
            temperature: req.temperature,
            seed: req.seed,
            topP: o.topP,
            signal,
          });
          return { text: r.text, completionTokens: r.ids.length, promptTokens: r.promptTokens };
        } catch (err) {
          // Model.generate() reports a stop as an EntrotuneError; callers expect the signal's reason.
          if (signal?.aborted) throw signal.reason;
          throw err;
        }
      };
      // Chain on the previous request whether it succeeded or not: the cache is free again either way.
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    async unload(): Promise<void> {
      await queue;
      model.dispose();
    },
  };
}
