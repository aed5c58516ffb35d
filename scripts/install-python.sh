#!/usr/bin/env bash
# The Python environment of README.md's "Python" section: Debian's python3 with numpy and
# pytest (scripts/install-deps.sh), a virtual environment .venv that sees them, and kernelmc
# installed into it with `pip install .` (scikit-build-core from PyPI runs the CMake build of
# the module, in build/python-wheel; a second run rebuilds only what changed).
# Extra arguments go to pip, e.g. `bash scripts/install-python.sh matplotlib` for the example figure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ ! -x .venv/bin/python ]]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
  echo '*' > .venv/.gitignore
fi
.venv/bin/python -m pip install --quiet . "$@"
