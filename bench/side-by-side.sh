#!/usr/bin/env bash
# Runs clipwork bench and the PyTorch reference alternately on the same machine and prints both
# and the ratio (clipwork / PyTorch windows per second). Usage: bench/side-by-side.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
export GOEXPERIMENT=simd
go build -o bin/clipwork ./cmd/clipwork
for i in $(seq "$rounds"); do
  go_json=$(bin/clipwork bench --model random:ViT-B/32 --windows 8 --steps 5 --resolution 512 --json)
  torch_json=$(/usr/bin/python3 bench/torch_step.py --windows 8 --steps 5 --resolution 512)
  echo "clipwork: $go_json"
  echo "pytorch:  $torch_json"
  python3 -c "import json,sys; g=json.loads(sys.argv[1]); t=json.loads(sys.argv[2]); print(f'ratio (clipwork / pytorch windows/s): {g[\"windows_per_second\"]/t[\"windows_per_second\"]:.2f}')" "$go_json" "$torch_json"
done
