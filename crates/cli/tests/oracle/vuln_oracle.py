#!/usr/bin/env python3
"""An independent oracle for Rampart's vulnerability matching.

Reads the packages of a target (`rampart sbom -f json`) and OSV exports
(`<dir>/<Ecosystem>/all.zip`) and says which OSV records affect which
package, using each ecosystem's own version authority instead of Rampart's
code:

  deb             libapt's comparison (python3-apt), else `dpkg --compare-versions`
  pypi            the `packaging` library pip itself uses (PEP 440)
  npm, cargo, Go  the `semver` module npm itself uses (node)
  maven           plain numeric versions only (others reported as unchecked)

OSV semantics (https://ossf.github.io/osv-schema/): withdrawn records are
ignored; `versions` lists match exactly; `ECOSYSTEM` and `SEMVER` ranges
are evaluated event by event in version order (`introduced` opens,
`fixed` closes, `last_affected` closes after that version, `limit` stops);
`GIT` ranges are ignored.

Output (stdout, JSON): {"matches": [[purl, id], ...],
                        "unchecked": [[purl, id, reason], ...]}
"""

import argparse
import functools
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

NODE_COMPARE = r"""
const paths = ['/usr/lib/node_modules/npm/node_modules/semver', '/usr/share/nodejs/semver',
               '/usr/local/lib/node_modules/npm/node_modules/semver'];
let semver = null;
for (const p of paths) { try { semver = require(p); break; } catch (e) {} }
if (!semver) { console.error('semver module not found'); process.exit(3); }
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(([a, b]) => {
    const va = semver.parse(a), vb = semver.parse(b);
    if (!va || !vb) return null;
    return semver.compare(va, vb);
  });
  process.stdout.write(JSON.stringify(out));
});
"""


class Unparsable(Exception):
    pass


def deb_comparator():
    try:
        import apt_pkg  # type: ignore

        apt_pkg.init_system()
        return lambda a, b: (apt_pkg.version_compare(a, b) > 0) - (apt_pkg.version_compare(a, b) < 0)
    except ImportError:
        pass

    @functools.lru_cache(maxsize=None)
    def cmp(a, b):
        if subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0:
            return -1
        if subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0:
            return 0
        return 1

    return cmp


def pep440_comparator():
    try:
        from packaging.version import InvalidVersion, Version  # type: ignore
    except ImportError:
        from pip._vendor.packaging.version import InvalidVersion, Version  # type: ignore

    @functools.lru_cache(maxsize=None)
    def parse(v):
        try:
            return Version(v)
        except InvalidVersion as e:
            raise Unparsable(f"not a PEP 440 version: {v}") from e

    def cmp(a, b):
        va, vb = parse(a), parse(b)
        return (va > vb) - (va < vb)

    return cmp


class SemverBatch:
    """Collects comparisons, then asks node's semver for all of them at once."""

    def __init__(self):
        self.cache = {}

    @staticmethod
    def norm(v):
        if v.startswith("v"):
            return v[1:]
        # The Go toolchain's own versions (`go1.19.8`, the stdlib package).
        if v.startswith("go") and v[2:3].isdigit():
            return v[2:]
        return v

    def prefetch(self, pairs):
        todo = sorted({(self.norm(a), self.norm(b)) for a, b in pairs} - self.cache.keys())
        if not todo:
            return
        out = subprocess.run(
            ["node", "-e", NODE_COMPARE],
            input=json.dumps(todo),
            capture_output=True,
            text=True,
            check=True,
        )
        for pair, res in zip(todo, json.loads(out.stdout)):
            self.cache[pair] = res

    def __call__(self, a, b):
        key = (self.norm(a), self.norm(b))
        if key not in self.cache:
            self.prefetch([key])
        res = self.cache[key]
        if res is None:
            raise Unparsable(f"not SemVer: {a} or {b}")
        return res


MAVEN_JARS = ["/usr/share/java/maven-artifact-3.x.jar", "/usr/share/maven/lib/maven-artifact-3.x.jar"]


