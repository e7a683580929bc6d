// The committed tiny models are exactly what the generator writes (run with UPDATE_FIXTURES=1 to rewrite).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTinyModel, TINY_SPECS } from '../fixtures/make-tiny-models';

const DIR = join(__dirname, '../fixtures/tiny');

describe('tiny fixture models', () => {
  for (const spec of TINY_SPECS) {
    it(`${spec.name} is up to date`, () => {
      const files = makeTinyModel(spec);
      const dir = join(DIR, spec.name);
      if (process.env.UPDATE_FIXTURES) {
        mkdirSync(dir, { recursive: true });
        for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
      }
      for (const [name, bytes] of files) {
        const path = join(dir, name);
        expect(existsSync(path), `${path} missing: run UPDATE_FIXTURES=1 npx vitest run tests/unit/tiny-models.test.ts`).toBe(true);
        expect(Buffer.compare(readFileSync(path), Buffer.from(bytes)), `${path} differs from the generator`).toBe(0);
      }
    });
  }
});
