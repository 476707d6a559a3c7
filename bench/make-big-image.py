#!/usr/bin/env python3
"""Build a synthetic ~5 GB OCI image layout for Rampart's memory benchmark.

Usage: bench/make-big-image.py OUT_DIR [GIB]

Two uncompressed layers (so the build takes seconds, not minutes):
  layer 0: GIB-0.1 GiB of pseudo-random data in 1 MiB files, plus 300,000
           small files spread over 3,000 directories (real images have
           hundreds of thousands of entries: the index must stay small);
  layer 1: deletes 1,000 of the small files (whiteouts) and a directory.
The layout is written to OUT_DIR/oci with tag "big". Idempotent.
"""
import hashlib, io, json, os, sys, tarfile, time

def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    gib = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    layout = os.path.join(out, "oci")
    if os.path.exists(os.path.join(layout, "index.json")):
        print(f"{layout} exists; nothing to do")
        return
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    t0 = time.time()

    def write_layer(fill):
        tmp = os.path.join(blobs, "tmp.tar")
        h = hashlib.sha256()
        class Hashing(io.RawIOBase):
            def __init__(self, f): self.f = f
            def writable(self): return True
            def write(self, b):
                h.update(b); return self.f.write(b)
        with open(tmp, "wb") as f:
            with tarfile.open(fileobj=Hashing(f), mode="w|", format=tarfile.GNU_FORMAT) as t:
                fill(t)
        digest = h.hexdigest()
        os.rename(tmp, os.path.join(blobs, digest))
        return digest, os.path.getsize(os.path.join(blobs, digest))

    def add(t, name, data=b"", kind=tarfile.REGTYPE):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mtime = 1700000000
        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        if kind == tarfile.REGTYPE:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        else:
            t.addfile(ti)

    def layer0(t):
        big = int((gib - 0.1) * 1024)
        add(t, "data", kind=tarfile.DIRTYPE)
        chunk = os.urandom(1 << 20)
        for i in range(big):
            # Vary each file cheaply so no two are identical.
            add(t, f"data/blob{i:05d}.bin", i.to_bytes(8, "little") + chunk[8:])
        for d in range(3000):
            add(t, f"usr/share/many/d{d:04d}", kind=tarfile.DIRTYPE)
            for f in range(100):
                add(t, f"usr/share/many/d{d:04d}/f{f:03d}.txt", b"x" * 100)

    def layer1(t):
        for d in range(10):
            for f in range(100):
                add(t, f"usr/share/many/d{d:04d}/.wh.f{f:03d}.txt")
        add(t, "usr/share/many/.wh.d2999")
        add(t, "etc/added-later", b"later\n")

    layers = [write_layer(layer0), write_layer(layer1)]
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d, _ in layers]},
        "history": [{"created_by": "synthetic big layer"}, {"created_by": "synthetic deletions"}],
    }).encode()
    cd = hashlib.sha256(config).hexdigest()
    open(os.path.join(blobs, cd), "wb").write(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + d, "size": s} for d, s in layers],
    }).encode()
    md = hashlib.sha256(manifest).hexdigest()
    open(os.path.join(blobs, md), "wb").write(manifest)
    open(os.path.join(layout, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    open(os.path.join(layout, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "big"}}]}))
    total = sum(s for _, s in layers)
    print(f"wrote {layout}: {total / 2**30:.2f} GiB in {time.time() - t0:.0f} s")

main()
