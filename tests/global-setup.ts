// Before any test file runs: build the Node programs once (the CLI tests run dist-node/cli.js), so
// parallel test files never rebuild dist-node under each other.
import { buildCli } from './gpu/cli';

export default function setup(): void {
  buildCli();
}
