#!/usr/bin/env bash
# Benchmark the advisory store (issue 4): import of all of ../shared/vulndata
# (OSV exports of ten ecosystems, CISA KEV, FIRST EPSS) into a fresh database,
# then opening it and matching 2,000 packages (a fixed mix of Debian 12,
# Alpine 3.20, PyPI, npm, Maven, Go, crates.io, RubyGems and Packagist names
# taken from the database's own index, three rounds).
#
# Usage: bench/run-vulndb-bench.sh
#
# Targets: import under 1 minute; open + match 2,000 packages well under 1 s.
#
# It runs the ignored test `bench_import_and_match` of the `vulndb` test
# binary in release mode; the numbers are the lines starting with BENCH.
# Matching is timed twice: with the test suite's simple comparator (dotted
# numbers: most ranges are evaluated, as with a real version ordering) and
# with the crate's own `version::compare` (while a scheme is unimplemented its
# ranges all come out "unknown").
#
# Env overrides:
#   CARGO_TARGET_DIR   build directory (default /tmp/rampart-vulndb-release)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/../shared/vulndata"
if [ ! -d "$data/osv" ]; then
    echo "SKIPPED: $data not found" >&2
    exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/rampart-vulndb-release}"
busy=$(ps -eo pcpu=,comm= | awk '$1 > 50 {print $2}' | grep -v -e ps -e cargo -e rustc || true)
[ -n "$busy" ] && echo "warning: other CPU-heavy processes are running: $busy" >&2

cd "$here"
echo "machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
cargo test --release -p rampart-vulndb --test vulndb bench_import_and_match -- --ignored --nocapture 2>&1 \
    | grep -E '^(BENCH|SKIPPED|test result)'
