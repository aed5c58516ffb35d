#!/usr/bin/env bash
# Builds the `sanitize` preset (GCC, AddressSanitizer + UndefinedBehaviorSanitizer, any
# report fatal; -O1 -g1, half the compile time of -O2 -g) and runs tests under it. By
# default, sized for CI's 2 cores (tests/README.md, "CI budget"): the unit tests of core/ and
# sampling/, the CLI tests (they run the sanitized kernelmc, so prior, sample, theory,
# criticality and validate go through theory/ and validation/ too), and the RNG's
# statistical checks. With ctest arguments it builds every test executable and passes the
# arguments on:
#
#   scripts/run-sanitizers.sh                 (the CI selection)
#   scripts/run-sanitizers.sh -L unit         (every unit test)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/sanitize
if [[ ! -f "$build/build.ninja" ]]; then cmake --preset sanitize >/dev/null; fi
if (($# > 0)); then
  cmake --build "$build"
else
  cmake --build "$build" --target kernelmc core_tests sampling_tests cli_tests core_statistical_tests
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if (($# > 0)); then
  ctest --test-dir "$build" --output-on-failure -j2 "$@"
else
  # The unit tests of the folders built above (labels `unit` and the folder, tests/CMakeLists.txt),
  # then the RNG's statistical ones. --no-tests=error: a selection that runs nothing fails.
  ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 -L '^unit$' -L '^(core|sampling|cli)$'
  ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 -L statistical \
    -R '^(FillStandardNormal|Uniform01|MakeStream)\.'
fi
