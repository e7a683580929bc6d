// Step 1: where the model comes from, its memory plan from config.json alone (the only file fetched
// before the person clicks Load), the download/load progress, the GPU, and the models kept in OPFS.

import * as Comlink from 'comlink';
import type { ProgressEvent, RunModelSource, RunSettings } from '../engine/protocol';
import { DownloadError } from '../errors';
import { quantName, type Quant } from '../model/quant';
import { requestPersistentStorage } from '../model/opfs-cache';
import { fileUrl, parseModelSource, type ModelSource } from '../model/sources';
import type { App } from './app';
import { $, describeError, el, formatBytes, input, radioPanels, radioValue, replace, setRadio, table } from './dom';
import { applyTrainDefaults, trainDefaults } from './settings';
import { RUN_DEFAULTS } from '../settings/defaults';

interface PickedSource {
  load: ModelSource;
  stored: RunModelSource;
}

function sourceFromForm(): PickedSource {
  const kind = radioValue('model-kind');
  if (kind === 'files') {
    const files = [...(input('model-folder').files ?? [])];
    if (!files.length) throw new Error('pick the model folder first');
    const rel = (files[0] as File & { webkitRelativePath?: string }).webkitRelativePath || files[0].name;
    return { load: { kind: 'files', files }, stored: { kind: 'files', folder: rel.split('/')[0] } };
  }
  const text = (kind === 'url' ? input('model-url') : input('model-hub')).value.trim();
  // A relative URL (a model next to the page) is made absolute here: the worker resolves nothing.
  const absolute = kind === 'url' && text && !/^https?:\/\//i.test(text) ? new URL(text, location.href).href : text;
  const src = parseModelSource(absolute, null);
  if (src.kind === 'hub') return { load: src, stored: src.revision ? { kind: 'hub', repo: src.repo, revision: src.revision } : { kind: 'hub', repo: src.repo } };
  if (src.kind === 'url') return { load: src, stored: { kind: 'url', baseUrl: src.baseUrl } };
  throw new Error('give a Hub repository (owner/name) or a URL');
}

function quantFromForm(): Quant | undefined {
  const v = ($('model-quant') as HTMLSelectElement).value;
  return v === 'auto' ? undefined : (v as Quant);
}

/** config.json of the chosen source: one small request (or a file read), nothing else. */
async function fetchConfig(src: ModelSource): Promise<unknown> {
  if (src.kind === 'files') {
    const f = src.files.filter((x) => x.name === 'config.json').sort((a, b) => ((a as File & { webkitRelativePath?: string }).webkitRelativePath ?? '').length - ((b as File & { webkitRelativePath?: string }).webkitRelativePath ?? '').length)[0];
    if (!f) throw new Error('the picked folder has no config.json');
    return JSON.parse(await f.text());
  }
  if (src.kind === 'dir') throw new Error('folders by path work in Node only');
  const url = fileUrl(src, 'config.json');
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    // fetch says only "Failed to fetch": offline, a wrong address, or a server without CORS headers.
    throw new DownloadError(
      `config.json: could not reach ${url} (${err instanceof Error ? err.message : String(err)})`,
      'check the connection and the model name; without a network, pick a model folder on this computer (Folder) or run the offline demo above, which needs none',
      true,
    );
  }
  if (!res.ok) throw new DownloadError(`config.json: HTTP ${res.status} at ${url}${res.status === 401 || res.status === 403 ? ' (a gated or private repository)' : ''}`, res.status === 404 ? 'check the repository name and revision' : 'open the repository page to see whether it needs a login, or try again later');
  return res.json();
}

