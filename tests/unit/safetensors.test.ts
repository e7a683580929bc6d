// The safetensors reader and writer: the real PyTorch fixture files (F32, BF16, F16 weights and I64
// references) against the shapes config.json implies, writer → reader round trips with exact 16-bit
// rounding, and every kind of damaged file giving a CorruptFileError that says what and where.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors';
import { memorySource, type ByteSource } from '../../src/model/bytes';
import { fromHfConfig, weightShapes } from '../../src/model/config';
import { floatToBf16Bits, floatToHalfBits, writeSafetensors } from '../../src/model/safetensors-write';
import {
  checkShapes,
  halfToFloat,
  readSafetensorsHeader,
  readTensorBytes,
  toBigInt64,
  toFloat32,
  toInt32Array,
  type StTensor,
} from '../../src/model/safetensors';

const FIXTURES = new URL('../fixtures/pytorch/', import.meta.url);
// `norm` holds the first values of model.norm.weight, decoded independently with Python's struct.
const CASES = [
  { name: 'llama-tiny', dtype: 'F32', norm: [1.0235697031021118, 0.9124804735183716, 1.1867097616195679] },
  { name: 'llama3-scaled-tied', dtype: 'BF16', norm: [1.265625, 1.03125, 1.0234375] },
  { name: 'qwen2-tiny', dtype: 'BF16', norm: [0.91015625, 0.8671875, 0.89453125] },
  { name: 'qwen3-tiny', dtype: 'F16', norm: [1.271484375, 1.0205078125, 1.03125] },
] as const;

const fixture = (dir: string, file: string) => readFileSync(new URL(`${dir}/${file}`, FIXTURES));

