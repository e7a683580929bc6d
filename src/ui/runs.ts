// How a stored run is named in the page.
import type { RunInfo } from '../engine/protocol';

export function describeRunLine(r: RunInfo): string {
  const when = new Date(r.updated).toLocaleString();
  const where = r.status === 'running' ? `was interrupted during ${r.phase}` : `was ${r.status} during ${r.phase}`;
  return `Run ${r.settings.id} (${r.settings.model.name}, ${r.settings.data.name}: ${r.counts.train} training + ${r.counts.test} held-out questions; ${r.settings.methods.join(', ')}) ${where} at ${when}. Resuming reuses its scores, teacher replies and checkpoints.`;
}
