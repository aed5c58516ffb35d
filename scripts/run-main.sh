#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job on its built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
exec ./build/release/cli/kernelmc "$@"
