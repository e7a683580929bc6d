// temporary: re-exports for model/llama.ts, model/layer.ts, model/projection.ts, model/architecture.ts and train/train-plan.ts; removed once they import the family files
export * from './attention';
export * from './rmsnorm';
export * from './rope';
export * from './rows';
export * from './swiglu';
