#!/usr/bin/env bash
# Creates the peers' virtual environment (default build/peers-venv) with the pinned
# versions of requirements.txt from PyPI. A second run installs nothing new.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${KERNELMC_PEERS_VENV:-$here/../../build/peers-venv}
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"
echo "$venv"
