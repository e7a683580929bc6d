// The pipeline's and the demo's command lines become the options they should, without loading
// anything: full fine-tuning, the token budget, the seeds.
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../src/cli/demo';
import { parsePipelineArgs } from '../../src/cli/pipeline';
import { DEMO_SETTINGS } from '../../src/demo/settings';

const REQUIRED = ['--model', 'm', '--data', 'd.jsonl', '--teacher', 'column', '--out', 'o'];

describe('entrotune pipeline options', () => {
  it('--full --train-tokens: full fine-tuning of unquantised weights on a token budget', () => {
    const { options, quant } = parsePipelineArgs([...REQUIRED, '--full', '--train-tokens', '50000', '--pack', '256', '--lr', '1e-3']);
    expect(options.trainConfig).toMatchObject({ mode: 'full', lr: 1e-3 });
    expect(options.trainTokens).toBe(50000);
    expect(options.loop.pack).toBe(256);
    expect(quant).toBe('none');
  });

  it('LoRA and epochs by default', () => {
    const { options, quant } = parsePipelineArgs(REQUIRED);
    expect(options.trainConfig.mode).toBe('lora');
    expect(options.trainTokens).toBeUndefined();
    expect(quant).toBeUndefined();
  });

  it('refuses what cannot work', () => {
    expect(() => parsePipelineArgs([...REQUIRED, '--full', '--quant', 'nf4'])).toThrow(/--quant none/);
    expect(() => parsePipelineArgs([...REQUIRED, '--train-tokens', '0'])).toThrow(/--train-tokens/);
    expect(() => parsePipelineArgs([...REQUIRED, '--train-tokens', '1.5'])).toThrow(/--train-tokens/);
  });
});

describe('entrotune demo options', () => {
  it('defaults: the full size, full fine-tuning, seed 0', () => {
    const a = parseDemoArgs([]);
    expect(a).toMatchObject({ size: 'full', mode: 'full', seeds: [0], outs: ['runs/demo-full-seed0'] });
    expect(a.settings).toEqual(DEMO_SETTINGS.full);
  });

  it('--seeds 0,1,2 --lora --quick --train-tokens', () => {
    const a = parseDemoArgs(['--seeds', '0,1,2', '--lora', '--quick', '--train-tokens', '2000', '--test', '8']);
    expect(a).toMatchObject({ size: 'quick', mode: 'lora', seeds: [0, 1, 2] });
    expect(a.outs).toEqual(['runs/demo-quick-lora-seed0', 'runs/demo-quick-lora-seed1', 'runs/demo-quick-lora-seed2']);
    expect(a.settings).toMatchObject({ trainTokens: 2000, test: 8, train: DEMO_SETTINGS.quick.train, showsEffect: false });
    expect(parseDemoArgs(['--seeds', '3,4', '--out', 'x']).outs).toEqual(['x/seed3', 'x/seed4']);
  });

  it('refuses --seed with --seeds and a repeated seed', () => {
    expect(() => parseDemoArgs(['--seed', '1', '--seeds', '1,2'])).toThrow(/not both/);
    expect(() => parseDemoArgs(['--seeds', '1,1'])).toThrow(/repeats/);
  });
});
