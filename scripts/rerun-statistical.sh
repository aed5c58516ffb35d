#!/usr/bin/env bash
# Reruns the `statistical` ctest label under K fresh seeds and compares the observed
# failures with the false-fail rates stated in tests/README.md (the table between the
# `false-fail-table` markers: one row per TEST, its family-wise false-fail probability).
#
#   scripts/rerun-statistical.sh [K] [ctest name regex]     (default K = 20, every test)
#
# Seed k runs every statistical test with KERNELMC_TEST_SEED=k (tests/support/
# statistical.hpp: test_seed mixes it into each test's fixed base seed). Uses the already
# configured preset KERNELMC_PRESET (default release) and builds what is missing
# (KERNELMC_RERUN_BUILD=0: use the executables as they are). CPU heavy: run it under
# `nice`; a regex reruns a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
K="${1:-20}"
regex="${2:-.}"
preset="${KERNELMC_PRESET:-release}"
build="build/${preset}"
if [[ "${KERNELMC_RERUN_BUILD:-1}" != 0 ]]; then bash scripts/build.sh "$preset" >/dev/null; fi

mapfile -t tests < <(ctest --test-dir "$build" -N -L statistical -R "$regex" |
                     sed -n 's/^ *Test *#[0-9]*: //p')
((${#tests[@]} > 0)) || { echo "rerun-statistical: no statistical test matches '$regex'" >&2; exit 2; }

# Expected false-fail probability of one run of the selected tests: the sum of the table's
# rates over the tests; a row's name may be a glob (parametrised tests).
rates="$(sed -n '/<!-- false-fail-table -->/,/<!-- \/false-fail-table -->/p' tests/README.md |
         sed -n 's/^| `\([^`]*\)` | \([0-9.e+-]*\) |.*/\1 \2/p')"
rate_sum=0
unlisted=()
for t in "${tests[@]}"; do
  r=""
  while read -r pattern rate; do
    # shellcheck disable=SC2053
    if [[ -n "$pattern" && "$t" == $pattern ]]; then r="$rate"; break; fi
  done <<<"$rates"
  if [[ -z "$r" ]]; then unlisted+=("$t"); else rate_sum="$(awk -v a="$rate_sum" -v b="$r" 'BEGIN{print a+b}')"; fi
done

echo "rerun-statistical: ${#tests[@]} tests, K = $K seeds, stated false-fail rate per run = $rate_sum"
((${#unlisted[@]} == 0)) || echo "rerun-statistical: not in the tests/README.md table: ${unlisted[*]}"
log_dir="$(mktemp -d)"
failed_runs=0
failed_tests=0
start=$(date +%s)
for ((k = 1; k <= K; ++k)); do
  if KERNELMC_TEST_SEED="$k" ctest --test-dir "$build" -L statistical -R "$regex" -j2 --timeout 900 --output-on-failure \
       >"$log_dir/seed$k.log" 2>&1; then
    echo "seed $k: all passed"
  else
    failed_runs=$((failed_runs + 1))
    names="$(sed -n '/The following tests FAILED:/,$p' "$log_dir/seed$k.log" | sed -n 's/^.* - \(.*\) (.*/\1/p')"
    failed_tests=$((failed_tests + $(grep -c . <<<"$names")))
    echo "seed $k: FAILED: $(tr '\n' ' ' <<<"$names")"
  fi
done
elapsed=$(($(date +%s) - start))
# P(X ≥ observed) for X ~ Poisson(K · rate): how surprising the observed count is.
awk -v K="$K" -v rate="$rate_sum" -v obs="$failed_tests" -v runs="$failed_runs" -v s="$elapsed" 'BEGIN {
  lambda = K * rate; p = 0; term = exp(-lambda);
  for (i = 0; i < obs; ++i) { p += term; term *= lambda / (i + 1) }
  printf "rerun-statistical: %d failing tests in %d of %d runs; expected %.3g (K x %.3g); P(>= %d | Poisson) = %.3g; %d s\n",
         obs, runs, K, lambda, rate, obs, 1 - p, s
}'
echo "rerun-statistical: logs in $log_dir"
