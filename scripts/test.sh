#!/usr/bin/env bash
# npm test: every suite runs whatever the one before it did, each says how long it took, and the exit
# status is non-zero when any failed (a vitest failure no longer hides the browser suite's result).
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-deps.sh || exit 1
failed=()
suite() {
  local name=$1 t0=$SECONDS
  shift
  echo "entrotune test: $name" >&2
  if "$@"; then
    echo "entrotune test: $name passed in $((SECONDS - t0)) s" >&2
  else
    echo "entrotune test: $name FAILED after $((SECONDS - t0)) s" >&2
    failed+=("$name")
  fi
}
suite typecheck npx tsc -p .
suite layering bash scripts/check-layers.sh
suite 'node tests (vitest)' npx vitest run
suite 'browser tests (playwright)' npx playwright test -c tests/e2e/playwright.config.ts
if ((${#failed[@]})); then
  printf 'entrotune test: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "entrotune test: every suite passed in $SECONDS s" >&2
