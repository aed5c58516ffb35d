#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
preset="${KERNELMC_PRESET:-release}"
bash scripts/build.sh "$preset"
ctest --preset "$preset" "$@"
