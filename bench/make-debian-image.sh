#!/usr/bin/env bash
# Build a ~250 MB (uncompressed) Debian bookworm benchmark image for Rampart.
#
# Usage: bench/make-debian-image.sh OUT_DIR
#
# Produces (skipped if already present):
#   OUT_DIR/oci                 OCI image layout, tag "bench" (gzip layers)
#   OUT_DIR/debian.oci.tar      oci-archive of the same image (tag "bench")
#   OUT_DIR/debian.docker.tar   docker-archive (uncompressed layers), RepoTags localhost/rampart-bench:bench
#
# Image: 2 layers.
#   layer 1: debootstrap --variant=minbase bookworm + $INCLUDE packages
#   layer 2: adds /opt/bench/*, deletes /etc/motd (whiteout etc/.wh.motd) and
#            the whole dir /usr/share/doc/curl (single whiteout usr/share/doc/.wh.curl;
#            umoci repack never emits opaque .wh..wh..opq whiteouts)
#
# Requirements: root, debootstrap, umoci, skopeo, network access to the Debian mirror.
# Env overrides: MIRROR (default: first non-security URI in /etc/apt/sources.list.d/*.sources,
#                else http://deb.debian.org/debian), SUITE (bookworm), INCLUDE (package list),
#                KEEP_WORK=1 (keep OUT_DIR/.work after success).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
SUITE=${SUITE:-bookworm}
INCLUDE=${INCLUDE:-python3,python3-pip,python3-requests,perl,curl,ca-certificates,openssl,procps,less,xz-utils,file,wget}
TAG=bench
DOCKER_REF=localhost/rampart-bench:$TAG
WORK=$OUT/.work

