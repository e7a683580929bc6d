// How a trained adapter or model leaves the page as one download: its files in one ZIP (written by
// fflate) that unpacks into the folder PeftModel.from_pretrained() or from_pretrained() reads. Stored
// without compression (safetensors of f32 weights barely compress), with a fixed date (1980-01-01, the
// ZIP epoch) so the same files make the same download.

import { zipSync } from 'fflate';

export function zip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  return zipSync(Object.fromEntries(files.map((f) => [f.name, f.data])), { level: 0, mtime: new Date(1980, 0, 1) });
}
