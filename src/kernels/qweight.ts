// temporary: re-exports for model/llama.ts, model/layer.ts and train/lora-plan.ts (and model/projection.ts); removed once they import the family files
export * from './convert';
export * from './embedding';
export * from './linear';
export * from './quantize';