class MavenBatch:
    """Maven's own ComparableVersion (its command-line `main` compares each
    argument with the next), called once for every pair needed."""

    def __init__(self):
        self.jar = next((j for j in MAVEN_JARS if Path(j).is_file()), None)
        self.cache = {}

    def prefetch(self, pairs):
        todo = sorted(set(pairs) - self.cache.keys())
        if not todo or self.jar is None:
            return
        args = [v for pair in todo for v in pair]
        out = subprocess.run(
            ["java", "-cp", self.jar, "org.apache.maven.artifact.versioning.ComparableVersion", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        results = []
        for line in out.stdout.splitlines():
            m = re.fullmatch(r"\s+(\S+) (<|>|==) (\S+)", line)
            if m:
                results.append({"<": -1, "==": 0, ">": 1}[m.group(2)])
        # Comparisons of argument i with i+1: the pairs are the even ones.
        for pair, res in zip(todo, results[0::2]):
            self.cache[pair] = res

    def __call__(self, a, b):
        if (a, b) not in self.cache:
            self.prefetch([(a, b)])
        if (a, b) not in self.cache:
            raise Unparsable("Maven's ComparableVersion (maven-artifact jar and java) not available")
        return self.cache[(a, b)]


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def affected(version, aff, cmp):
    """True when `version` is affected by one OSV `affected` entry."""
    if version in (aff.get("versions") or []):
        return True
    for rng in aff.get("ranges") or []:
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        events = rng.get("events") or []
        limits = [e["limit"] for e in events if "limit" in e]
        if limits and not any(limit == "*" or cmp(version, limit) < 0 for limit in limits):
            continue
        # Sort the events by version ("0" first); at equal versions the
        # order introduced < fixed/last_affected keeps a zero-width range
        # closed.
        def key(e):
            (kind, v), = ((k, e[k]) for k in ("introduced", "fixed", "last_affected") if k in e)
            return kind, v

        evs = [key(e) for e in events if any(k in e for k in ("introduced", "fixed", "last_affected"))]

        def before_or_at(ev_version, inclusive):
            if ev_version == "0":
                return True
            c = cmp(ev_version, version)
            return c < 0 or (inclusive and c == 0)

        state = False
        ordered = sorted(
            evs,
            key=functools.cmp_to_key(
                lambda x, y: (0 if x[1] == y[1] else (-1 if x[1] == "0" else 1 if y[1] == "0" else cmp(x[1], y[1])))
            ),
        )
        for kind, v in ordered:
            if kind == "introduced" and before_or_at(v, True):
                state = True
            elif kind == "fixed" and before_or_at(v, True):
                state = False
            elif kind == "last_affected" and before_or_at(v, False):
                state = False
        if state:
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sbom", required=True)
    ap.add_argument("--osv", required=True)
    args = ap.parse_args()
    sbom = json.load(open(args.sbom))
    distro = sbom.get("distro") or {}
    semver = SemverBatch()
    maven = MavenBatch()
    comparators = {
        "deb": deb_comparator(),
        "pypi": pep440_comparator(),
        "npm": semver,
        "cargo": semver,
        "golang": semver,
        "maven": maven,
    }
    # What each package is looked up as: (OSV ecosystem, name, version).
    wanted = {}
    for p in sbom["packages"]:
        eco = p["ecosystem"]
        if eco == "deb":
            if distro.get("id") != "debian" or not distro.get("version_id"):
                continue
            key = (f"Debian:{distro['version_id'].split('.')[0]}", p.get("source_name") or p["name"])
            version = p.get("source_version") or p["version"]
        elif eco == "pypi":
            key, version = ("PyPI", pep503(p["name"])), p["version"]
        elif eco == "npm":
            ns = p.get("namespace")
            key, version = ("npm", f"{ns}/{p['name']}" if ns else p["name"]), p["version"]
        elif eco == "cargo":
            key, version = ("crates.io", p["name"]), p["version"]
        elif eco == "golang":
            key, version = ("Go", p["name"]), p["version"]
        elif eco == "maven":
            key, version = ("Maven", f"{p.get('namespace')}:{p['name']}"), p["version"]
        else:
            continue
        wanted.setdefault(key, []).append((p["purl"], version, eco))

    osv_dir_names = {"Debian": "Debian", "PyPI": "PyPI", "npm": "npm", "crates.io": "crates.io", "Go": "Go", "Maven": "Maven"}
    candidates = []  # (purl, version, eco, record, affected entry)
    by_dir = {}
    for eco_name, name in wanted:
        by_dir.setdefault(eco_name.split(":")[0], set()).add((eco_name, name))
    for dir_name, keys in by_dir.items():
        zpath = Path(args.osv) / osv_dir_names[dir_name] / "all.zip"
        if not zpath.is_file():
            print(f"no OSV export for {dir_name}: {zpath}", file=sys.stderr)
            continue
        with zipfile.ZipFile(zpath) as z:
            for member in z.namelist():
                if not member.endswith(".json"):
                    continue
                rec = json.loads(z.read(member))
                if rec.get("withdrawn"):
                    continue
                for aff in rec.get("affected") or []:
                    pkg = aff.get("package") or {}
                    eco_name = pkg.get("ecosystem", "")
                    name = pkg.get("name", "")
                    if dir_name == "PyPI":
                        name = pep503(name)
                    if (eco_name, name) not in keys:
                        continue
                    for purl, version, eco in wanted[(eco_name, name)]:
                        candidates.append((purl, version, eco, rec["id"], aff))

    # node semver and Maven: one process for every comparison they will be asked.
    pairs = {"semver": [], "maven": []}
    for purl, version, eco, _id, aff in candidates:
        batch = "semver" if eco in ("npm", "cargo", "golang") else "maven" if eco == "maven" else None
        if batch:
            for rng in aff.get("ranges") or []:
                for e in rng.get("events") or []:
                    for v in e.values():
                        if v not in ("0", "*"):
                            pairs[batch].append((version, v))
                            pairs[batch].append((v, version))
            vs = [e for rng in aff.get("ranges") or [] for e in rng.get("events") or []]
            evs = [v for e in vs for v in e.values() if v not in ("0", "*")]
            pairs[batch].extend((a, b) for a in evs for b in evs)
    semver.prefetch(pairs["semver"])
    maven.prefetch(pairs["maven"])

    matches, unchecked = set(), set()
    for purl, version, eco, rid, aff in candidates:
        try:
            if affected(version, aff, comparators[eco]):
                matches.add((purl, rid))
        except Unparsable as e:
            unchecked.add((purl, rid, str(e)))
    json.dump({"matches": sorted(matches), "unchecked": sorted(unchecked)}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
