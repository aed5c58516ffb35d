#!/usr/bin/env bash
# `kernelmc theory` on examples/theory_erf_p256.toml (erf, L = 3, P = 256), measured whole:
# wall time and peak resident memory from /usr/bin/time -v, with the machine's load average
# and core count beside them (on a shared machine the load is part of the figure). The
# target is < 60 s and < 2 GB on 2 cores. The stage times come from the command's own table.
# Usage: bench/theory_cli_p256.sh [build dir, default build/release] [output dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build/release}"
out_dir="${2:-$(mktemp -d)}"
binary="$build_dir/cli/kernelmc"
[ -x "$binary" ] || { echo "theory_cli_p256.sh: $binary not built (cmake --build $build_dir --target kernelmc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "theory_cli_p256.sh: /usr/bin/time missing (Debian package: time)" >&2; exit 1; }
echo "cores: $(nproc), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
log="$out_dir/time.log"
/usr/bin/time -v "$binary" theory --config examples/theory_erf_p256.toml --out "$out_dir" --quiet --force \
  > "$out_dir/stdout.txt" 2> "$log"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E "Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU" "$log"
grep -E "^time: " "$out_dir/stdout.txt" || true
