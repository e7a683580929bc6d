// A model of any published shape with synthetic BF16 weights, generated on read (nothing held in
// memory): lets the benchmark measure load, prefill and decode of e.g. Qwen2.5-0.5B from its
// config.json alone, where no weights can be downloaded.

import { memorySource, type ByteSource } from '../../src/model/bytes';
import { fromHfConfig, weightShapes } from '../../src/model/config';
import type { ModelFiles } from '../../src/model/model-files';

export function syntheticModelFiles(config: Record<string, unknown>): ModelFiles {
  const cfg = fromHfConfig(config);
  const header: Record<string, unknown> = {};
  const ranges: { begin: number; end: number; norm: boolean }[] = [];
  let offset = 0;
  for (const [name, shape] of weightShapes(cfg)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    ranges.push({ begin: offset, end: offset + bytes, norm: name.endsWith('norm.weight') });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  const dataStart = head.byteLength;
  const weights: ByteSource = {
    name: 'model.safetensors',
    size: dataStart + offset,
    async read(at, length) {
      const out = new Uint8Array(length);
      const h = Math.max(0, Math.min(length, dataStart - at));
      if (h > 0) out.set(head.subarray(at, at + h));
      // Data: BF16 values, little-endian. Norm weights are 1.0; others hash(index) in ±0.03.
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      let r = 0;
      for (let i = h; i < length; i += 2) {
        const pos = at + i - dataStart;
        while (r < ranges.length - 1 && pos >= ranges[r].end) r++;
        let bits = 0x3f80;
        if (!ranges[r].norm) {
          let x = Math.imul((pos >>> 1) ^ 0x9e3779b9, 0x85ebca6b);
          x ^= x >>> 13;
          const v = ((x & 0xffff) / 0xffff - 0.5) * 0.06;
          f32[0] = v;
          bits = u32[0] >>> 16;
        }
        out[i] = bits & 0xff;
        if (i + 1 < length) out[i + 1] = bits >>> 8;
      }
      return out;
    },
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  return {
    list: () => ['config.json', 'model.safetensors'],
    has: async (n) => n === 'config.json' || n === 'model.safetensors',
    json: async (n) => {
      if (n !== 'config.json') throw new Error(`synthetic model has no ${n}`);
      return JSON.parse(new TextDecoder().decode(configBytes));
    },
    // config.json as bytes too: a loaded model keeps its companion files (for export).
    bytes: async (n) => {
      if (n === 'config.json') return memorySource(n, configBytes);
      if (n !== 'model.safetensors') throw new Error(`synthetic model has no ${n}`);
      return weights;
    },
  };
}
