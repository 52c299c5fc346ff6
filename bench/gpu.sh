#!/usr/bin/env bash
# GPU side by side: clipwork on XLA (GOMLX_BACKEND=xla:cuda) at 8, 32 and 128 windows beside
# bench/torch_step.py on CUDA, one after the other on the same machine, with the ratio of
# windows per second. Usage: bench/gpu.sh [steps]
#
# XLA needs the CUDA PJRT plugin: PJRT_PLUGIN_LIBRARY_PATH naming a folder that holds
# pjrt_c_api_cuda_plugin.so (where go-xla's installer puts it), or else an installed JAX CUDA
# plugin wheel (jax-cuda13-pjrt or jax-cuda12-pjrt), whose xla_cuda_plugin.so is linked under
# that name. bin/clipwork is built when Go is there, else a carried bin/clipwork is used.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10}
export GOEXPERIMENT=simd
export GOTOOLCHAIN=go1.27.3

if [ -z "${PJRT_PLUGIN_LIBRARY_PATH:-}" ]; then
  plugin=$(python3 -c 'import glob, site, sys
for d in site.getsitepackages() + [site.getusersitepackages()]:
    for so in sorted(glob.glob(d + "/jax_plugins/xla_cuda*/xla_cuda_plugin.so"), reverse=True):
        print(so); sys.exit()' 2>/dev/null || true)
  if [ -z "$plugin" ]; then
    echo "no CUDA PJRT plugin: set PJRT_PLUGIN_LIBRARY_PATH or pip install jax-cuda13-pjrt" >&2
    exit 1
  fi
  PJRT_PLUGIN_LIBRARY_PATH=$(mktemp -d)
  ln -s "$plugin" "$PJRT_PLUGIN_LIBRARY_PATH/pjrt_c_api_cuda_plugin.so"
  export PJRT_PLUGIN_LIBRARY_PATH
  echo "CUDA PJRT plugin: $plugin"
fi
if command -v go >/dev/null; then
  go build -o bin/clipwork ./cmd/clipwork
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

for windows in 8 32 128; do
  go_json=$(GOMLX_BACKEND=xla:cuda bin/clipwork bench --windows "$windows" --steps "$steps" --json)
  torch_json=$(python3 bench/torch_step.py --device cuda --windows "$windows" --steps "$steps")
  echo "clipwork: $go_json"
  echo "pytorch:  $torch_json"
  python3 -c 'import json,sys; g=json.loads(sys.argv[1]); t=json.loads(sys.argv[2]); print("%s windows: ratio (clipwork / pytorch windows/s) %.2f" % (sys.argv[3], g["windows_per_second"] / t["windows_per_second"]))' "$go_json" "$torch_json" "$windows"
done