/** A ByteSource over a file in memory that counts how many bytes were asked for. */
function countingSource(name: string, bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const inner = memorySource(name, bytes);
  const src = {
    name,
    size: inner.size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      src.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return src;
}

/** Build a file from a raw header object (possibly invalid) and a data section. */
function rawFile(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

async function readError(name: string, bytes: Uint8Array): Promise<CorruptFileError> {
  try {
    await readSafetensorsHeader(memorySource(name, bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptFileError);
    return e as CorruptFileError;
  }
  throw new Error('expected a CorruptFileError');
}

describe('readSafetensorsHeader on the PyTorch fixtures', () => {
  for (const c of CASES) {
    it(`${c.name}: every tensor config.json implies is there with its shape (${c.dtype})`, async () => {
      const cfg = fromHfConfig(JSON.parse(fixture(c.name, 'config.json').toString('utf8')));
      const bytes = new Uint8Array(fixture(c.name, 'model.safetensors'));
      const src = countingSource('model.safetensors', bytes);
      const { tensors, metadata } = await readSafetensorsHeader(src);
      const N = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      expect(src.bytesRead).toBe(8 + N); // the length, the header, nothing else
      expect(metadata).toEqual({ format: 'pt' });

      const expected = weightShapes(cfg);
      expect(checkShapes('model.safetensors', tensors, expected, { dtypes: ['F32', 'F16', 'BF16'] })).toEqual([]);
      expect(tensors.size).toBe(expected.size);
      for (const [name, shape] of expected) {
        const t = tensors.get(name)!;
        expect(t.shape, name).toEqual(shape);
        expect(t.dtype, name).toBe(c.dtype);
      }
      // File order, back to back: the data section is exactly covered.
      const list = [...tensors.values()];
      expect(list[0].begin).toBe(8 + N);
      for (let i = 1; i < list.length; i++) expect(list[i].begin).toBe(list[i - 1].end);
      expect(list[list.length - 1].end).toBe(bytes.length);

      // Values decode exactly as Python decodes them, and look like weights.
      const norm = tensors.get('model.norm.weight')!;
      expect([...toFloat32(norm, await readTensorBytes(src, norm)).subarray(0, 3)]).toEqual(c.norm);
      const embed = tensors.get('model.embed_tokens.weight')!;
      const w = toFloat32(embed, await readTensorBytes(src, embed));
      expect(w.length).toBe(cfg.V * cfg.C);
      expect(w.every((x) => Number.isFinite(x) && Math.abs(x) < 10)).toBe(true);
      expect(w.some((x) => x !== 0)).toBe(true);
    });

    it(`${c.name}: reference.safetensors I64 token ids, labels and F32 outputs`, async () => {
      const src = memorySource('reference.safetensors', new Uint8Array(fixture(c.name, 'reference.safetensors')));
      const { tensors } = await readSafetensorsHeader(src);
      const ids = tensors.get('input_ids')!;
      const mask = tensors.get('attention_mask')!;
      const labels = tensors.get('labels')!;
      expect(ids.dtype).toBe('I64');
      expect(ids.shape.length).toBe(2);
      expect(mask.shape).toEqual(ids.shape);
      expect(labels.shape).toEqual(ids.shape);
      const cfg = fromHfConfig(JSON.parse(fixture(c.name, 'config.json').toString('utf8')));
      const idv = toInt32Array(ids, await readTensorBytes(src, ids));
      expect(idv.every((x) => x >= 0 && x < cfg.V)).toBe(true);
      const lab = toInt32Array(labels, await readTensorBytes(src, labels));
      expect(lab.includes(-100)).toBe(true); // the ignore index survives as a negative int64
      expect([...toBigInt64(labels, await readTensorBytes(src, labels))].map(Number)).toEqual([...lab]);
      const [B, T] = ids.shape;
      const logits = tensors.get('logits')!;
      expect(logits.dtype).toBe('F32');
      expect(logits.shape).toEqual([B, T, cfg.V]);
      const loss = toFloat32(tensors.get('loss')!, await readTensorBytes(src, tensors.get('loss')!));
      const ref = JSON.parse(fixture(c.name, 'reference.json').toString('utf8')) as { loss_value: number };
      expect(Math.abs(loss[0] - ref.loss_value)).toBeLessThan(1e-6 * ref.loss_value); // stored as F32
    });
  }
});

describe('writeSafetensors → readSafetensorsHeader round trip', () => {
  it('is exact for F32, I64, I32 and raw 16-bit bits, with metadata and an 8-byte-padded header', async () => {
    const f32 = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 9) - 4));
    f32[0] = -0;
    f32[1] = 3.4028234663852886e38;
    f32[2] = 1e-45; // f32 subnormal
    const i64 = BigInt64Array.from([0n, -100n, 2n ** 40n, -(2n ** 62n)]);
    const i32 = Int32Array.from([-2147483648, 0, 7, 2147483647, -100]);
    const bits = Uint16Array.from([0x0001, 0x3c00, 0x7bff, 0xfc00, 0x8000]);
    const file = writeSafetensors(
      [
        { name: 'odd', dtype: 'F16', shape: [5], data: bits }, // 10 bytes: the next tensor starts unaligned
        { name: 'w', dtype: 'F32', shape: [2, 3, 5], data: f32 },
        { name: 'ids', dtype: 'I64', shape: [2, 2], data: i64 },
        { name: 'lab', dtype: 'I32', shape: [5], data: i32 },
        { name: 'ids32', dtype: 'I64', shape: [5], data: i32 },
        { name: 'b', dtype: 'BF16', shape: [5], data: bits },
        { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
        { name: 'scalar', dtype: 'F32', shape: [], data: Float32Array.of(2.5) },
      ],
      { format: 'pt', note: 'ünïcode ✓' },
    );
    const N = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(N % 8).toBe(0);
    const src = memorySource('rt.safetensors', file);
    const { tensors, metadata } = await readSafetensorsHeader(src);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect([...tensors.keys()]).toEqual(['odd', 'w', 'ids', 'lab', 'ids32', 'b', 'empty', 'scalar']);
    const w = tensors.get('w')!;
    expect(w.begin).toBe(8 + N + 10);
    expect(w.begin % 4).not.toBe(0); // unaligned in the file; readTensorBytes copies
    const back = toFloat32(w, await readTensorBytes(src, w));
    expect(Object.is(back[0], -0)).toBe(true);
    expect(back).toEqual(f32);
    expect(toBigInt64(tensors.get('ids')!, await readTensorBytes(src, tensors.get('ids')!))).toEqual(i64);
    expect(toInt32Array(tensors.get('lab')!, await readTensorBytes(src, tensors.get('lab')!))).toEqual(i32);
    expect(toInt32Array(tensors.get('ids32')!, await readTensorBytes(src, tensors.get('ids32')!))).toEqual(i32);
    expect([...toFloat32(tensors.get('odd')!, await readTensorBytes(src, tensors.get('odd')!))]).toEqual([2 ** -24, 1, 65504, -Infinity, -0]);
    const b = tensors.get('b')!;
    expect([...new Uint16Array((await readTensorBytes(src, b)).buffer)]).toEqual([...bits]);
    expect(tensors.get('empty')!.end - tensors.get('empty')!.begin).toBe(0);
    expect(toFloat32(tensors.get('empty')!, await readTensorBytes(src, tensors.get('empty')!)).length).toBe(0);
    expect([...toFloat32(tensors.get('scalar')!, await readTensorBytes(src, tensors.get('scalar')!))]).toEqual([2.5]);
  });

  it('rounds F16 and BF16 to nearest even', async () => {
    // 1/3: f32 0x3EAAAAAB. BF16 keeps the top 16 bits 0x3EAA and rounds up (0xAAAB > 0x8000) → 0x3EAB;
    // F16 mantissa 0x2AAAAB: the 13 dropped bits 0x0AAB < 0x1000 → down → 0x3555.
    const x = Float32Array.from([
      1 / 3,
      1 + 2 ** -11, // F16 tie between 1 and 1+2^-10: even → 1
      1 + 3 * 2 ** -11, // F16 tie: even → 1 + 2^-9
      1 + 2 ** -8, // BF16 tie between 1 and 1+2^-7: even → 1
      1 + 3 * 2 ** -8, // BF16 tie: even → 1 + 2^-6
      65504, // F16 max
      65520, // F16: tie between 65504 and 65536 (=inf) → inf
      2 ** -24, // smallest F16 subnormal
      2 ** -25, // tie between 0 and 2^-24 → 0
      1.5 * 2 ** -25, // above the tie → 2^-24
      3 * 2 ** -25, // tie between 2^-24 and 2^-23 → 2^-23 (even)
      2 ** -14 - 2 ** -25, // largest subnormal + half ulp: tie → rounds up into the smallest normal
      -2,
      Infinity,
      NaN,
    ]);
    const file = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [x.length], data: x },
      { name: 'b', dtype: 'BF16', shape: [x.length], data: x },
    ]);
    const src = memorySource('r.safetensors', file);
    const { tensors } = await readSafetensorsHeader(src);
    const hBits = [...new Uint16Array((await readTensorBytes(src, tensors.get('h')!)).buffer)];
    const bBits = [...new Uint16Array((await readTensorBytes(src, tensors.get('b')!)).buffer)];
    expect(hBits.slice(0, 14)).toEqual([0x3555, 0x3c00, 0x3c02, 0x3c04, 0x3c0c, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0001, 0x0002, 0x0400, 0xc000, 0x7c00]);
    expect(hBits[14] & 0x7c00).toBe(0x7c00);
    expect(hBits[14] & 0x3ff).not.toBe(0);
    expect(bBits.slice(0, 7)).toEqual([0x3eab, 0x3f80, 0x3f80, 0x3f80, 0x3f82, 0x4780 /* 65536 */, 0x4780]);
    expect(bBits[12]).toBe(0xc000);
    expect(bBits[13]).toBe(0x7f80);
    expect(bBits[14] & 0x7f80).toBe(0x7f80);
    expect(bBits[14] & 0x7f).not.toBe(0);

    const h = toFloat32(tensors.get('h')!, await readTensorBytes(src, tensors.get('h')!));
    const b = toFloat32(tensors.get('b')!, await readTensorBytes(src, tensors.get('b')!));
    expect(h[0]).toBe(0.333251953125);
    expect(b[0]).toBe(0.333984375);
    expect(h[7]).toBe(2 ** -24);
    expect(Number.isNaN(h[14]) && Number.isNaN(b[14])).toBe(true);
  });

  it('matches a half-precision reference on every F16 bit pattern and random floats', () => {
    // Decoding then re-encoding every finite half is the identity.
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = halfToFloat(bits);
      if (Number.isNaN(v)) continue;
      expect(floatToHalfBits(v)).toBe(bits);
    }
    // Encoding picks the nearest half (ties: even mantissa), checked by brute force around each value.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround((rnd() - 0.5) * 2 ** (rnd() * 40 - 26));
      const h = floatToHalfBits(x);
      const err = Math.abs(halfToFloat(h) - x);
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) >= 0x7c00 || n < 0 || ((n ^ h) & 0x8000)) continue;
        const e2 = Math.abs(halfToFloat(n) - x);
        expect(err < e2 || (err === e2 && (h & 1) === 0)).toBe(true);
      }
      const b = floatToBf16Bits(x);
      const f = new Float32Array(new Uint32Array([b << 16]).buffer)[0];
      expect(Math.abs(f - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -8);
    }
  });
});

