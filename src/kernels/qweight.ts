// temporary: re-exports for model/llama.ts, model/layer.ts, model/projection.ts, model/architecture.ts and train/train-plan.ts; removed once they import the family files
export * from './convert';
export * from './embedding';
export * from './linear';
export * from './quantize';
