"""Download the scripts and styles that geokmeans maps inline, from the npm registry.

    python scripts/refresh_map_assets.py            # write geokmeans/_assets/ from npm
    python scripts/refresh_map_assets.py --check    # compare the shipped files with npm

Each package is fetched at the pinned version below with ``npm pack`` (npm checks the
tarball against the registry's integrity hash; this script checks it again), and only the
files a map uses are kept, unmodified, with the package's licence beside them.
``geokmeans/_assets/manifest.json`` records, for each package, its version, the tarball's
integrity hash and every kept file's size and SHA-256 (the tests check the shipped files
against it). Needs ``npm`` on the PATH.
"""

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "geokmeans" / "_assets"
MANIFEST = ASSETS / "manifest.json"

# package -> (pinned version, licence, {file in the package: file under _assets/<package>/})
PACKAGES = {
    "leaflet": ("1.9.4", "BSD-2-Clause", {
        "LICENSE": "LICENSE",
        "dist/leaflet.js": "leaflet.js",
        "dist/leaflet.css": "leaflet.css",
        "dist/images/layers.png": "images/layers.png",  # the layer control's button
        "dist/images/layers-2x.png": "images/layers-2x.png",
        # the default marker, for folium markers added to a map
        "dist/images/marker-icon.png": "images/marker-icon.png",
        "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
        "dist/images/marker-shadow.png": "images/marker-shadow.png",
    }),
}


def npm_pack(spec, directory):
    """The tarball of ``spec`` (``name@version``) fetched by npm into ``directory``, and
    its integrity string (``sha512-<base64>``), checked against the tarball's bytes."""
    done = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(directory)],
                          capture_output=True, text=True, check=True)
    info = json.loads(done.stdout)[0]
    tarball = Path(directory) / info["filename"]
    algorithm, _, expected = info["integrity"].partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{spec}: tarball does not match its integrity {info['integrity']}")
    return tarball, info["integrity"]


def fetch(name, version, files, directory):
    """``{target path: bytes}`` of the kept files of ``name@version`` and its integrity."""
    tarball, integrity = npm_pack(f"{name}@{version}", directory)
    found = {}
    with tarfile.open(tarball) as archive:
        for source, target in files.items():
            member = archive.extractfile(f"package/{source}")
            if member is None:
                raise SystemExit(f"{name}@{version}: {source} is not a file in the package")
            found[target] = member.read()
    return found, integrity


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the shipped files with npm's; write nothing")
    args = parser.parse_args()
    manifest, different = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, licence, files) in PACKAGES.items():
            contents, integrity = fetch(name, version, files, tmp)
            entry = {"version": version, "license": licence, "integrity": integrity,
                     "files": {}}
            for (source, target), data in zip(files.items(), contents.values(), strict=True):
                path = ASSETS / name / target
                entry["files"][target] = {"from": source, "bytes": len(data),
                                          "sha256": hashlib.sha256(data).hexdigest()}
                if args.check:
                    if not path.is_file() or path.read_bytes() != data:
                        different.append(str(path.relative_to(ROOT)))
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
            manifest[name] = entry
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if args.check:
        if not MANIFEST.is_file() or MANIFEST.read_text() != text:
            different.append(str(MANIFEST.relative_to(ROOT)))
        print("differ from npm: " + ", ".join(different) if different
              else "the shipped assets are npm's")
        return 1 if different else 0
    MANIFEST.write_text(text)
    print(f"wrote {MANIFEST.relative_to(ROOT)}: "
          + ", ".join(f"{n} {e['version']}" for n, e in manifest.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
