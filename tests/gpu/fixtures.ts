// Reading the PyTorch reference fixtures (tests/fixtures/pytorch) and comparing against them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memorySource } from '../../src/model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32, toInt32Array } from '../../src/model/safetensors';
import { fromHfConfig } from '../../src/model/config';

const DIR = join(__dirname, '../fixtures/pytorch');

export async function readFixture(name: string) {
  const file = (f: string) => memorySource(f, readFileSync(join(DIR, name, f)));
  const all = async (f: string) => {
    const src = file(f);
    const { tensors } = await readSafetensorsHeader(src);
    const out = new Map<string, { shape: number[]; f32: Float32Array; i32?: Int32Array }>();
    for (const [n, t] of tensors) {
      const bytes = await readTensorBytes(src, t);
      out.set(n, { shape: t.shape, f32: t.dtype === 'I64' ? new Float32Array(0) : toFloat32(t, bytes), i32: t.dtype === 'I64' ? toInt32Array(t, bytes) : undefined });
    }
    return out;
  };
  const ref = await all('reference.safetensors');
  const [B, T] = ref.get('input_ids')!.shape;
  const ids = ref.get('input_ids')!.i32!, mask = ref.get('attention_mask')!.i32!;
  const rows = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * T, (b + 1) * T)).filter((_, t) => mask[b * T + t] === 1));
  return { ref, B, T, rows, model: await all('model.safetensors'), adapter: await all('adapter_model.safetensors'), config: fromHfConfig(JSON.parse(readFileSync(join(DIR, name, 'config.json'), 'utf8'))), info: JSON.parse(readFileSync(join(DIR, name, 'reference.json'), 'utf8')) };
}

/** ‖a − b‖ / ‖b‖ */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

export function entropyOf(logits: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - m);
  let h = 0;
  for (let i = 0; i < logits.length; i++) { const p = Math.exp(logits[i] - m) / z; if (p > 0) h -= p * Math.log(p); }
  return h;
}

