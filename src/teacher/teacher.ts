// A teacher writes chain-of-thought answers for the hard questions. Four kinds plug in here: WebLLM
// in its own worker (browser), any OpenAI-compatible chat endpoint, entrotune's own engine with a
// larger model, and a rationale column already in the dataset; the offline demo adds a programmatic
// one. The pipeline only sees this interface.

import type { ChatMessage } from '../tokenizer/tokenizer';
import type { Question } from '../data/dataset';

export { TeacherError } from '../errors';

export interface TeacherRequest {
  messages: ChatMessage[];
  /** 0 = greedy. Retries after a wrong answer raise it. */
  temperature: number;
  maxTokens: number;
  /** For teachers that can seed their sampling; others ignore it. */
  seed?: number;
  /** The question the messages were made from (column and programmatic teachers answer from it). */
  question: Question;
}

export interface TeacherReply {
  text: string;
  /** Tokens the teacher generated, as it counted them (approximate when it does not say). */
  completionTokens: number;
  promptTokens?: number;
}

export interface Teacher {
  /** Stable identity for the answer cache, e.g. "http:http://127.0.0.1:8080/v1#qwen2.5-7b". */
  readonly id: string;
  /** How many requests the pipeline may have in flight at once. */
  readonly concurrency: number;
  /** Every attempt gets the same reply (a dataset column, a program): distill() then makes no retries
   *  unless it is told to. */
  readonly deterministic?: boolean;
  generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply>;
  /** Free what the teacher holds (the WebLLM teacher's GPU memory) before the student trains. */
  unload?(): Promise<void>;
}
