#!/usr/bin/env bash
# Benchmark `rampart source ls` on the same Debian image in four source kinds
# (docker-archive, oci-archive, oci-dir, registry), check that all four list
# the same files, and time GNU tar, gzip, sha256sum, openssl and skopeo on the
# same layers as a reference point.
#
# Usage: bench/run-source-bench.sh [IMAGES_DIR]
#
#   IMAGES_DIR    where bench/make-debian-image.sh puts (or has put) the image;
#                 default /tmp/bench-images. Building it needs root; an
#                 existing image is reused.
#
# Env overrides:
#   RAMPART_BIN   use this binary instead of building one
#                 (default: CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli)
#   RUNS          timed runs per command (default 3); the table shows the median
#                 wall time and the largest peak RSS over the runs
#
# Output: a Markdown report on stdout; progress on stderr.
# Needs: python3, skopeo, docker-registry (Debian's /usr/bin/docker-registry),
# curl, GNU tar, gzip, sha256sum, openssl, /usr/bin/time (Debian package `time`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
IMAGES=${1:-/tmp/bench-images}
RUNS=${RUNS:-3}
TAG=bench
REPO_PATH=bench/debian

log() { printf '[run-source-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"

# ------------------------------------------------------------------ tools
if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time missing; installing the Debian package 'time'"
    [[ $(id -u) -eq 0 ]] || die "/usr/bin/time missing and not root: apt-get install time"
    apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; }
fi
for tool in python3 skopeo docker-registry curl tar gzip sha256sum openssl; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

