// The WebLLM teacher (browser only: Worker, WebGPU): one of WebLLM's prebuilt MLC models (Qwen2.5-7B,
// Llama-3.1-8B, ...) in its own module worker (workers/webllm.worker.ts), through WebLLM's own worker protocol.
// The first load downloads the weights from huggingface.co (its large files redirect to the *.hf.co CDN)
// and the compiled model library from raw.githubusercontent.com; the browser's Cache Storage keeps both.
// @mlc-ai/web-llm (6 MB, 2 MB gzipped) is imported only when a teacher is created, so a page can list
// WEBLLM_TEACHERS without loading it.

import type { AppConfig, ChatCompletionMessageParam, WebWorkerMLCEngine } from '@mlc-ai/web-llm';
import { TeacherError, type Teacher, type TeacherReply, type TeacherRequest } from './teacher';

/**
 * Suggested teachers, all in web-llm 0.2.86's prebuilt list. q4f32 variants first: they run on every WebGPU
 * adapter, while q4f16 ones need the `shader-f16` feature that many adapters (SwiftShader, older drivers)
 * lack. GPU memory as WebLLM states it (vram_required_MB), for a 4k context.
 */
export const WEBLLM_TEACHERS: readonly string[] = [
  'Qwen2.5-1.5B-Instruct-q4f32_1-MLC', // 1.9 GB
  'Qwen2.5-3B-Instruct-q4f32_1-MLC', // 2.9 GB
  'Llama-3.2-3B-Instruct-q4f32_1-MLC', // 3.0 GB
  'Qwen2.5-7B-Instruct-q4f32_1-MLC', // 5.9 GB
  'Llama-3.1-8B-Instruct-q4f32_1-MLC', // 6.1 GB
  'Qwen2.5-7B-Instruct-q4f16_1-MLC', // 5.1 GB, needs shader-f16
  'Llama-3.1-8B-Instruct-q4f16_1-MLC', // 5.0 GB, needs shader-f16
];

export interface WebllmProgress {
  /** WebLLM's own line: "Fetching param cache[3/38]: 412MB fetched. 9% completed, ...". */
  text: string;
  /** 0..1 over download, then again over loading onto the GPU and compiling the shaders. */
  progress: number;
}

export interface WebllmTeacherOptions {
  onProgress?: (p: WebllmProgress) => void;
  /** A model list other than WebLLM's prebuilt one (self-hosted weights and libraries). */
  appConfig?: AppConfig;
  /** Stops the download or load: the worker is terminated and the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

const OTHER_TEACHERS = "use the HTTP teacher (any OpenAI-compatible endpoint), entrotune's own engine with a larger model, or a rationale column of the dataset instead";

/** A Teacher backed by a WebLLM engine in its own worker, ready once this resolves. Failures are TeacherErrors. */
export async function webllmTeacher(modelId: string, o: WebllmTeacherOptions = {}): Promise<Teacher> {
  o.signal?.throwIfAborted();
  const { CreateWebWorkerMLCEngine, prebuiltAppConfig } = await import('@mlc-ai/web-llm').catch((e: unknown) => {
    throw new TeacherError(`could not load the WebLLM library: ${describe(e)}`, `reload the page, or ${OTHER_TEACHERS}`);
  });
  const appConfig = o.appConfig ?? prebuiltAppConfig;
  const record = appConfig.model_list.find((m) => m.model_id === modelId);
  if (!record) {
    const near = closeMatches(modelId, appConfig.model_list.map((m) => m.model_id));
    throw new TeacherError(
      `'${modelId}' is not a prebuilt WebLLM model${near.length ? `; close matches: ${near.join(', ')}` : ''}`,
      `pick one of WEBLLM_TEACHERS (e.g. ${WEBLLM_TEACHERS[0]}), or pass an appConfig whose model_list has it`,
    );
  }
  await checkWebGpu(modelId, appConfig);

  const worker = new Worker(new URL('../../workers/webllm.worker.ts', import.meta.url), { type: 'module' });
  // WebLLM never settles its promise if the worker script itself fails (a missing chunk, a syntax error).
  let onError: (e: ErrorEvent) => void = () => {};
  const workerFailed = new Promise<never>((_, reject) => {
    onError = (e) => reject(new Error(`the WebLLM worker failed to start: ${e.message || 'script error'}`));
    worker.addEventListener('error', onError);
  });
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(o.signal!.reason ?? new DOMException('loading the WebLLM teacher was stopped', 'AbortError'));
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
  let engine: WebWorkerMLCEngine | undefined;
  try {
    engine = await Promise.race([
      CreateWebWorkerMLCEngine(worker, modelId, {
        appConfig,
        initProgressCallback: (r) => o.onProgress?.({ text: r.text, progress: Math.min(1, Math.max(0, r.progress)) }),
      }),
      workerFailed,
      aborted,
    ]);
  } catch (e) {
    worker.terminate(); // whatever it allocated on the GPU goes with it
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw loadError(modelId, record.vram_required_MB, e);
  } finally {
    worker.removeEventListener('error', onError);
    o.signal?.removeEventListener('abort', onAbort);
  }

  return {
    id: `webllm:${modelId}`,
    concurrency: 1, // one engine, one sequence at a time
    async generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply> {
      if (!engine) throw new TeacherError(`the WebLLM teacher '${modelId}' was unloaded`, 'create it again with webllmTeacher()');
      signal?.throwIfAborted();
      const e = engine;
      const interrupt = () => e.interruptGenerate(); // the reply so far comes back; it is dropped below
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        const r = await e.chat.completions.create({
          messages: req.messages.map((m) => ({ role: m.role, content: m.content }) as ChatCompletionMessageParam),
          temperature: req.temperature,
          max_tokens: req.maxTokens,
          seed: req.seed,
          stream: false,
        });
        signal?.throwIfAborted();
        const text = r.choices[0]?.message.content ?? '';
        return { text, completionTokens: r.usage?.completion_tokens ?? 0, promptTokens: r.usage?.prompt_tokens };
      } catch (err) {
        signal?.throwIfAborted();
        if (err instanceof DOMException && err.name === 'AbortError') throw err;
        // WebLLM's worker protocol sends errors as strings ("ContextWindowSizeExceededError: ...").
        throw new TeacherError(
          `WebLLM '${modelId}' failed to generate: ${describe(err)}`,
          /ContextWindowSizeExceeded/.test(describe(err))
            ? 'lower maxTokens or shorten the questions: prompt plus reply must fit the 4k context'
            : `reload the page to restart the teacher, or ${OTHER_TEACHERS}`,
        );
      } finally {
        signal?.removeEventListener('abort', interrupt);
      }
    },
    async unload(): Promise<void> {
      const e = engine;
      engine = undefined;
      if (!e) return;
      // A wedged worker must not keep the student waiting: terminating it frees the device anyway.
      try {
        await Promise.race([e.unload(), new Promise((r) => setTimeout(r, 10_000))]);
      } finally {
        worker.terminate();
      }
    },
  };
}

