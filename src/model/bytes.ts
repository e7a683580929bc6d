// Where model bytes come from, read by range so a multi-GB safetensors file never has to sit in
// memory whole: a tensor is read, converted and uploaded, then dropped. Implementations: memory
// (tests, small files), a browser File/Blob (picked from disk, or an OPFS file), a Node file.

export interface ByteSource {
  /** A name for error messages, e.g. "model-00001-of-00002.safetensors". */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `offset` (throws if the source is shorter). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function memorySource(name: string, bytes: Uint8Array | ArrayBuffer): ByteSource {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return {
    name,
    size: u8.byteLength,
    async read(offset, length) {
      if (offset < 0 || offset + length > u8.byteLength) throw new RangeError(`${name}: read of ${length} bytes at ${offset} past the end (${u8.byteLength})`);
      return u8.subarray(offset, offset + length);
    },
  };
}

export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      if (offset < 0 || offset + length > blob.size) throw new RangeError(`${name}: read of ${length} bytes at ${offset} past the end (${blob.size})`);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}
