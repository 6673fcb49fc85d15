"""Every script in examples/ runs and writes what it says."""

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_dc_tutorial(tmp_path):
    out = run_example("dc_tutorial.py", tmp_path)
    assert "CRS EPSG:32618" in out
    back = gpd.read_file(tmp_path / "dc_clusters.geojson")
    assert sorted(back.kind.unique()) == ["centroids", "hulls", "points"]
    assert (back.kind == "points").sum() == 200
    assert (back.kind == "centroids").sum() == 6