# ------------------------------------------------------------------ scratch + cleanup
SCRATCH=$(mktemp -d /tmp/rampart-bench.XXXXXX)
REGISTRY_PID=
cleanup() {
    local rc=$?
    if [[ -n $REGISTRY_PID ]] && kill -0 "$REGISTRY_PID" 2>/dev/null; then
        kill "$REGISTRY_PID" 2>/dev/null || true
        wait "$REGISTRY_PID" 2>/dev/null || true
    fi
    rm -rf "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ binary
# rampart refuses to run with RAMPART_* variables it does not know, so take
# RAMPART_BIN out of the environment its children see.
GIVEN_BIN=${RAMPART_BIN:-}
unset RAMPART_BIN
if [[ -n $GIVEN_BIN ]]; then
    BIN=$GIVEN_BIN
    [[ -x $BIN ]] || die "RAMPART_BIN=$BIN is not executable"
else
    log "building: CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli"
    (cd "$REPO" && CARGO_TARGET_DIR=/tmp/rampart-release cargo build --release -p rampart-cli) >&2
    BIN=/tmp/rampart-release/release/rampart
fi
# the source the binary was (most likely) built from; the tree may move on during the run
if [[ -n $GIVEN_BIN ]]; then
    BUILT_FROM="given by RAMPART_BIN; repo at $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
else
    BUILT_FROM="built from $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
fi

# ------------------------------------------------------------------ image
log "making the image in $IMAGES (reused when present)"
"$HERE/make-debian-image.sh" "$IMAGES" >&2
DOCKER_TAR=$IMAGES/debian.docker.tar
OCI_TAR=$IMAGES/debian.oci.tar
OCI_DIR=$IMAGES/oci

# ------------------------------------------------------------------ registry
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$SCRATCH/registry"
cat >"$SCRATCH/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $SCRATCH/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
EOF
log "starting docker-registry on 127.0.0.1:$PORT (storage $SCRATCH/registry)"
docker-registry serve "$SCRATCH/registry.yml" >"$SCRATCH/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/" 2>/dev/null; then break; fi
    kill -0 "$REGISTRY_PID" 2>/dev/null || { cat "$SCRATCH/registry.log" >&2; die "registry exited"; }
    sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/" || die "registry did not come up"
REG_REF=127.0.0.1:$PORT/$REPO_PATH:$TAG
log "pushing oci:$OCI_DIR:$TAG to docker://$REG_REF"
skopeo copy --quiet --dest-tls-verify=false "oci:$OCI_DIR:$TAG" "docker://$REG_REF" >&2

# ------------------------------------------------------------------ helpers
# time_runs LABEL CMD...: runs CMD $RUNS times under /usr/bin/time, stdout and
# stderr to files in $SCRATCH; appends "wall rss_kb" lines to $SCRATCH/LABEL.times
time_runs() {
    local label=$1; shift
    local i out=$SCRATCH/$label
    : >"$out.times"
    for ((i = 1; i <= RUNS; i++)); do
        if ! /usr/bin/time -f '%e %M' -o "$out.t" "$@" >"$out.stdout" 2>"$out.stderr"; then
            cat "$out.stderr" >&2
            die "$label run $i failed: $*"
        fi
        tail -n 1 "$out.t" >>"$out.times"
        log "  $label run $i: $(tail -n 1 "$out.t") (s, KiB)"
    done
}
# median wall seconds of LABEL
median() {
    python3 - "$SCRATCH/$1.times" <<'EOF'
import statistics, sys
walls = [float(l.split()[0]) for l in open(sys.argv[1]) if l.strip()]
print(f"{statistics.median(walls):.2f}")
EOF
}
# largest peak RSS of LABEL, MiB
peak_mb() {
    python3 - "$SCRATCH/$1.times" <<'EOF'
import sys
kb = [int(l.split()[1]) for l in open(sys.argv[1]) if l.strip()]
print(f"{max(kb) / 1024:.1f}")
EOF
}
all_walls() { awk '{printf "%s%s", sep, $1; sep=" / "}' "$SCRATCH/$1.times"; }

# ------------------------------------------------------------------ rampart
# Other CPU-heavy work (builds, fuzzers) on a small machine skews every number.
# (%CPU from ps is the average over each process's lifetime: a rough check.)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=$(ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk -v me=$$ -v reg="$REGISTRY_PID" '$1 >= 20 && $2 != me && $2 != reg {printf "%s%s(%s%%)", sep, $3, $1; sep=", "}')
[[ -z $BUSY ]] || log "WARNING: other busy processes: $BUSY; timings will be noisy"
declare -A TARGET=(
    [docker-archive]="docker-archive:$DOCKER_TAR"
    [oci-archive]="oci-archive:$OCI_TAR"
    [oci-dir]="oci-dir:$OCI_DIR:$TAG"
    [registry]="registry:$REG_REF"
)
KINDS=(docker-archive oci-archive oci-dir registry)
extra_args() { [[ $1 == registry ]] && echo --insecure-registry || true; }

for kind in "${KINDS[@]}"; do
    # One untimed JSON run per kind: file counts, the cross-format comparison,
    # and it warms the page cache for the timed runs.
    log "$kind: JSON run"
    # shellcheck disable=SC2046
    "$BIN" source ls "${TARGET[$kind]}" $(extra_args "$kind") --format json -o "$SCRATCH/$kind.json" \
        2>"$SCRATCH/$kind.json.stderr" || { cat "$SCRATCH/$kind.json.stderr" >&2; die "$kind: listing failed"; }
    log "$kind: $RUNS timed runs"
    # shellcheck disable=SC2046
    time_runs "rampart-$kind" "$BIN" source ls "${TARGET[$kind]}" $(extra_args "$kind") --format json -o /dev/null
done

# ------------------------------------------------------------------ reference: tar, sha256sum, gzip, skopeo
# layer members of the docker archive (uncompressed tars) and gzip layer blobs of the OCI layout
mapfile -t DOCKER_LAYERS < <(tar -xOf "$DOCKER_TAR" manifest.json \
    | python3 -c 'import json,sys; [print(l) for l in json.load(sys.stdin)[0]["Layers"]]')
mapfile -t OCI_BLOBS < <(python3 - "$OCI_DIR" "$TAG" <<'EOF'
import json, os, sys
root, tag = sys.argv[1], sys.argv[2]
def blob(d):
    algo, hexd = d.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd)
index = json.load(open(os.path.join(root, "index.json")))
desc = next(m for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
manifest = json.load(open(blob(desc["digest"])))
for l in manifest["layers"]:
    print(blob(l["digest"]))
EOF
)
[[ ${#DOCKER_LAYERS[@]} -gt 0 && ${#OCI_BLOBS[@]} -gt 0 ]] || die "could not find the layers"
export DOCKER_TAR
DL=$(printf '%q ' "${DOCKER_LAYERS[@]}")
OB=$(printf '%q ' "${OCI_BLOBS[@]}")

log "reference timings"
time_runs ref-tar-docker bash -c "for m in $DL; do tar -xOf \"\$DOCKER_TAR\" \"\$m\" | tar -tvf - >/dev/null; done"
time_runs ref-sha-docker bash -c "for m in $DL; do tar -xOf \"\$DOCKER_TAR\" \"\$m\" | sha256sum >/dev/null; done"
time_runs ref-ossl-docker bash -c "for m in $DL; do tar -xOf \"\$DOCKER_TAR\" \"\$m\" | openssl dgst -sha256 >/dev/null; done"
time_runs ref-tar-gz bash -c "for b in $OB; do tar -tzvf \"\$b\" >/dev/null; done"
time_runs ref-gunzip bash -c "for b in $OB; do gzip -dc \"\$b\" >/dev/null; done"
time_runs ref-sha-gz bash -c "sha256sum $OB >/dev/null"
time_runs ref-sha-diffid bash -c "for b in $OB; do gzip -dc \"\$b\" | sha256sum >/dev/null; done"
time_runs ref-tar-gz-sha bash -c "for b in $OB; do sha256sum \"\$b\" >/dev/null; gzip -dc \"\$b\" | tee >(sha256sum >/dev/null) | tar -tvf - >/dev/null; done"
time_runs ref-skopeo-dir bash -c "rm -rf \"$SCRATCH/skopeo-dir\" && skopeo copy --quiet --src-tls-verify=false docker://$REG_REF dir:$SCRATCH/skopeo-dir"
rm -rf "$SCRATCH/skopeo-dir"

# ------------------------------------------------------------------ counts + comparison
python3 - "$SCRATCH" "${KINDS[@]}" >"$SCRATCH/compare.txt" <<'EOF'
import hashlib, json, sys
scratch, kinds = sys.argv[1], sys.argv[2:]
base = None
lines, same = [], True
for k in kinds:
    doc = json.load(open(f"{scratch}/{k}.json"))
    files, removed = doc.get("files", []), doc.get("removed", [])
    canon = json.dumps({"files": files, "removed": removed}, sort_keys=True).encode()
    h = hashlib.sha256(canon).hexdigest()
    counts = f"{len(files)} {len(removed)} {len(doc.get('skips', []))}"
    print(f"COUNT {k} {counts}")
    if base is None:
        base = (k, files, removed)
    elif (files, removed) != base[1:]:
        same = False
        fs = {json.dumps(f, sort_keys=True) for f in files}
        bs = {json.dumps(f, sort_keys=True) for f in base[1]}
        rs = {json.dumps(f, sort_keys=True) for f in removed}
        brs = {json.dumps(f, sort_keys=True) for f in base[2]}
        lines.append(f"{k} vs {base[0]}: files only in {k}: {len(fs - bs)}, only in {base[0]}: {len(bs - fs)}; "
                     f"removed only in {k}: {len(rs - brs)}, only in {base[0]}: {len(brs - rs)}")
        for x in sorted(fs ^ bs)[:5] + sorted(rs ^ brs)[:5]:
            lines.append("  e.g. " + x)
    print(f"HASH {k} {h}")
print("MATCH " + ("yes" if same else "no"))
for l in lines:
    print("DIFF " + l)
EOF

# sizes from the oci-dir listing (gzip layers; the docker archive's are uncompressed)
image_info=$(python3 - "$SCRATCH/oci-dir.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
img = doc["image"]
u = sum(l["uncompressed_bytes"] for l in img["layers"])
c = sum(l["compressed_bytes"] for l in img["layers"])
def size(n):
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"
per = "; ".join(f"layer {l['index']}: {size(l['uncompressed_bytes'])}, "
                f"{l['compression']} {size(l['compressed_bytes'])}" for l in img["layers"])
print(f"{len(img['layers'])} layers, {u / 1e6:.1f} MB uncompressed ({u / 2**20:.1f} MiB), "
      f"{c / 1e6:.1f} MB gzip-compressed in the OCI layout ({per}); platform {img['platform']}")
EOF
)

# ------------------------------------------------------------------ report
count_of() { awk -v k="$1" '$1 == "COUNT" && $2 == k {print $3 " / " $4}' "$SCRATCH/compare.txt"; }
match=$(awk '$1 == "MATCH" {print $2}' "$SCRATCH/compare.txt")

cat <<EOF
## rampart source ls benchmark

- date: $(date -u +%Y-%m-%dT%H:%MZ)
- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM (free -g), kernel $(uname -r)
- rampart: $("$BIN" version | head -n1), $BUILT_FROM
- image: $image_info
- files: docker-archive $(du -h "$DOCKER_TAR" | cut -f1), oci-archive $(du -h "$OCI_TAR" | cut -f1), oci-dir $(du -sh "$OCI_DIR" | cut -f1)
- load average before the timed runs: $LOAD_BEFORE${BUSY:+ (WARNING, other busy processes: $BUSY)}
- runs per command: $RUNS (median wall time; peak RSS = largest over the runs)
- command: \`rampart source ls TARGET --format json -o /dev/null\` (registry: plus \`--insecure-registry\`), under \`/usr/bin/time -f '%e %M'\`

| source kind | median wall (s) | peak RSS (MiB) | files listed / removed | all runs (s) |
|---|---:|---:|---:|---|
EOF
for kind in "${KINDS[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "$kind" "$(median "rampart-$kind")" "$(peak_mb "rampart-$kind")" \
        "$(count_of "$kind")" "$(all_walls "rampart-$kind")"
done
cat <<EOF

Same files in all four kinds (JSON \`files\` and \`removed\` arrays identical): **$match**
EOF
if [[ $match != yes ]]; then
    echo
    echo '```'
    sed -n 's/^DIFF //p' "$SCRATCH/compare.txt"
    echo '```'
fi
cat <<EOF

Reference (same layers, same machine, same run):

| reference | what it does | median wall (s) | peak RSS (MiB) |
|---|---|---:|---:|
| \`tar -xOf debian.docker.tar LAYER \| tar -tvf -\` | list the uncompressed layer tars | $(median ref-tar-docker) | $(peak_mb ref-tar-docker) |
| \`tar -xOf debian.docker.tar LAYER \| sha256sum\` | diff_id digests of the uncompressed layer tars | $(median ref-sha-docker) | $(peak_mb ref-sha-docker) |
| \`tar -xOf debian.docker.tar LAYER \| openssl dgst -sha256\` | the same digests with OpenSSL (uses SHA-NI where the CPU has it) | $(median ref-ossl-docker) | $(peak_mb ref-ossl-docker) |
| \`tar -tzvf BLOB\` | list the gzip layer blobs (gunzip + tar) | $(median ref-tar-gz) | $(peak_mb ref-tar-gz) |
| \`gzip -dc BLOB >/dev/null\` | gunzip only | $(median ref-gunzip) | $(peak_mb ref-gunzip) |
| \`sha256sum BLOB\` | compressed digests | $(median ref-sha-gz) | $(peak_mb ref-sha-gz) |
| \`gzip -dc BLOB \| sha256sum\` | gunzip + diff_id digests | $(median ref-sha-diffid) | $(peak_mb ref-sha-diffid) |
| \`sha256sum BLOB; gzip -dc BLOB \| tee >(sha256sum) \| tar -tvf -\` | what rampart does for gzip layers, with coreutils | $(median ref-tar-gz-sha) | $(peak_mb ref-tar-gz-sha) |
| \`skopeo copy docker://127.0.0.1:PORT/... dir:\` | registry download (verifies blob digests) | $(median ref-skopeo-dir) | $(peak_mb ref-skopeo-dir) |

(Reference loops run under \`bash -c\`; their peak RSS is the largest single process in the pipeline.)
EOF
