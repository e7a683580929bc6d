// The routing options on the command lines, without loading anything: the signal, the teacher budget
// and the frontier's points become the run's settings and the pipeline's options.
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../src/cli/demo';
import { parsePipelineArgs } from '../../src/cli/pipeline';

const REQUIRED = ['--model', 'm', '--data', 'd.jsonl', '--teacher', 'column', '--out', 'o'];

describe('entrotune pipeline: signal, teacher budget, frontier', () => {
  it('the paper\'s routing by default', () => {
    const { settings, options } = parsePipelineArgs(REQUIRED);
    expect(settings.signal).toBe('entropy');
    expect(options).toMatchObject({ complexitySignal: 'entropy', teacherBudget: undefined, methods: ['pipeline', 'sft-all', 'distill-all'] });
  });

  it('--signal margin --teacher-budget 40', () => {
    const { settings, options } = parsePipelineArgs([...REQUIRED, '--signal', 'margin', '--teacher-budget', '40']);
    expect(settings).toMatchObject({ signal: 'margin', teacherBudget: 40 });
    expect(options).toMatchObject({ complexitySignal: 'margin', teacherBudget: 40 });
    expect(() => parsePipelineArgs([...REQUIRED, '--signal', 'perplexity'])).toThrow(/unknown complexity signal 'perplexity'[\s\S]*entropy, entropy-options, top1, margin/);
    expect(() => parsePipelineArgs([...REQUIRED, '--teacher-budget', '-1'])).toThrow(/--teacher-budget/);
  });

  it('--frontier alone trains its points; beside --methods it adds them', () => {
    expect(parsePipelineArgs([...REQUIRED, '--frontier', '0,0.1,0.25,0.5,1']).options.methods).toEqual(['pipeline@0', 'pipeline@0.1', 'pipeline@0.25', 'pipeline@0.5', 'pipeline@1']);
    expect(parsePipelineArgs([...REQUIRED, '--methods', 'pipeline', '--frontier', '0.5']).options.methods).toEqual(['pipeline', 'pipeline@0.5']);
    expect(parsePipelineArgs([...REQUIRED, '--methods', 'sft-all,pipeline@0.3']).options.methods).toEqual(['sft-all', 'pipeline@0.3']);
    expect(() => parsePipelineArgs([...REQUIRED, '--frontier', '0,2'])).toThrow(/between 0 and 1/);
    expect(() => parsePipelineArgs([...REQUIRED, '--methods', 'pipeline@0.5', '--frontier', '0.5'])).toThrow(/given twice/);
  });
});

describe('entrotune demo --frontier', () => {
  it('trains the five points in a folder of its own', () => {
    const a = parseDemoArgs(['--frontier']);
    expect(a.methods).toEqual(['pipeline@0', 'pipeline@0.1', 'pipeline@0.25', 'pipeline@0.5', 'pipeline@1']);
    expect(a.outs).toEqual(['runs/demo-full-frontier-seed0']);
    expect(parseDemoArgs([]).methods).toEqual(['pipeline', 'sft-all', 'distill-all']);
  });
});
