// entrotune's command line. Each command prints progress on stderr as it goes and exits non-zero
// with the error's message (and its HINT) on failure.

import { cliDevice, HelpRequested, takeKernelsOption } from './cli/args';
import { EntrotuneError } from './errors';
import { generateCommand, GENERATE_USAGE } from './cli/generate';
import { planCommand, PLAN_USAGE } from './cli/plan';
import { scoreCommand, SCORE_USAGE } from './cli/score';
import { trainCommand, TRAIN_USAGE } from './cli/train';
import { demoCommand, DEMO_USAGE } from './cli/demo';
import { evalCommand, EVAL_USAGE, pipelineCommand, PIPELINE_USAGE } from './cli/pipeline';

const DEVICE_USAGE = 'entrotune device: print the WebGPU adapter, its limits and features, and the kernel set';

/** Each command's own usage, for `entrotune <command> --help` and `entrotune help <command>`. */
const USAGES: Record<string, string> = {
  demo: DEMO_USAGE, generate: GENERATE_USAGE, score: SCORE_USAGE, train: TRAIN_USAGE, pipeline: PIPELINE_USAGE,
  eval: EVAL_USAGE, plan: PLAN_USAGE, device: DEVICE_USAGE,
};

const USAGE = `usage: entrotune <command> [options]      (entrotune <command> --help: that command's options)

commands:
  demo        ${DEMO_USAGE}
              the offline demo: the method against its baselines on synthetic digit chains, nothing downloaded
  generate    ${GENERATE_USAGE.replace(/\n/g, '\n              ')}
  score       ${SCORE_USAGE.replace(/\n/g, '\n              ')}
  train       ${TRAIN_USAGE.replace(/\n/g, '\n              ')}
  pipeline    ${PIPELINE_USAGE.replace(/\n/g, '\n              ')}
  eval        ${EVAL_USAGE.replace(/\n/g, '\n              ')}
  plan        ${PLAN_USAGE}
  device      print the WebGPU adapter, its limits and features, and the kernel set
  help        this text

every command that uses the GPU takes --kernels auto|gpu|software (default auto: the barrier-free
software set on CPU adapters such as SwiftShader, the tiled GPU set elsewhere)`;

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = takeKernelsOption(argv);
  switch (command) {
    case 'demo':
      return demoCommand(rest);
    case 'generate':
      return generateCommand(rest);
    case 'score':
      return scoreCommand(rest);
    case 'train':
      return trainCommand(rest);
    case 'pipeline':
      return pipelineCommand(rest);
    case 'eval':
      return evalCommand(rest);
    case 'plan':
      return planCommand(rest);
    case 'device': {
      if (rest.includes('--help') || rest.includes('-h')) throw new HelpRequested(DEVICE_USAGE);
      const gpu = await cliDevice();
      console.log(gpu.describe());
      gpu.destroy();
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGES[rest[0]] ?? USAGE);
      return;
    default:
      throw new EntrotuneError(`unknown command '${command}'`, 'run `entrotune help` for the list');
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof HelpRequested) {
    console.log(err.usage);
    return;
  }
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  process.exitCode = 1;
});