describe('damaged files give a CorruptFileError naming the file, the tensor and the bytes', () => {
  const good = () => writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
    { name: 'b', dtype: 'BF16', shape: [4], data: new Float32Array(4) },
  ]);

  it('file shorter than 8 bytes', async () => {
    const e = await readError('tiny.safetensors', new Uint8Array(5));
    expect(e.message).toMatch(/tiny\.safetensors: 5 bytes is too short/);
    expect(e.message).toMatch(/HINT:/);
  });

  it('header length of 2^40 fails before reading it', async () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
    const src = countingSource('huge.safetensors', bytes);
    await expect(readSafetensorsHeader(src)).rejects.toThrow(CorruptFileError);
    await expect(readSafetensorsHeader(src)).rejects.toThrow(/huge\.safetensors: header length 1099511627776 .*exceeds/);
    expect(src.bytesRead).toBe(16); // just the 8-byte length, twice
    new DataView(bytes.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expect((await readError('max.safetensors', bytes)).message).toMatch(/header length 18446744073709551615/);
  });

  it('header length past the end of the file', async () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expect((await readError('m.safetensors', bytes)).message).toMatch(/header length \d+ .*runs past the end of the file/);
  });

  it('header that is not JSON, not UTF-8, or not an object', async () => {
    expect((await readError('m.safetensors', rawFile('{"a": {"dtype": '))).message).toMatch(/m\.safetensors: header \(bytes 8–\d+\) is not valid UTF-8 JSON/);
    const bad = rawFile('{"a":1}    ');
    bad[10] = 0xff; // invalid UTF-8 byte
    expect((await readError('m.safetensors', bad)).message).toMatch(/not valid UTF-8 JSON/);
    expect((await readError('m.safetensors', rawFile([1, 2]))).message).toMatch(/not a JSON object/);
    expect((await readError('m.safetensors', rawFile({ __metadata__: { format: 1 } }))).message).toMatch(/__metadata__\["format"\]/);
  });

  it('truncated in the data section', async () => {
    const bytes = good();
    const e = await readError('model-00001-of-00002.safetensors', bytes.subarray(0, bytes.length - 3));
    expect(e.message).toMatch(/model-00001-of-00002\.safetensors: tensor b: data_offsets \[24, 32\] \(file bytes \d+–\d+\) ends past the end of the data section.*truncated/);
    expect(e.file).toBe('model-00001-of-00002.safetensors');
  });

  it('offsets out of range or reversed', async () => {
    expect((await readError('m.safetensors', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 8))).message).toMatch(/tensor x: data_offsets \[8, 16\].*ends past the end/);
    expect((await readError('m.safetensors', rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8))).message).toMatch(/tensor x: .*begin after end/);
    expect((await readError('m.safetensors', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, -8] } }, 8))).message).toMatch(/tensor x: data_offsets \[0,-8\] is not a pair/);
    expect((await readError('m.safetensors', rawFile({ x: { dtype: 'F32', shape: [2] } }, 8))).message).toMatch(/tensor x: data_offsets undefined/);
  });

  it('overlapping tensors', async () => {
    const e = await readError('m.safetensors', rawFile({
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      c: { dtype: 'F16', shape: [4], data_offsets: [20, 28] },
    }, 28));
    expect(e.message).toMatch(/tensors b \(file bytes \d+–\d+\) and c \(file bytes \d+–\d+\) overlap/);
  });

  it('size not matching shape × dtype, and bad shapes', async () => {
    const e = await readError('m.safetensors', rawFile({ w: { dtype: 'BF16', shape: [3, 4], data_offsets: [0, 48] } }, 48));
    expect(e.message).toMatch(/tensor w: data_offsets \[0, 48\] \(file bytes \d+–\d+\) holds 48 bytes, but shape \[3,4\] of BF16 needs 24/);
    expect((await readError('m.safetensors', rawFile({ w: { dtype: 'F32', shape: [2.5], data_offsets: [0, 10] } }, 10))).message).toMatch(/tensor w: shape \[2.5\] is not a list of non-negative integers/);
    expect((await readError('m.safetensors', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }))).message).toMatch(/tensor w: shape/);
  });

  it('unknown dtype, naming it and listing the supported ones', async () => {
    const e = await readError('m.safetensors', rawFile({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4));
    expect(e.message).toMatch(/tensor w: dtype "F8_E4M3" is not supported \(supported: F64, F32, F16, BF16, I64, I32, U8, I8, BOOL\)/);
  });
});

