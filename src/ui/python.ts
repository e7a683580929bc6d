// The Python a user runs to use what a run trained, with the base model the run really used.

import type { RunModelSource } from '../engine/protocol';

/** The base model as Python's from_pretrained() can be given it: the Hub repo (and revision) the run
 *  used, or a folder holding the files the run read from a URL or from disk. */
export function pythonBase(source: RunModelSource): { code: string; note: string } {
  if (source.kind === 'hub') return { code: source.revision ? `"${source.repo}", revision="${source.revision}"` : `"${source.repo}"`, note: '' };
  if (source.kind === 'url') return { code: '"base-model"', note: `, where base-model is a folder holding the base model's files from ${source.baseUrl}` };
  return { code: `"${source.folder}"`, note: `, where ${source.folder} is the base model's folder you opened` };
}