/** No WebGPU, or an f16 model on an adapter without shader-f16: said before anything is downloaded. */
async function checkWebGpu(modelId: string, appConfig: AppConfig): Promise<void> {
  const adapter = typeof navigator !== 'undefined' && navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) {
    throw new TeacherError(
      `the WebLLM teacher '${modelId}' needs WebGPU, and this browser gives no WebGPU adapter`,
      `use Chrome/Edge 113+ (on Linux with --enable-unsafe-webgpu), Safari 26+ or Firefox 141+ on Windows, or ${OTHER_TEACHERS}`,
    );
  }
  if (/q\df16/.test(modelId) && !adapter.features.has('shader-f16')) {
    const f32 = modelId.replace(/q(\d)f16/, 'q$1f32');
    const alt = appConfig.model_list.some((m) => m.model_id === f32) ? `use '${f32}' instead` : 'pick a q4f32 model from WEBLLM_TEACHERS';
    throw new TeacherError(`'${modelId}' computes in f16, and this GPU adapter has no shader-f16 feature`, alt);
  }
}

/** The TeacherError for a load that failed, by what WebLLM said. */
function loadError(modelId: string, vramMB: number | undefined, err: unknown): TeacherError {
  const msg = describe(err);
  if (/WebGPUNotAvailable|WebGPUNotFound/.test(msg)) {
    return new TeacherError(`the WebLLM teacher '${modelId}' found no WebGPU in its worker: ${msg}`, OTHER_TEACHERS);
  }
  if (/ShaderF16Support|shader-f16/.test(msg)) {
    return new TeacherError(`'${modelId}' needs the shader-f16 GPU feature, which this adapter lacks`, 'pick a q4f32 model from WEBLLM_TEACHERS');
  }
  if (/DeviceLost|out of memory|OOM/i.test(msg)) {
    return new TeacherError(
      `the GPU ran out of memory loading '${modelId}'${vramMB ? ` (it needs about ${(vramMB / 1024).toFixed(1)} GB)` : ''}: ${msg}`,
      `close other GPU tabs or pick a smaller model from WEBLLM_TEACHERS, or ${OTHER_TEACHERS}`,
    );
  }
  // Cache API and fetch failures: "TypeError: Failed to fetch", "Failed to execute 'add' on 'Cache': Request
  // failed", "... received status 404", "Cannot fetch <url>", Firefox's "NetworkError", Safari's "Load failed".
  if (/fetch|network|request failed|load failed|status \d{3}|failed to store|err_/i.test(msg)) {
    return new TeacherError(
      `could not download the WebLLM model '${modelId}' (${msg}). The WebLLM teacher needs network access to huggingface.co ` +
        `(and its download CDN *.hf.co) and raw.githubusercontent.com to download '${modelId}' once; the browser caches it after that`,
      `check the connection (and that no proxy, firewall or extension blocks those hosts), or ${OTHER_TEACHERS}`,
    );
  }
  return new TeacherError(`WebLLM could not load '${modelId}': ${msg}`, `see the browser console for WebLLM's log, or ${OTHER_TEACHERS}`);
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Up to `n` ids that look like `id`: those containing it (shortest first), else the nearest by edit distance. */
function closeMatches(id: string, ids: string[], n = 3): string[] {
  const q = id.toLowerCase();
  const containing = ids.filter((x) => x.toLowerCase().includes(q)).sort((a, b) => a.length - b.length);
  if (containing.length) return containing.slice(0, n);
  const scored = ids.map((x) => ({ x, d: editDistance(q, x.toLowerCase()) })).sort((a, b) => a.d - b.d);
  return scored.filter((s) => s.d <= Math.max(3, q.length / 3)).slice(0, n).map((s) => s.x);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
