// The WebLLM teacher's worker: WebLLM's own engine behind its own message protocol (src/teacher/webllm.ts
// is the other side). Terminating this worker frees the teacher's GPU memory before the student trains.
import { WebWorkerMLCEngineHandler } from '@mlc-ai/web-llm';

const handler = new WebWorkerMLCEngineHandler();
self.onmessage = (e: MessageEvent) => handler.onmessage(e);
