#!/usr/bin/env bash
# Installs the Debian 12 packages kernelmc needs, only those that are missing.
# Run as root (or with sudo available). A second run installs nothing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev            # all linear algebra
  libpcg-cpp-dev           # random-number engines
  libboost-math-dev libboost-random-dev  # special functions, quadrature, distributions, root finding; portable distributions
  libgtest-dev libgmock-dev              # tests
  libbenchmark-dev                       # bench/
  libcli11-dev                           # command line
  nlohmann-json3-dev                     # JSON results
  libtomlplusplus-dev                    # TOML configs
  gnuplot-nox                            # figures of the validation report
  python3-dev python3-venv pybind11-dev  # the Python module (python/); venv for scripts/install-python.sh
  python3-numpy python3-pytest           # its arrays and its tests (scripts/run-tests.sh)
  clang libclang-rt-14-dev               # the fuzz preset: clang with libFuzzer and its ASan/UBSan runtimes (scripts/run-fuzzers.sh, CI)
  zlib1g-dev                             # reading gzip-compressed IDX files (core/idx)
  libopenblas-pthread-dev                # the network's large matrix products (sampling/detail/gemm.hpp): about 1.2x Eigen's GEMM; the pthreads flavour (set to one thread) because the serial one has no locks for kernelmc's concurrent callers
  dataset-fashion-mnist                  # the real-data example: Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "kernelmc: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
