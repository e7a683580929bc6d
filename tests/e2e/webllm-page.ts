// Test page for the WebLLM teacher: window.createTeacher(id) tries to load it and returns what happened
// (the error's class, name and message, the progress lines, and how many workers were made and terminated).
import { WEBLLM_TEACHERS, webllmTeacher, type WebllmProgress } from '../../src/teacher/webllm';

const workers = { created: 0, terminated: 0 };
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  constructor(url: string | URL, opts?: WorkerOptions) {
    super(url, opts);
    workers.created++;
  }
  override terminate(): void {
    workers.terminated++;
    super.terminate();
  }
};

export interface CreateResult {
  ok: boolean;
  error?: { cls: string; name: string; message: string };
  progress: WebllmProgress[];
  workers: { created: number; terminated: number };
}

const w = window as unknown as {
  createTeacher: (id: string) => Promise<CreateResult>;
  suggestedNotPrebuilt: () => Promise<string[]>;
};
w.suggestedNotPrebuilt = async () => {
  const { prebuiltAppConfig } = await import('@mlc-ai/web-llm');
  return WEBLLM_TEACHERS.filter((id) => !prebuiltAppConfig.model_list.some((m) => m.model_id === id));
};
w.createTeacher = async (id) => {
  const progress: WebllmProgress[] = [];
  try {
    const t = await webllmTeacher(id, { onProgress: (p) => progress.push(p) });
    await t.unload?.();
    return { ok: true, progress, workers: { ...workers } };
  } catch (e) {
    const err = e as Error;
    return { ok: false, error: { cls: err.constructor.name, name: err.name, message: err.message }, progress, workers: { ...workers } };
  }
};
document.getElementById('status')!.textContent = 'ready';
