// Pipelines are built once and cached, keyed by shader file, entry point and override constants.
// Creation runs inside error scopes, and WGSL compile errors come back as ShaderCompileError naming
// the file, line and message.

import { GpuError, ShaderCompileError } from '../errors';
import { shaderLocation, shaderSource } from './shaders';

export interface PipelineKey {
  /** File name in shaders/ without `.wgsl`. */
  shader: string;
  entry: string;
  constants?: Readonly<Record<string, number>>;
}

export function pipelineKeyString(k: PipelineKey): string {
  const sorted = (o?: Readonly<Record<string, unknown>>) => JSON.stringify(Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${k.shader}|${k.entry}|${sorted(k.constants)}`;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly modules = new Map<string, GPUShaderModule>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(key: PipelineKey): Promise<GPUComputePipeline> {
    const k = pipelineKeyString(key);
    let p = this.pipelines.get(k);
    if (!p) {
      p = this.create(key);
      this.pipelines.set(k, p);
      p.catch(() => this.pipelines.delete(k)); // a failed build is not cached
    }
    return p;
  }

  /** Compile WGSL text directly (tests and the lab use this; products go through `get`). */
  async fromSource(file: string, code: string, entry: string, constants: Readonly<Record<string, number>> = {}): Promise<GPUComputePipeline> {
    return this.build(file, code, entry, constants);
  }

  private async create(key: PipelineKey): Promise<GPUComputePipeline> {
    return this.build(`${key.shader}.wgsl`, shaderSource(key.shader), key.entry, key.constants ?? {}, (line) => shaderLocation(key.shader, line));
  }

  private async build(
    file: string,
    code: string,
    entry: string,
    constants: Readonly<Record<string, number>>,
    locate: (line: number) => { file: string; line: number } = (line) => ({ file, line }),
  ): Promise<GPUComputePipeline> {
    const device = this.device;
    let module = this.modules.get(code);
    if (!module) {
      device.pushErrorScope('validation');
      module = device.createShaderModule({ label: file, code });
      const info = await module.getCompilationInfo();
      const scopeError = await device.popErrorScope();
      const firstError = info.messages.find((m) => m.type === 'error');
      if (firstError) {
        const at = locate(firstError.lineNum);
        throw new ShaderCompileError(at.file, at.line, firstError.linePos, firstError.message);
      }
      if (scopeError) throw new ShaderCompileError(file, 0, 0, scopeError.message);
      this.modules.set(code, module);
    }
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label: `${file}:${entry}`,
        layout: 'auto',
        compute: { module, entryPoint: entry, constants: { ...constants } },
      });
    } catch (err) {
      await device.popErrorScope();
      await device.popErrorScope();
      throw new ShaderCompileError(file, 0, 0, `pipeline ${entry}: ${(err as Error).message}`);
    }
    const internal = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const e = validation ?? internal;
    if (e) throw new GpuError(`${file}:${entry}: ${e.message}`, 'check the entry point name and override constants');
    return pipeline;
  }
}
