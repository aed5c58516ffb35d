#!/usr/bin/env bash
# Builds the `fuzz` preset (clang, libFuzzer + ASan + UBSan) and runs every libFuzzer target
# tests/fuzz/fuzz_<name>.cpp for a bounded time, seeded with its committed corpus
# tests/fuzz/corpus/<name>/ (STYLE.md §7). New inputs go to a scratch directory, never
# into the committed corpus. A crash, leak, timeout or sanitizer report fails the script
# and leaves the input in build/fuzz/artifacts/; fix the bug and commit that input to the
# target's corpus.
#
#   scripts/run-fuzzers.sh [seconds per target]          (default 60, or KERNELMC_FUZZ_SECONDS)
#
# Targets run two at a time (CI has 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${KERNELMC_FUZZ_SECONDS:-60}}"
build=build/fuzz
mapfile -t sources < <(ls tests/fuzz/fuzz_*.cpp)
targets=()
for src in "${sources[@]}"; do targets+=("$(basename "$src" .cpp)"); done
if [[ ! -f "$build/build.ninja" ]]; then cmake --preset fuzz >/dev/null; fi
cmake --build "$build" --target "${targets[@]}"

artifacts="$build/artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
run_one() {
  local target="$1" name="${1#fuzz_}"
  local corpus="tests/fuzz/corpus/$name"
  mkdir -p "$scratch/$name"
  [[ -d "$corpus" ]] || echo "run-fuzzers: $target has no corpus directory $corpus (starting empty)" >&2
  if "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$scratch/$name" $([[ -d "$corpus" ]] && echo "$corpus") \
       >"$scratch/$name.log" 2>&1; then
    echo "run-fuzzers: $target: no finding in ${seconds} s ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$name.log" | grep -o '[0-9]*$') runs)"
  else
    echo "run-fuzzers: $target FAILED; input in $artifacts/$name-*" >&2
    tail -n 40 "$scratch/$name.log" >&2
    return 1
  fi
}
status=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  if ((${#pids[@]} == 2)); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
