// temporary: re-exports for model/llama.ts, model/layer.ts and train/lora-plan.ts (and model/projection.ts); removed once they import the family files
export * from './attention';
export * from './rmsnorm';
export * from './rope';
export * from './rows';
export * from './swiglu';
