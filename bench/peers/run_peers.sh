#!/usr/bin/env bash
# One command for the side-by-side table of the README's performance section: runs
# bench_gradient (kernelmc's full and collapsed gradients and the same-run product by
# Eigen and by the build's BLAS: the ceiling is the faster) and the JAX peer, each on one thread pinned to one core, and prints
# one table with ratios, naming the ISA and flags of the build.
#   bench/peers/run_peers.sh [BUILD_DIR]      (default build/release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
out=$(mktemp -d)
venv=$("$here/setup_venv.sh" | tail -1)
core=${KERNELMC_BENCH_CORE:-0}
OMP_NUM_THREADS=1 taskset -c "$core" "$build/bench/bench_gradient" \
  --benchmark_filter='^BM_(FullGradient|CollapsedGradient|ProductPxNtimesNxN|BlasProductPxNtimesNxN)/P:[0-9]+/d:[0-9]+/N:[0-9]+/L:[0-9]+$' \
  --benchmark_min_time=1 --benchmark_format=json > "$out/kernelmc.json"
OMP_NUM_THREADS=1 taskset -c "$core" "$venv/bin/python" "$here/jax_gradient.py" > "$out/jax.jsonl"
python3 "$here/peer_table.py" "$out/kernelmc.json" "$out/jax.jsonl"
echo "(raw results in $out; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
