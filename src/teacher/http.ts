// A teacher behind any OpenAI-compatible chat completions endpoint: llama.cpp's server, Ollama, vLLM,
// LM Studio, hosted APIs. One POST per request; transient failures (network, timeout, 408, 429, 5xx)
// are retried with exponential backoff (Retry-After wins when the server sends it), while a refused
// key, an unknown model or a wrong URL stop at once with a TeacherError saying what to check. The API
// key lives only in this closure: it is sent as `Authorization: Bearer …` and never appears in the
// id, in an error message or in a log (server messages quoted in errors have it masked).

import { TeacherError } from '../errors';
import type { Teacher, TeacherReply, TeacherRequest } from './teacher';

export interface HttpTeacherOptions {
  /** Base URL (`http://127.0.0.1:8080`, `…/v1`) or the full `…/chat/completions` URL. */
  url: string;
  /** The `model` field of each request (llama.cpp ignores it; Ollama and hosted APIs need it). */
  model: string;
  /** Sent as `Authorization: Bearer <key>`; kept in memory only. */
  apiKey?: string;
  /** Requests in flight at once (default 4); further generate() calls wait their turn. */
  concurrency?: number;
  /** Extra attempts after a transient failure (default 3). */
  retries?: number;
  /** Per attempt, response body included (default 120 s). */
  timeoutMs?: number;
  /** First backoff delay; doubled on every retry, plus up to 25% jitter (default 1 s). */
  backoffMs?: number;
  /** Longest wait between attempts, a server's Retry-After included (default 60 s). */
  maxBackoffMs?: number;
  fetch?: typeof fetch;
}

/** `base` is what the id names (usually ending in /v1); `endpoint` is where requests go. */
export function normaliseTeacherUrl(url: string): { base: string; endpoint: string } {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new TeacherError(`'${url}' is not a URL`, 'give the teacher a URL like http://127.0.0.1:8080/v1');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TeacherError(`teacher URL '${url}' is not http(s)`, 'give the teacher a URL like http://127.0.0.1:8080/v1');
  }
  u.hash = '';
  const path = u.pathname.replace(/\/+$/, '');
  const base = path.endsWith('/chat/completions') ? path.slice(0, -'/chat/completions'.length) : path.endsWith('/v1') ? path : `${path}/v1`;
  const origin = `${u.protocol}//${u.host}`;
  return { base: `${origin}${base}`, endpoint: `${origin}${base}/chat/completions${u.search}` };
}

/** A teacher that POSTs to an OpenAI-compatible `/chat/completions`. */
export function httpTeacher(o: HttpTeacherOptions): Teacher {
  const { base, endpoint } = normaliseTeacherUrl(o.url);
  const model = o.model.trim();
  if (!model) throw new TeacherError('the HTTP teacher needs a model name', `add one after '#' (e.g. ${base}#qwen2.5:7b); llama.cpp accepts any name`);
  const concurrency = wholeNumber(o.concurrency ?? 4, 'concurrency', 1);
  const retries = wholeNumber(o.retries ?? 3, 'retries', 0);
  const timeoutMs = o.timeoutMs ?? 120_000;
  if (!(timeoutMs > 0)) throw new TeacherError(`teacher timeoutMs must be positive, got ${timeoutMs}`, 'pass the longest wait for one answer, in milliseconds');
  const backoffMs = o.backoffMs ?? 1000;
  const maxBackoffMs = o.maxBackoffMs ?? 60_000;
  // A plain reference to window.fetch must be called with the right `this` ("Illegal invocation").
  const doFetch = o.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const apiKey = o.apiKey?.trim() || undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const mask = (s: string) => (apiKey ? s.split(apiKey).join('***') : s);
  const limiter = new Limiter(concurrency);
  const where = `the teacher at ${endpoint} (model '${model}')`;

  /** One attempt: the reply, or `{ retry }` for a failure that another attempt may fix. */
  const attempt = async (body: string, signal: AbortSignal | undefined): Promise<TeacherReply | { retry: string; after?: number }> => {
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, timeoutMs);
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort);
    try {
      let res: Response;
      let text: string;
      try {
        res = await doFetch(endpoint, { method: 'POST', headers, body, signal: ctrl.signal });
        text = await res.text();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (timedOut) return { retry: `no answer within ${timeoutMs} ms` };
        return { retry: mask(networkCause(err)) };
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        return { retry: `HTTP ${res.status}${serverMessage(text, mask)}`, after: retryAfterMs(res.headers.get('retry-after')) };
      }
      if (!res.ok) throw statusError(res.status, serverMessage(text, mask));
      return readReply(text);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const statusError = (status: number, said: string): TeacherError => {
    const what = `${where} answered HTTP ${status}${said}`;
    if (status === 401 || status === 403) {
      return new TeacherError(what, apiKey ? `check the API key (it was refused) and that it may use model '${model}'` : 'this endpoint needs an API key: give the teacher one');
    }
    if (status === 404) return new TeacherError(what, `check the URL (the base usually ends in /v1; GET ${base}/models should answer) and the model name '${model}'`);
    return new TeacherError(what, `check the model name '${model}' (GET ${base}/models lists them) and that the server accepts temperature, max_tokens and seed`);
  };

  const readReply = (text: string): TeacherReply => {
    let json: ChatCompletion;
    try {
      json = JSON.parse(text) as ChatCompletion;
    } catch {
      json = {};
    }
    const message = json.choices?.[0]?.message;
    if (!message) {
      throw new TeacherError(`${where} did not answer like an OpenAI chat endpoint${serverMessage(text, mask)}`, `check the URL: POST ${endpoint} must return {"choices": [{"message": …}]}`);
    }
    const content = typeof message.content === 'string' ? message.content : '';
    const usage = json.usage;
    return {
      text: content,
      // Servers that omit usage get an estimate: about four characters per token in English text.
      completionTokens: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : Math.ceil(content.length / 4),
      ...(typeof usage?.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
    };
  };

  return {
    id: `http:${base}#${model}`,
    concurrency,
    generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply> {
      const body = JSON.stringify(requestBody(model, req));
      return limiter.run(signal, async () => {
        let last = '';
        for (let i = 0; i <= retries; i++) {
          if (signal?.aborted) throw signal.reason;
          const r = await attempt(body, signal);
          if (!('retry' in r)) return r;
          last = r.retry;
          if (i < retries) {
            const backoff = backoffMs * 2 ** i * (1 + 0.25 * Math.random());
            await sleep(Math.min(maxBackoffMs, r.after ?? backoff), signal);
          }
        }
        throw new TeacherError(
          `${where} failed ${retries + 1} times; last: ${last}`,
          'check that the server is running and reachable from here (in a browser it must allow this origin: CORS, e.g. OLLAMA_ORIGINS), ' +
            'lower the teacher concurrency if it is overloaded, or raise timeoutMs for long answers; answers so far are kept, so a rerun resumes',
        );
      });
    },
  };
}

interface ChatCompletion {
  choices?: { message?: { content?: unknown } }[];
  usage?: { completion_tokens?: unknown; prompt_tokens?: unknown };
}

function requestBody(model: string, req: TeacherRequest) {
  return { model, messages: req.messages, temperature: req.temperature, max_tokens: req.maxTokens, ...(req.seed !== undefined ? { seed: req.seed } : {}) };
}

function wholeNumber(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new TeacherError(`teacher ${name} must be an integer ≥ ${min}, got ${v}`, `pass a whole number for ${name}`);
  return v;
}

/** ": <the server's own error message>", shortened, or '' when it said nothing useful. */
function serverMessage(text: string, mask: (s: string) => string): string {
  let said = text.trim();
  try {
    const j = JSON.parse(said) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message ?? j.detail);
    if (typeof m === 'string') said = m;
  } catch {
    // not JSON: quote the start of the text (an HTML error page, a proxy's message)
  }
  said = mask(said.replace(/\s+/g, ' ').trim());
  if (!said) return '';
  return `: ${said.length > 300 ? `${said.slice(0, 300)}…` : said}`;
}

