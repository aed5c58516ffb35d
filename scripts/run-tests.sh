#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test through ctest, then the
# Python module's tests through pytest (release and debug presets; the module is a target
# of the same build, on Debian's python3: scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
preset="${KERNELMC_PRESET:-release}"
python_tests=false
[[ "$preset" == release || "$preset" == debug ]] && python_tests=true  # build.sh builds the module there
bash scripts/build.sh "$preset"
status=0
ctest --preset "$preset" "$@" || status=$?
if $python_tests; then
  # pytest exits 5 when it collects no test: that is a failure too.
  PYTHONPATH="build/${preset}/python" KERNELMC_CLI="build/${preset}/cli/kernelmc" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python || status=$?
fi
exit "$status"
