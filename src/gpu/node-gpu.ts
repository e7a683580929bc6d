// WebGPU in Node through Dawn (the `webgpu` npm package). On a machine without a GPU we pick the
// SwiftShader Vulkan driver that Debian's chromium package ships, so nobody has to set
// VK_ICD_FILENAMES by hand. A real GPU with a Vulkan driver needs nothing.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebGpuUnavailableError } from '../errors';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const NODE_HINT =
  'on Debian/Ubuntu run `apt-get install -y chromium libvulkan1` (SwiftShader, a CPU WebGPU, ships with chromium), ' +
  'or install the Vulkan driver of your GPU';

function hasGpuDeviceNode(): boolean {
  try {
    if (existsSync('/dev/nvidia0')) return true;
    return existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}

function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...extra, ...dirs].some((d) => existsSync(`${d}/libvulkan.so.1`));
}

let cached: GPU | null = null;

/**
 * On SwiftShader, Dawn's zeroing of workgroup memory through the Vulkan extension compiles into one store
 * per element: a kernel with 16 KiB of tiles took ~3 s to build (the tiled GPU set's kernels, forced in
 * the tests). Without the extension Dawn zeroes in a shader loop it writes itself: the same semantics
 * (WGSL's workgroup variables still start at zero), ~0.2 s to build.
 */
function withSwiftShaderToggles(flags: string[]): string[] {
  if (process.env.VK_ICD_FILENAMES !== SWIFTSHADER_ICD) return flags;
  return [...flags, 'disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'];
}

/** The Dawn GPU object, with WebGPU's globals (GPUBufferUsage, ...) installed on globalThis. */
export async function nodeGpu(): Promise<GPU> {
  if (cached) return cached;
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (err) {
    throw new WebGpuUnavailableError(`cannot load the 'webgpu' package: ${(err as Error).message}`, 'run `npm ci` in the entrotune folder');
  }
  Object.assign(globalThis, mod.globals);
  if (process.platform === 'linux') {
    // Vulkan's window-system code complains on every start when this is unset (headless servers, CI).
    if (!process.env.XDG_RUNTIME_DIR) {
      const dir = join(tmpdir(), `entrotune-xdg-${process.getuid?.() ?? 0}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      process.env.XDG_RUNTIME_DIR = dir;
    }
    if (!hasVulkanLoader()) throw new WebGpuUnavailableError('the Vulkan loader (libvulkan.so.1) is not installed', NODE_HINT);
    // Without a GPU device node only a software driver can answer; ask SwiftShader directly
    // (Debian's lavapipe is too old for Dawn and prints noise while failing).
    if (!process.env.VK_ICD_FILENAMES && !hasGpuDeviceNode()) {
      if (!existsSync(SWIFTSHADER_ICD)) throw new WebGpuUnavailableError('no GPU and no SwiftShader driver found', NODE_HINT);
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
  }
  const flags = process.platform === 'linux' ? ['backend=vulkan'] : [];
  let gpu = mod.create(withSwiftShaderToggles(flags));
  // A device node without a working driver: fall back to SwiftShader rather than fail.
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD) && !(await gpu.requestAdapter())) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    gpu = mod.create(withSwiftShaderToggles(flags));
  }
  cached = gpu;
  return gpu;
}
