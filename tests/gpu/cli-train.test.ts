// The train CLI end to end: a few steps on the committed sample dataset, a PEFT adapter out, and a
// second run that resumes from the checkpoint instead of starting over.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli';
import { memorySource } from '../../src/model/bytes';
import { readSafetensorsHeader } from '../../src/model/safetensors';

describe('entrotune train', () => {
  it('trains on multiple-choice questions, writes a PEFT adapter, and resumes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-train-'));
    const args = ['train', '--model', 'tests/fixtures/tiny/llama', '--data', 'tests/fixtures/data/arith-sample.jsonl', '--out', out, '--batch', '8', '--max-steps', '2', '--checkpoint-every', '1', '--lr', '1e-2'];
    const r = await run(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained 2 steps/);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, base_model_name_or_path: 'tests/fixtures/tiny/llama' });
    const { tensors } = await readSafetensorsHeader(memorySource('a', readFileSync(join(out, 'adapter_model.safetensors'))));
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([8, 64]);
    expect(tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')!.shape).toEqual([64, 8]);
    expect(tensors.size).toBe(2 * 7 * 2);
    const again = await run(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming from step 2/);
  });

  it('refuses a chat JSONL with a malformed line before loading the model, naming the file and the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrotune-train-bad-'));
    const data = join(dir, 'chat.jsonl');
    const good = JSON.stringify({ messages: [{ role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: '4' }] });
    writeFileSync(data, `${good}\n${good.slice(0, 40)}\n${good}\n`);
    const out = join(dir, 'out');
    // The model folder does not exist: the data error comes first, so nothing would be downloaded.
    const r = await run(['train', '--model', join(dir, 'no-such-model'), '--data', data, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^DatasetError: chat\.jsonl, line 2: not valid JSON \(.+\)\nHINT: each line must be \{"messages"/m);
    expect(existsSync(out)).toBe(false);

    writeFileSync(data, `${good}\n${JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] })}\n`);
    const last = await run(['train', '--model', join(dir, 'no-such-model'), '--data', data, '--out', out]);
    expect(last.stderr).toMatch(/DatasetError: chat\.jsonl, line 2: the last message is the user's; it must be the assistant's answer/);

    const missing = await run(['train', '--model', join(dir, 'no-such-model'), '--data', join(dir, 'nope.jsonl'), '--out', out]);
    expect(missing.stderr).toMatch(/DatasetError: .*nope\.jsonl: does not exist/);
    expect(existsSync(out)).toBe(false);
  });
});
