import { describe, expect, it } from 'vitest';
import { createDevice } from '../../src/gpu/device';
import { WebGpuUnavailableError } from '../../src/errors';

describe('createDevice without a usable adapter', () => {
  it('says what to install', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await createDevice({ gpu }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGpuUnavailableError);
    expect((err as Error).message).toMatch(/no adapter was found\nHINT: .*apt-get install -y chromium libvulkan1/);
  });
});
