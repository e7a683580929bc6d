// An origin-private file system in memory, with the handle methods src/storage/opfs.ts uses, so that
// OPFS storage runs in Node: `fail(op, name)` returns an error to throw where a test wants one
// (op: 'root', 'dir', 'file', 'read', 'write', 'remove', 'list').

type Fail = (op: string, name: string) => Error | undefined;

const notFound = (name: string) => new DOMException(`${name} was not found`, 'NotFoundError');
const bytesOf = (chunk: unknown): Uint8Array =>
  typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : (chunk as Uint8Array);

class FakeFile {
  readonly kind = 'file';
  data = new Uint8Array();
  constructor(readonly name: string, private readonly fail: Fail) {}
  async getFile() {
    const e = this.fail('read', this.name);
    if (e) throw e;
    const d = this.data;
    return { size: d.length, arrayBuffer: async () => d.slice().buffer, text: async () => new TextDecoder().decode(d) };
  }
  async createWritable(o: { keepExistingData?: boolean } = {}) {
    let buf = o.keepExistingData ? this.data.slice() : new Uint8Array();
    let pos = 0;
    return {
      seek: async (p: number) => void (pos = p),
      write: async (chunk: unknown) => {
        const e = this.fail('write', this.name);
        if (e) throw e;
        const add = bytesOf(chunk);
        const next = new Uint8Array(Math.max(buf.length, pos + add.length));
        next.set(buf);
        next.set(add, pos);
        buf = next;
        pos += add.length;
      },
      close: async () => void (this.data = buf), // committed on close, as OPFS does
    };
  }
}

class FakeDir {
  readonly kind = 'directory';
  readonly children = new Map<string, FakeDir | FakeFile>();
  constructor(readonly name: string, private readonly fail: Fail) {}
  async getDirectoryHandle(name: string, o: { create?: boolean } = {}) {
    return this.entry('dir', name, !!o.create, () => new FakeDir(name, this.fail)) as Promise<FakeDir>;
  }
  async getFileHandle(name: string, o: { create?: boolean } = {}) {
    return this.entry('file', name, !!o.create, () => new FakeFile(name, this.fail)) as Promise<FakeFile>;
  }
  private async entry(op: 'dir' | 'file', name: string, create: boolean, make: () => FakeDir | FakeFile) {
    const e = this.fail(op, name);
    if (e) throw e;
    let c = this.children.get(name);
    if (!c && create) this.children.set(name, (c = make()));
    if (!c) throw notFound(name);
    if (c.kind !== (op === 'dir' ? 'directory' : 'file')) throw new DOMException(`${name} is not a ${op}`, 'TypeMismatchError');
    return c;
  }
  async removeEntry(name: string) {
    const e = this.fail('remove', name);
    if (e) throw e;
    if (!this.children.delete(name)) throw notFound(name);
  }
  async *entries(): AsyncIterable<[string, FakeDir | FakeFile]> {
    const e = this.fail('list', this.name);
    if (e) throw e;
    yield* this.children.entries();
  }
}

/** A fresh file system; its root() is what navigator.storage.getDirectory() would give. */
export function fakeOpfs(fail: Fail = () => undefined): { root: () => Promise<FileSystemDirectoryHandle>; top: FakeDir } {
  const top = new FakeDir('', (op, name) => fail(op, name));
  return {
    top,
    root: async () => {
      const e = fail('root', '');
      if (e) throw e;
      return top as unknown as FileSystemDirectoryHandle;
    },
  };
}
