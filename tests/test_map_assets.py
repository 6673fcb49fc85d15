"""The files maps inline: as npm shipped them (manifest), in the wheel, inlined safely."""

import hashlib
import json
from pathlib import Path

import pytest

import geokmeans
from geokmeans._map_assets import asset_versions, leaflet_head

PACKAGE = Path(geokmeans.__file__).parent
ROOT = PACKAGE.parent
MANIFEST = json.loads((PACKAGE / "_assets" / "manifest.json").read_text())


def test_shipped_files_are_those_of_the_manifest():
    assert set(MANIFEST) == {"leaflet"}
    for name, entry in MANIFEST.items():
        assert entry["integrity"].startswith("sha512-") and entry["license"]
        assert "LICENSE" in entry["files"]  # each package's licence beside its files
        for relative, record in entry["files"].items():
            data = (PACKAGE / "_assets" / name / relative).read_bytes()
            assert len(data) == record["bytes"], relative
            assert hashlib.sha256(data).hexdigest() == record["sha256"], relative
    shipped = {p.relative_to(PACKAGE / "_assets").as_posix()
               for p in (PACKAGE / "_assets").rglob("*") if p.is_file()}
    listed = {f"{name}/{f}" for name, entry in MANIFEST.items() for f in entry["files"]}
    assert shipped == listed | {"manifest.json"}  # nothing unlisted


def test_pinned_versions_are_recorded():
    from scripts.refresh_map_assets import PACKAGES

    assert asset_versions() == {name: version for name, (version, _, _) in PACKAGES.items()}
    assert asset_versions()["leaflet"].startswith("1.9.")
    for name, (_, licence, files) in PACKAGES.items():
        assert MANIFEST[name]["license"] == licence
        assert sorted(MANIFEST[name]["files"]) == sorted(files.values())


def test_package_data_puts_every_asset_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["geokmeans"]
    matched = {p.relative_to(PACKAGE).as_posix() for pattern in patterns
               for p in PACKAGE.glob(pattern) if p.is_file()}
    needed = {"_assets/manifest.json"} | {f"_assets/{name}/{f}" for name, entry in
                                           MANIFEST.items() for f in entry["files"]}
    assert needed <= matched, needed - matched
    assert any(d.startswith("colorcet") for d in config["project"]["dependencies"])


def test_leaflet_head_inlines_the_stylesheet_images():
    head = leaflet_head()
    assert "url(images/layers.png)" not in head and "url(images/layers-2x.png)" not in head
    assert head.count("url(data:image/png;base64,") == 2
    assert "sourceMappingURL" not in head
    assert head.count("<script>") == 1 and head.count("</script>") == 1
    assert head.count("<style>") == 1 and head.count("</style>") == 1
    with_markers = leaflet_head(markers=True)
    assert with_markers.startswith(head) and with_markers.count("<script>") == 2
    assert with_markers.count("data:image/png;base64,") == 2 + 3
