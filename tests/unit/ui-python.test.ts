// The results' Python snippet names the base model the run really used, never a made-up Hub id.
import { describe, expect, it } from 'vitest';
import { pythonBase } from '../../src/ui/python';

describe('pythonBase', () => {
  it('uses the Hub repo and revision, or says which folder holds the base model', () => {
    expect(pythonBase({ kind: 'hub', repo: 'Qwen/Qwen2.5-0.5B-Instruct' })).toEqual({ code: '"Qwen/Qwen2.5-0.5B-Instruct"', note: '' });
    expect(pythonBase({ kind: 'hub', repo: 'a/b', revision: 'v2' }).code).toBe('"a/b", revision="v2"');
    const url = pythonBase({ kind: 'url', baseUrl: 'http://localhost:5173/demo/model' });
    expect(url.code).toBe('"base-model"');
    expect(url.note).toContain('http://localhost:5173/demo/model');
    expect(pythonBase({ kind: 'files', folder: 'SmolLM2-135M-Instruct' }).note).toContain("SmolLM2-135M-Instruct is the base model's folder");
  });
});
