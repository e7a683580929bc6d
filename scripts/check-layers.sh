#!/usr/bin/env bash
# The layering rules of .dependency-cruiser.cjs, checked on tsc's JavaScript output (type-only imports
# erased, as in the bundles): dependency-cruiser reads TypeScript only up to version 6.
set -euo pipefail
cd "$(dirname "$0")/.."
out=node_modules/.cache/entrotune-layers
rm -rf "$out"
npx tsc -p tsconfig.json --noEmit false --outDir "$out" --rootDir .
cd "$out"
npx depcruise src workers --config ../../../.dependency-cruiser.cjs