export function initModelStep(app: App): void {
  radioPanels('model-kind', 'model-kind');
  const progressBar = $('model-progress') as HTMLProgressElement;
  const progressText = $('model-progress-text');

  $('model-plan').addEventListener('click', async () => {
    const out = $('model-plan-out');
    replace(out, 'Reading config.json…');
    try {
      const { load } = sourceFromForm();
      const config = await fetchConfig(load);
      const r = Number(input('hp-r').value) || RUN_DEFAULTS.train.r, batch = Number(input('hp-batch').value) || RUN_DEFAULTS.loop.batchSize, seqLen = 512;
      const probe = await app.engine.planTraining(config, { quant: 'nf4', batch, seqLen, r });
      const quant: Quant = quantFromForm() ?? (probe.parameters < 100e6 ? 'none' : 'nf4');
      const trainPlan = quant === 'nf4' ? probe : await app.engine.planTraining(config, { quant, batch, seqLen, r });
      const infer = await app.engine.planInference(config, quant, 8, seqLen);
      replace(out,
        el('p', {}, `${(trainPlan.parameters / 1e6).toFixed(1)}M parameters; base weights in ${quantName(quant)}. Scoring (8 × ${seqLen} tokens) needs ${formatBytes(infer.total)} of GPU memory; LoRA training (r ${r}, ${batch} × ${seqLen} tokens, ${(trainPlan.trainable / 1e6).toFixed(2)}M trainable) needs ${formatBytes(trainPlan.total)}.`),
        table(['training memory', 'bytes'], trainPlan.arenas.map((a) => [a.name, formatBytes(a.bytes)]).concat([['total', formatBytes(trainPlan.total)]]), { class: 'compact' }),
      );
    } catch (e) {
      replace(out, el('p', { class: 'error' }, `Could not plan: ${describeError(e)}`));
    }
  });

  /** `name`: the model's name in the run (default the loader's: the repository or the URL). */
  const load = async (picked: PickedSource, name?: string): Promise<boolean> => {
    app.busy = 'load';
    app.refresh();
    progressBar.value = 0;
    progressText.textContent = 'Opening the model…';
    $('model-info').textContent = '';
    try {
      await requestPersistentStorage(); // only a page can ask; keeps the cache from being evicted
      const quant = quantFromForm();
      const loaded = await app.engine.loadModel(picked.load, { quant }, Comlink.proxy((p: ProgressEvent) => {
        if (p.phase === 'download' && 'bytes' in p) {
          progressBar.max = Math.max(1, p.total);
          progressBar.value = p.bytes;
          progressText.textContent = `Downloading ${p.file}: ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
        } else if (p.phase === 'weights') {
          progressBar.max = Math.max(1, p.total);
          progressBar.value = p.done;
          progressText.textContent = `Loading weights onto the GPU: ${p.done} of ${p.total} tensors`;
        }
      }));
      const info = name ? { ...loaded, name } : loaded;
      progressBar.value = progressBar.max;
      progressText.textContent = 'Loaded.';
      const rep = info.report;
      $('model-info').textContent = `${info.name}: ${(rep.parameters / 1e6).toFixed(2)}M parameters, ${info.config.L} layers, weights in ${quantName(rep.quant)} (${rep.bytesPerParameter.toFixed(3)} bytes/parameter), ${formatBytes(info.gpuBytes)} on the GPU${info.hasTokenizer ? '' : ' — no tokenizer.json: it cannot be fine-tuned here'}.`;
      app.setModel({ info, source: picked.stored, quant });
      // A plan that failed for another source (offline, say) must not stay under the model that loaded.
      if ($('model-plan-out').querySelector('.error')) replace($('model-plan-out'));
      applyTrainDefaults(trainDefaults(rep.parameters));
      app.status(`Model ${info.name} is loaded.`, 'ok');
      void refreshCached();
      return true;
    } catch (e) {
      progressText.textContent = '';
      app.error('Loading the model', e);
      return false;
    } finally {
      app.busy = null;
      app.refresh();
    }
  };

  $('model-load').addEventListener('click', async () => {
    let picked: PickedSource;
    try {
      picked = sourceFromForm();
    } catch (e) {
      return app.error('Model', e);
    }
    await load(picked);
  });

  app.loadRunModel = async (m: RunSettings['model']) => {
    const s = m.source;
    if (m.quant) ($('model-quant') as HTMLSelectElement).value = m.quant;
    if (s.kind === 'files') {
      setRadio('model-kind', 'files');
      app.status(`This run's model was read from the folder "${s.folder}": pick it again in step 1, load it, then press Resume.`, 'error');
      return false;
    }
    if (s.kind === 'hub') {
      setRadio('model-kind', 'hub');
      input('model-hub').value = s.revision ? `${s.repo}@${s.revision}` : s.repo;
      return load({ load: s, stored: s });
    }
    setRadio('model-kind', 'url');
    input('model-url').value = s.baseUrl;
    return load({ load: s, stored: s }, m.name);
  };

  const refreshCached = async () => {
    const out = $('cached-out');
    try {
      const models = await app.engine.cachedModels();
      if (!models.length) return replace(out, el('p', {}, 'None yet: a model is kept here after its first download.'));
      replace(out, table(['model', 'revision', 'size', 'complete', ''], models.map((m) => {
        const name = m.source ? (m.source.kind === 'hub' ? m.source.repo : m.source.baseUrl) : m.sourceId;
        const use = m.source && m.complete ? el('button', { type: 'button', class: 'secondary', onclick: () => void app.loadRunModel({ name, source: m.source! }) }, 'Load') : null;
        const remove = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${name} from this browser`, onclick: async () => {
          await app.engine.removeCachedModel(m.sourceId);
          await refreshCached();
        } }, 'Remove');
        return [name, m.revision, formatBytes(m.bytes), m.complete ? 'yes' : 'partial', el('span', { class: 'actions' }, use, ' ', remove)];
      }), { id: 'cached-table' }));
    } catch (e) {
      replace(out, el('p', { class: 'error' }, `Cannot list the cache: ${describeError(e)}`));
    }
  };
  void refreshCached();

  app.engine.device().then(
    (d) => {
      app.device = d;
      $('device-name').textContent = `${d.adapter}${d.isSoftware ? ' (software: slow, for trying things out)' : ''}`;
      const keyLimits = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'];
      replace($('device-out'),
        el('p', {}, d.description),
        table(['limit', 'value'], keyLimits.filter((k) => k in d.limits).map((k) => [k, k.endsWith('Size') && d.limits[k] > 65536 ? formatBytes(d.limits[k]) : d.limits[k]]), { class: 'compact' }),
        el('p', {}, `Features: ${d.features.length ? d.features.join(', ') : 'none'}.`),
        el('p', {}, d.kernels === 'software'
          ? 'Kernels: software set (no barriers, one thread per row or 4×4 block): a CPU adapter pays for every barrier, so this set trains about ten times faster here than the tiled GPU set.'
          : 'Kernels: GPU set (workgroup-memory tiles).'),
      );
      app.status(`Ready. GPU: ${d.adapter}. Start with step 1.`, 'ok');
    },
    (e) => {
      $('device-name').textContent = 'none';
      app.error('WebGPU', e);
    },
  );
}
