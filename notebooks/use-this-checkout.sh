#!/bin/sh
# Makes a GoNB notebook's module use the clipwork checkout this script lives in (no published
# version needed); the -require brings the checkout's pinned dependency versions along.
# A notebook's first cell runs it: !*sh "${GONB_DIR}/use-this-checkout.sh"
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
go mod edit -require=github.com/clipwork/clipwork@v0.0.0 -replace=github.com/clipwork/clipwork="$root"
