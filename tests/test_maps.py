"""Map HTML: layers, legend, popups, escaping, bounds, sampling (no browser)."""

import re
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans import InputError
from geokmeans.maps import _sample_rows, cluster_colors

DATA = Path(__file__).resolve().parents[1] / "data"
XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def dc_result():
    frame = pd.read_csv(DATA / "dc_places.csv")
    frame.loc[0, "name"] = XSS
    frame.loc[1, "name"] = BREAKOUT
    return gk.cluster(frame, 5, weight="population", random_state=0)


def render(m):
    return m.get_root().render()


def test_layers_legend_and_popups(dc_result):
    html = render(dc_result.explore(tooltip=["name"], hulls=True, tiles=None))
    assert "L.canvas" in html
    assert html.count("L.circleMarker") >= 1
    for j, n in enumerate(dc_result.centroids.n_points):
        assert f"cluster {j}: {n:,} points" in html
    assert "geokmeans-legend" in html
    assert "mean distance" in html and "max distance" in html and " km<" in html
    assert '"convex hulls"' in html or "convex hulls" in html
    assert "L.control.layers" in html
    # every point is in the data array
    lat = re.search(r'"lat":\[([^\]]*)\]', html).group(1).split(",")
    assert len(lat) == 200
    assert "Showing" not in html  # not sampled


def test_payload_is_never_markup(dc_result):
    html = render(dc_result.explore(tooltip=["name"], tiles=None))
    assert XSS not in html  # the raw payload never appears as markup
    assert BREAKOUT not in html and "alert(2)</script>" not in html
    # it is inside a JSON string with <, > escaped, and only ever set with textContent
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    assert "textContent" in html


def test_script_safe_json_round_trips():
    import json

    from geokmeans.maps import script_safe_json

    value = {"a": [XSS, BREAKOUT, "x & y", "line\u2028sep"]}
    text = script_safe_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_tiles_none_and_default(dc_result):
    assert "tile.openstreetmap.org" not in render(dc_result.explore(tiles=None))
    assert "tile.openstreetmap.org" in render(dc_result.explore())


def test_draws_on_existing_map(dc_result):
    base = folium.Map(location=[0, 0], zoom_start=2, tiles=None)
    out = dc_result.explore(m=base, layer_control=False)
    assert out is base
    assert "L.canvas" in render(base)


def test_bounds_fit_data(dc_result):
    html = render(dc_result.explore(tiles=None))
    bounds = re.search(r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", html)
    south, west, north, east = map(float, bounds.groups())
    assert 38.69 < south < 38.75 and 39.05 < north < 39.11
    assert -77.31 < west < -77.2 and -76.85 < east < -76.79


def test_bounds_across_antimeridian_are_narrow():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([np.where(rng.random(300) < 0.5, rng.uniform(178, 180, 300),
                                       rng.uniform(-180, -178, 300)),
                              rng.uniform(-18, -16, 300)])
    html = render(gk.cluster(lonlat, 3, random_state=0).explore(tiles=None, hulls=True))
    bounds = re.search(r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", html)
    _, west, _, east = map(float, bounds.groups())
    assert 0 < east - west < 5  # not a world-wide view
    lons = [float(v) for v in re.search(r'"lon":\[([^\]]*)\]', html).group(1).split(",")]
    assert max(lons) - min(lons) < 5


def test_large_result_is_sampled_with_note():
    rng = np.random.default_rng(1)
    n = 60_000
    lonlat = np.column_stack([rng.uniform(-74.3, -73.7, n), rng.uniform(40.5, 40.9, n)])
    result = gk.cluster(lonlat, 6, random_state=0)
    html = render(result.explore(tiles=None, max_points=5_000))
    lat = re.search(r'"lat":\[([^\]]*)\]', html).group(1).split(",")
    assert 4_000 <= len(lat) <= 5_000
    assert "Showing 5,000 of 60,000 points" in html or re.search(r"Showing [\d,]+ of 60,000", html)


def test_sample_keeps_every_cluster():
    labels = np.concatenate([np.zeros(100_000, int), np.ones(30, int), np.full(500, 2)])
    rows = _sample_rows(labels, 3, 1_000, np.random.default_rng(0))
    counts = np.bincount(labels[rows], minlength=3)
    assert counts[1] == 30 and counts[2] >= 50 and counts.sum() <= 1_000
    assert len(np.unique(rows)) == len(rows)


def test_palette_distinct_for_many_clusters():
    colours = cluster_colors(200)
    assert len(set(colours)) == 200
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)


def test_unknown_tooltip_column(dc_result):
    with pytest.raises(InputError, match=r"tooltip columns \['nope'\] not found"):
        dc_result.explore(tooltip=["nope"])


def test_save_is_atomic(dc_result, tmp_path, monkeypatch):
    path = tmp_path / "map.html"
    m = dc_result.explore(tiles=None)
    m.save(path)
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    gk.explore(dc_result, tiles=None).save(str(tmp_path / "map2.html"))
    assert (tmp_path / "map2.html").exists()


def test_save_to_a_file_object(dc_result):
    import io

    buffer = io.BytesIO()
    dc_result.explore(tiles=None).save(buffer, close_file=False)
    assert buffer.getvalue().startswith(b"<!DOCTYPE html>")


def test_hull_pieces_are_not_torn_across_the_map():
    # Cluster A has points on both sides of the widest gap in the data's longitudes
    # (105°E..130°E), which is where the map's view is cut: its hull must still be one
    # piece beside its centroid, not stretched around the world.
    rng = np.random.default_rng(3)
    a = np.column_stack([np.concatenate([rng.uniform(100, 105, 50), rng.uniform(130, 135, 50)]),
                         rng.uniform(58, 62, 100)])
    ring_lon = np.concatenate([np.arange(-180, 96, 2.0), np.arange(140, 180, 2.0)])
    b = np.column_stack([ring_lon, np.full(ring_lon.size, -40.0)])
    result = gk.cluster(np.concatenate([a, b]), 2, init=[[117.5, 60.0], [0.0, -40.0]])
    assert (result.points.cluster.iloc[:100] == 0).all()
    html = render(result.explore(tiles=None, hulls=True))
    widths = []
    for match in re.finditer(r'"coordinates": (\[\[.*?), "type": "(?:Multi)?Polygon"', html):
        coords = np.array(re.findall(r"\[(-?[\d.]+(?:e-?\d+)?), (-?[\d.]+(?:e-?\d+)?)\]",
                                     match.group(1)), dtype=float)
        widths.append(coords[:, 0].max() - coords[:, 0].min())
    assert widths, "no hull polygon in the page"
    assert widths[0] < 40, widths  # cluster A's hull (the first layer): about 35° wide
