#!/usr/bin/env bash
# Installs what entrotune's scripts need and are missing, or says exactly what to install:
#   - Debian's chromium (the browser for the e2e tests, and SwiftShader: WebGPU on a CPU)
#   - libvulkan1 (the Vulkan loader Dawn uses in Node)
#   - node_modules (npm ci), when missing or older than package-lock.json
# Quiet when everything is there. Usage: bash .ci/ensure-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The library list is read whole before grep looks at it: `ldconfig -p | grep -q` under pipefail fails
# at random when grep stops reading early and ldconfig dies of SIGPIPE.
libs=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
if [ "$(uname -s)" = Linux ] && ! grep -q 'libvulkan\.so\.1 ' <<<"$libs"; then
  need_apt+=(libvulkan1)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "entrotune: installing ${need_apt[*]} with apt-get (WebGPU on this machine needs them)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "entrotune: missing ${need_apt[*]}." >&2
    echo "  On Debian/Ubuntu run: sudo apt-get install -y ${need_apt[*]}" >&2
    echo "  (chromium ships SwiftShader, a CPU WebGPU; a machine with a GPU needs only its Vulkan driver and libvulkan1)" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "entrotune: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
