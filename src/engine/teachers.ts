// The one place a teacher is made from its settings, for the page's runs and the CLI's alike.

import type { LabelStyle } from '../data/prompts';
import { ArithmeticTeacher } from '../demo/teacher';
import type { Model } from '../model/model';
import type { Quant } from '../model/quant';
import { columnTeacher } from '../teacher/column';
import { httpTeacher } from '../teacher/http';
import { ownTeacher } from '../teacher/own';
import type { Teacher } from '../teacher/teacher';
import { webllmTeacher } from '../teacher/webllm';
import type { TeacherSettings } from './protocol';

export interface TeacherNeeds {
  /** How the run labels options (a column's "The answer is (X)." is read in that style). */
  labels: LabelStyle;
  /** Loads the own engine's teacher model (on the engine's device, through its model cache; it reports its progress). */
  loadModel(source: string, quant: Quant | undefined): Promise<Model>;
  signal: AbortSignal;
  /** Progress of a teacher that loads weights (own, WebLLM). */
  onLoad(text: string, progress: number): void;
}

export async function makeTeacher(t: TeacherSettings, o: TeacherNeeds): Promise<Teacher> {
  switch (t.kind) {
    case 'http':
      return httpTeacher({ url: t.url, model: t.model, apiKey: t.apiKey, concurrency: t.concurrency });
    case 'column': {
      const field = t.field?.trim() || 'rationale';
      return columnTeacher({ name: field, style: o.labels });
    }
    case 'demo':
      return new ArithmeticTeacher();
    case 'own': {
      o.onLoad(`loading the teacher ${t.source}`, 0);
      return ownTeacher(await o.loadModel(t.source, t.quant));
    }
    case 'webllm':
      // web-llm (~6 MB) is loaded only now (webllmTeacher imports it), in its own worker beside the engine's.
      return webllmTeacher(t.id, { signal: o.signal, onProgress: (p) => o.onLoad(p.text, p.progress) });
  }
}