log() { printf '[make-debian-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in debootstrap umoci skopeo; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

summary() {
    local digest layers
    digest=$(skopeo inspect --format '{{.Digest}}' "oci:$OUT/oci:$TAG")
    layers=$(skopeo inspect --format '{{len .Layers}}' "oci:$OUT/oci:$TAG")
    echo "image digest (manifest): $digest, layers: $layers"
    echo "outputs:"
    printf '  %-8s %s\n' "$(du -sh "$OUT/oci" | cut -f1)" "$OUT/oci (OCI layout, tag $TAG, gzip layers)"
    printf '  %-8s %s\n' "$(du -sh "$OUT/debian.oci.tar" | cut -f1)" "$OUT/debian.oci.tar (oci-archive, tag $TAG, gzip layers)"
    printf '  %-8s %s\n' "$(du -sh "$OUT/debian.docker.tar" | cut -f1)" "$OUT/debian.docker.tar (docker-archive $DOCKER_REF, uncompressed layers)"
}

have_oci() { [[ -f $OUT/oci/index.json ]] && skopeo inspect --raw "oci:$OUT/oci:$TAG" >/dev/null 2>&1; }

if have_oci && [[ -s $OUT/debian.oci.tar && -s $OUT/debian.docker.tar ]]; then
    log "all outputs already exist in $OUT, nothing to do"
    summary
    exit 0
fi

START=$SECONDS

# ---------------------------------------------------------------- OCI layout
if ! have_oci; then
    [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, umoci unpack/repack)"

    if [[ -z ${MIRROR:-} ]]; then
        MIRROR=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
                 | tr ' ' '\n' | grep -v -e security -e '^$' | head -n1 || true)
        MIRROR=${MIRROR:-http://deb.debian.org/debian}
    fi

    ROOTFS=$WORK/rootfs
    if [[ ! -f $WORK/rootfs.ok ]]; then
        # never rm -rf a tree that still has proc/sys mounted inside it
        if grep -q " $ROOTFS/" /proc/mounts; then
            die "something is still mounted under $ROOTFS; unmount it first"
        fi
        rm -rf "$ROOTFS"
        mkdir -p "$WORK"
        log "debootstrap $SUITE (minbase + $INCLUDE) from $MIRROR ..."
        debootstrap --variant=minbase --components=main --include="$INCLUDE" \
            "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
            || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
        if grep -q " $ROOTFS/" /proc/mounts; then
            die "debootstrap left mounts under $ROOTFS"
        fi
        # make it look like a container image rootfs
        rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
               "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*.log \
               "$ROOTFS"/var/log/apt/* "$ROOTFS"/dev/* "$ROOTFS"/proc/* "$ROOTFS"/sys/* \
               "$ROOTFS"/run/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
        : >"$ROOTFS/etc/resolv.conf"
        echo rampart-bench >"$ROOTFS/etc/hostname"
        touch "$WORK/rootfs.ok"
        log "rootfs ready: $(du -sh "$ROOTFS" | cut -f1)"
    else
        log "reusing rootfs from previous run: $ROOTFS"
    fi

    LAYOUT=$WORK/layout
    BUNDLE=$WORK/bundle
    rm -rf "$LAYOUT" "$BUNDLE"
    umoci init --layout "$LAYOUT"
    umoci new --image "$LAYOUT:$TAG"
    umoci unpack --image "$LAYOUT:$TAG" "$BUNDLE" >/dev/null
    log "layer 1: copying rootfs into bundle and repacking ..."
    cp -a "$ROOTFS"/. "$BUNDLE/rootfs/"
    umoci repack --refresh-bundle --history.created_by "debootstrap --variant=minbase $SUITE" \
        --image "$LAYOUT:$TAG" "$BUNDLE"

    log "layer 2: add /opt/bench, delete /etc/motd and /usr/share/doc/curl ..."
    R=$BUNDLE/rootfs
    mkdir -p "$R/opt/bench"
    printf 'Rampart benchmark image (Debian %s)\n' "$SUITE" >"$R/opt/bench/README.txt"
    printf '#!/usr/bin/env python3\nprint("hello from rampart bench")\n' >"$R/opt/bench/app.py"
    chmod 0755 "$R/opt/bench/app.py"
    rm -f "$R/etc/motd"
    rm -rf "$R/usr/share/doc/curl"
    umoci repack --history.created_by "add /opt/bench; rm /etc/motd /usr/share/doc/curl" \
        --image "$LAYOUT:$TAG" "$BUNDLE"

    umoci config --image "$LAYOUT:$TAG" \
        --author "rampart bench" \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --config.env LANG=C.UTF-8 \
        --config.workingdir / \
        --config.cmd /bin/bash \
        --config.label org.opencontainers.image.title=rampart-bench-debian
    umoci gc --layout "$LAYOUT"

    rm -rf "$OUT/oci" "$OUT/oci.tmp"
    skopeo copy --quiet "oci:$LAYOUT:$TAG" "oci:$OUT/oci.tmp:$TAG"
    mv "$OUT/oci.tmp" "$OUT/oci"
    # archives must be re-made from the new layout
    rm -f "$OUT/debian.oci.tar" "$OUT/debian.docker.tar"
    log "made $OUT/oci"
fi

# ---------------------------------------------------------------- archives
if [[ ! -s $OUT/debian.oci.tar ]]; then
    rm -f "$OUT/debian.oci.tar.tmp"
    skopeo copy --quiet "oci:$OUT/oci:$TAG" "oci-archive:$OUT/debian.oci.tar.tmp:$TAG"
    mv "$OUT/debian.oci.tar.tmp" "$OUT/debian.oci.tar"
    log "made $OUT/debian.oci.tar"
fi
if [[ ! -s $OUT/debian.docker.tar ]]; then
    rm -f "$OUT/debian.docker.tar.tmp"
    skopeo copy --quiet "oci:$OUT/oci:$TAG" "docker-archive:$OUT/debian.docker.tar.tmp:$DOCKER_REF"
    mv "$OUT/debian.docker.tar.tmp" "$OUT/debian.docker.tar"
    log "made $OUT/debian.docker.tar"
fi

if [[ ${KEEP_WORK:-0} != 1 ]]; then
    rm -rf "$WORK"
fi

summary
echo "time: $((SECONDS - START))s"
