// A run's storage is storage's (src/storage/runs.ts); these are the names the pipeline and the CLI use.
export { memoryRunStorage, nodeRunStorage, opfsRunStorage, type RunStorage } from '../storage/runs';
export { memorySink } from '../storage/sinks';
