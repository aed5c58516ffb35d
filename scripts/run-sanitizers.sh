#!/usr/bin/env bash
# Builds the `sanitize` preset (GCC, AddressSanitizer + UndefinedBehaviorSanitizer, any
# report fatal) and runs the tests under it: by default the `unit` label (the CLI tests
# included) plus a few cheap statistical tests that drive the samplers and the theory's
# Monte Carlo routes, sized for CI's 2 cores (tests/README.md lists the measured times).
#
#   scripts/run-sanitizers.sh [ctest arguments]     (default: the CI selection below)
#
# Only the executables those tests need are built (no bench, and the statistical
# executables only for the chosen subset).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/sanitize
if [[ ! -f "$build/build.ninja" ]]; then cmake --preset sanitize >/dev/null; fi
# The statistical tests run under the sanitizers: quick ones (≲ 10 s each un-instrumented)
# whose code paths the unit tests reach only with tiny sizes.
statistical='^(FillStandardNormal|Uniform01|MakeStream|FourPointStatistical|TiltedExpectationsStatistical|FbSolverStatistical)\.'
cmake --build "$build" --target kernelmc core_tests sampling_tests theory_tests validation_tests cli_tests \
  core_statistical_tests theory_statistical_tests
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if (($# > 0)); then
  ctest --test-dir "$build" --output-on-failure -j2 "$@"
else
  ctest --test-dir "$build" --output-on-failure -j2 -L unit
  ctest --test-dir "$build" --output-on-failure -j2 -L statistical -R "$statistical"
fi
