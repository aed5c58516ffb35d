#!/usr/bin/env bash
# Configures (once) and builds (incrementally) one CMake preset, default `release`. The
# release and debug presets also build the Python module (python/, on Debian's python3), so
# that after either README command `PYTHONPATH=build/release/python python3 -c "import kernelmc"`
# works; both README commands share build/release.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
if [[ "$preset" == release || "$preset" == debug ]]; then
  if ! grep -qs '^KERNELMC_BUILD_PYTHON:BOOL=ON' "build/${preset}/CMakeCache.txt"; then
    cmake --preset "$preset" -DKERNELMC_BUILD_PYTHON=ON -DPython_EXECUTABLE=/usr/bin/python3 >/dev/null
  fi
elif [[ ! -f "build/${preset}/build.ninja" ]]; then
  cmake --preset "$preset" >/dev/null
fi
cmake --build --preset "$preset"
