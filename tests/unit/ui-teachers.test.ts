// The page's list of WebLLM teachers: when the worker cannot give it, the page is told (an empty
// list would read as "nothing to offer").
import { describe, expect, it } from 'vitest';
import { TeacherError } from '../../src/errors';
import { offerTeachers } from '../../src/ui/teachers';

describe('the WebLLM teacher list on the page', () => {
  it('offers what the worker lists, and shows the error when it cannot list them', async () => {
    const seen: string[] = [];
    const view = { offer: (ids: string[]) => seen.push(`offer ${ids.join(',')}`), fail: (e: unknown) => seen.push(`fail ${(e as Error).name}: ${(e as Error).message}`) };
    await offerTeachers({ teachers: async () => ({ webllm: ['Qwen2.5-1.5B-Instruct-q4f32_1-MLC'] }) }, view);
    await offerTeachers({ teachers: async () => { throw new TeacherError('the worker could not list the WebLLM models'); } }, view);
    expect(seen).toEqual(['offer Qwen2.5-1.5B-Instruct-q4f32_1-MLC', 'fail TeacherError: the worker could not list the WebLLM models']);
  });
});
