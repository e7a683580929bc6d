// Step 4's list of WebLLM teachers, asked of the worker when the page starts. When the worker cannot
// answer, the page says so (an empty list would read as "no teachers to offer").

import type { Engine } from '../engine/protocol';

export interface TeacherList {
  offer(ids: string[]): void;
  fail(err: unknown): void;
}

export async function offerTeachers(engine: Pick<Engine, 'teachers'>, view: TeacherList): Promise<void> {
  let teachers: Awaited<ReturnType<Engine['teachers']>>;
  try {
    teachers = await engine.teachers();
  } catch (err) {
    view.fail(err);
    return;
  }
  view.offer(teachers.webllm);
}
