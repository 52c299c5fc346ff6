#!/usr/bin/env bash
# Runs clipwork bench and the PyTorch reference in alternation on the same machine, prints every
# round and the median ratio (clipwork / PyTorch windows per second). Usage:
# bench/side-by-side.sh [rounds, at least 3] [windows]
#
# The anchor is fair: this machine's OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set to keep old
# OpenBLAS builds off kernels they get wrong) pin OpenBLAS to its AVX2 kernels; they are unset for
# the PyTorch command alone, and the kernel it ran is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
windows=${2:-8}
if [ "$rounds" -lt 3 ]; then
  echo "at least 3 rounds, for a median" >&2
  exit 2
fi
export GOEXPERIMENT=simd
export GOTOOLCHAIN=go1.27.3
go build -o bin/clipwork ./cmd/clipwork
ratios=()
for i in $(seq "$rounds"); do
  go_json=$(bin/clipwork bench --model random:ViT-B/32 --windows "$windows" --steps 5 --resolution 512 --json)
  torch_json=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_step.py --windows "$windows" --steps 5 --resolution 512)
  echo "round $i clipwork: $go_json"
  echo "round $i pytorch:  $torch_json"
  ratio=$(python3 -c 'import json,sys; g=json.loads(sys.argv[1]); t=json.loads(sys.argv[2]); print("%.3f" % (g["windows_per_second"] / t["windows_per_second"]))' "$go_json" "$torch_json")
  echo "round $i ratio (clipwork / pytorch windows/s): $ratio"
  ratios+=("$ratio")
done
python3 -c 'import statistics,sys; r=[float(x) for x in sys.argv[1:]]; print("median ratio over %d rounds: %.2f (each: %s)" % (len(r), statistics.median(r), ", ".join("%.2f" % x for x in r)))' "${ratios[@]}"
