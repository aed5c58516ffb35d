#!/usr/bin/env bash
# Builds the `sanitize` preset (GCC, AddressSanitizer + UndefinedBehaviorSanitizer, any
# report fatal) and runs the tests under it: by default the `unit` label (the CLI tests
# included, so the kernelmc executable runs sanitized too) plus the RNG's statistical
# checks, sized for CI's 2 cores (tests/README.md lists the measured times).
#
#   scripts/run-sanitizers.sh [ctest arguments]     (default: the CI selection below)
#
# Only the executables those tests need are built (no bench, no statistical executables but
# the RNG's).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/sanitize
if [[ ! -f "$build/build.ninja" ]]; then cmake --preset sanitize >/dev/null; fi
# The statistical label is left out (its executables alone would add ≈ 8 min of sanitized
# compilation on 2 cores, tests/README.md), except the RNG checks, whose executable is one file.
statistical='^(FillStandardNormal|Uniform01|MakeStream)\.'
cmake --build "$build" --target kernelmc core_tests sampling_tests theory_tests validation_tests cli_tests \
  core_statistical_tests
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if (($# > 0)); then
  ctest --test-dir "$build" --output-on-failure -j2 "$@"
else
  ctest --test-dir "$build" --output-on-failure -j2 -L unit
  ctest --test-dir "$build" --output-on-failure -j2 -L statistical -R "$statistical"
fi