/** fetch's TypeError says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, …). */
function networkCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = cause && (typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : '');
  return detail ? `${err.message} (${detail})` : err.message;
}

/** Retry-After as milliseconds: delay-seconds (fractions accepted) or an HTTP date; undefined if absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** At most `max` tasks at once; the rest wait in call order. A slot is held through a task's retries. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(); // the releasing task hands its slot over: `active` stays the same
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

// ---------------------------------------------------------------------------------------------------
// Teacher specs, as the CLI and the page take them

export type TeacherSpec =
  /** An OpenAI-compatible endpoint; `model` is 'default' when the spec names none. */
  | { kind: 'http'; url: string; model: string }
  /** entrotune's own engine with a (larger) model: a Hub repo id, URL or folder. */
  | { kind: 'own'; source: string }
  /** The dataset's own chain-of-thought column (`rationale` unless named). */
  | { kind: 'column'; field: string }
  /** A WebLLM model id (browser only). */
  | { kind: 'webllm'; model: string };

const SPEC_FORMS = "one of: http(s)://host:port/v1#model, own:<model repo, URL or folder>, column, column:<field>, webllm:<model id>";

/** Read a teacher spec; nothing is constructed or contacted here. */
export function parseTeacherSpec(spec: string): TeacherSpec {
  const s = spec.trim();
  if (/^https?:\/\//i.test(s)) {
    const hash = s.indexOf('#');
    const url = hash < 0 ? s : s.slice(0, hash);
    const model = hash < 0 ? '' : s.slice(hash + 1).trim();
    normaliseTeacherUrl(url); // throws on a malformed URL
    return { kind: 'http', url, model: model || 'default' };
  }
  const colon = s.indexOf(':');
  const kind = (colon < 0 ? s : s.slice(0, colon)).toLowerCase();
  const rest = colon < 0 ? '' : s.slice(colon + 1).trim();
  if (kind === 'column') {
    if (colon >= 0 && !rest) throw new TeacherError(`teacher '${spec}' names no column`, "write 'column' for the rationale field, or column:<field>");
    return { kind: 'column', field: rest || 'rationale' };
  }
  if (kind === 'own' || kind === 'webllm') {
    if (!rest) throw new TeacherError(`teacher '${spec}' names no model`, kind === 'own' ? 'write own:<Hub repo id, URL or folder>, e.g. own:Qwen/Qwen2.5-1.5B-Instruct' : 'write webllm:<model id>, e.g. webllm:Qwen2.5-7B-Instruct-q4f16_1-MLC');
    return kind === 'own' ? { kind, source: rest } : { kind, model: rest };
  }
  throw new TeacherError(`unknown teacher '${spec}'`, `give ${SPEC_FORMS}`);
}