describe('checkShapes', () => {
  const t = (name: string, shape: number[]): [string, StTensor] => [name, { name, dtype: 'BF16', shape, begin: 100, end: 100 + 2 * shape.reduce((a, b) => a * b, 1) }];
  const tensors = new Map([t('x', [4, 8]), t('y', [8]), t('extra', [1])]);

  it('returns the extra tensors when everything expected is right', () => {
    expect(checkShapes('m.safetensors', tensors, new Map([['x', [4, 8]], ['y', [8]]]))).toEqual(['extra']);
  });

  it('names the tensor whose shape disagrees, and lists missing ones', () => {
    expect(() => checkShapes('m.safetensors', tensors, new Map([['x', [8, 4]]]))).toThrow(/m\.safetensors: tensor x \(file bytes 100–164\) has shape \[4,8\], config\.json implies \[8,4\]/);
    expect(() => checkShapes('m.safetensors', tensors, new Map([['y', [8, 1]]]))).toThrow(CorruptFileError);
    expect(() => checkShapes('m.safetensors', tensors, new Map([['x', [4, 8]], ['q', [1]], ['k', [2]]]))).toThrow(/missing 2 tensor\(s\) that config\.json implies: q, k/);
    expect(() => checkShapes('m.safetensors', tensors, new Map([['x', [4, 8]]]), { dtypes: ['F32'] })).toThrow(/tensor x is BF16; expected one of F32/);
  });

  it('catches a checkpoint that disagrees with its config.json', async () => {
    const cfg = fromHfConfig(JSON.parse(fixture('qwen2-tiny', 'config.json').toString('utf8')));
    const src = memorySource('model.safetensors', new Uint8Array(fixture('llama-tiny', 'model.safetensors')));
    const { tensors } = await readSafetensorsHeader(src);
    expect(() => checkShapes(src.name, tensors, weightShapes(cfg))).toThrow(/missing \d+ tensor\(s\).*q_proj\.bias/);
  });
});
