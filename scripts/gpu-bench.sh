#!/usr/bin/env bash
# Issue #18's one prepared command for a machine with a real GPU: entrotune's matmul and the QLoRA
# steps of the published sizes (4×512), each step beside a plain PyTorch LoRA step of the same shape
# (tests/bench/torch-lora-step.py; one line says so where python3 has no torch). Figures in
# $OUT/bench-gpu.json, the whole output in $OUT/bench-gpu.log (OUT defaults to ./bench-out).
#
#   bash scripts/gpu-bench.sh          ensure-deps, build, bench (a machine with npm and its packages)
#   bash scripts/gpu-bench.sh --pack   here, for a GPU machine with neither Node nor a network: puts
#       node, dist-node, the packages the bench loads and the Vulkan loader in .cache/gpu-bench/
#       (ignored by git, ~35 MB). Carry that folder; the plain command there unpacks it instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.cache/gpu-bench/pack.tar.xz

if [ "${1:-}" = --pack ]; then
  bash .ci/ensure-deps.sh
  npx vite build --ssr --logLevel warn
  stage=$(mktemp -d)
  mkdir -p "$stage/.cache/gpu-bench/bin" "$stage/.cache/gpu-bench/lib"
  cp "$(command -v node)" "$stage/.cache/gpu-bench/bin/"
  # The Vulkan loader, and the glvnd libraries NVIDIA's Vulkan driver loads, for a machine without them.
  libs=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null)
  for l in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1; do
    f=$(awk -v l="$l" '$1 == l && /x86-64/ {print $NF; exit}' <<<"$libs")
    if [ -n "$f" ]; then cp -L "$f" "$stage/.cache/gpu-bench/lib/$l"; else echo "gpu-bench: no $l here to pack" >&2; fi
  done
  cp -r dist-node "$stage/"
  for p in webgpu debug ms @huggingface/tokenizers @huggingface/jinja csv-parse; do
    mkdir -p "$stage/node_modules/$p" && cp -r "node_modules/$p/." "$stage/node_modules/$p/"
  done
  find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
  mkdir -p "$(dirname "$PACK")"
  tar -C "$stage" -cf - . | xz -T0 -9 >"$PACK"
  rm -rf "$stage"
  echo "gpu-bench: $PACK, $(du -h "$PACK" | cut -f1); carry .cache/gpu-bench and run: bash scripts/gpu-bench.sh"
  exit 0
fi

OUT=${OUT:-./bench-out}
mkdir -p "$OUT"
if [ -f "$PACK" ] && { ! command -v npm >/dev/null || [ ! -d node_modules ]; }; then
  tar -xJf "$PACK"
  export PATH="$PWD/.cache/gpu-bench/bin:$PATH" LD_LIBRARY_PATH="$PWD/.cache/gpu-bench/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # Where the driver's Vulkan manifest is outside the loader's search path (a mounted driver folder).
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$icd
  fi
else
  bash .ci/ensure-deps.sh || echo "gpu-bench: ensure-deps failed (above); building anyway" >&2
  npx vite build --ssr --logLevel warn
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
rc=0
# GPU_BENCH_ARGS (e.g. "--sizes all --shape 1x512") comes first: the bench reads the first of a flag.
# shellcheck disable=SC2086
PYTHONUNBUFFERED=1 node dist-node/bench.js ${GPU_BENCH_ARGS:-} --only matmul,steps --torch --json "$OUT/bench-gpu.json" 2>&1 | tee "$OUT/bench-gpu.log" || rc=$?
if [ -f "$OUT/bench-gpu.json" ]; then
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`\nadapter: ${j.adapter} (${j.kernels} kernels)${/swiftshader|llvmpipe|software/i.test(j.adapter) ? "  <- a SOFTWARE adapter, not the GPU" : ""}`);
    for (const s of j.steps) console.log(`${s.model} ${s.batch}: entrotune ${s.tokensPerSecond.toFixed(1)} tokens/s` +
      (s.torch ? (s.torch.skipped ? `, torch skipped: ${s.torch.skipped}` : `, torch ${s.torch.tokensPerSecond.toFixed(1)} tokens/s (${s.torch.base}), ratio ${s.torch.ratio.toPrecision(3)}`) : ""));' "$OUT/bench-gpu.json"
fi
exit "$rc"
