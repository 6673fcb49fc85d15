"""An RFC 7946 checker for the GeoJSON files the project writes (used by the tests).

``check_geojson(path)`` parses strictly (``NaN``/``Infinity`` are not JSON) and asserts:
a FeatureCollection of Features; no ``crs`` member anywhere; every Feature has
``properties`` (an object or null) and ``geometry`` (null, or a geometry with non-empty
coordinates); positions are 2 or 3 finite numbers with longitude in [-180, 180] and
latitude in [-90, 90]; line strings have >= 2 positions; polygon rings are closed, have
>= 4 positions, and wind counter-clockwise (exterior) or clockwise (holes).
"""

import itertools
import json
import math
from pathlib import Path

__all__ = ["check_geojson", "layer_features"]

_GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
               "MultiPolygon", "GeometryCollection"}


def _reject_constant(name):
    raise AssertionError(f"{name} is not valid JSON (RFC 8259) and so not valid GeoJSON")


def _position(pos, where):
    assert isinstance(pos, list) and len(pos) in (2, 3), f"{where}: bad position {pos!r}"
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos), \
        f"{where}: position {pos!r} is not numbers"
    assert all(math.isfinite(v) for v in pos), f"{where}: non-finite position {pos!r}"
    lon, lat = pos[0], pos[1]
    assert -180 <= lon <= 180, f"{where}: longitude {lon} out of range"
    assert -90 <= lat <= 90, f"{where}: latitude {lat} out of range"


def _signed_area(ring):
    """Twice the signed area (shoelace): > 0 counter-clockwise in lon/lat."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in itertools.pairwise(ring))


def _polygon(rings, where):
    assert isinstance(rings, list) and rings, f"{where}: a polygon needs rings"
    for i, ring in enumerate(rings):
        assert isinstance(ring, list) and len(ring) >= 4, f"{where}: ring {i} has < 4 positions"
        for pos in ring:
            _position(pos, where)
        assert ring[0] == ring[-1], f"{where}: ring {i} is not closed"
        area = _signed_area(ring)
        if i == 0:
            assert area >= 0, f"{where}: exterior ring is clockwise (RFC 7946 wants CCW)"
        else:
            assert area <= 0, f"{where}: hole {i} is counter-clockwise (RFC 7946 wants CW)"


def _geometry(geom, where):
    assert isinstance(geom, dict), f"{where}: geometry must be an object or null"
    assert "crs" not in geom, f"{where}: crs member"
    kind = geom.get("type")
    assert kind in _GEOMETRIES, f"{where}: unknown geometry type {kind!r}"
    if kind == "GeometryCollection":
        for i, part in enumerate(geom["geometries"]):
            _geometry(part, f"{where}/{i}")
        return
    coords = geom["coordinates"]
    assert isinstance(coords, list) and coords, f"{where}: empty coordinates (use null)"
    if kind == "Point":
        _position(coords, where)
    elif kind in ("MultiPoint", "LineString"):
        for pos in coords:
            _position(pos, where)
        if kind == "LineString":
            assert len(coords) >= 2, f"{where}: a LineString needs >= 2 positions"
    elif kind == "MultiLineString":
        for line in coords:
            assert len(line) >= 2, f"{where}: a LineString needs >= 2 positions"
            for pos in line:
                _position(pos, where)
    elif kind == "Polygon":
        _polygon(coords, where)
    else:
        for polygon in coords:
            _polygon(polygon, where)


def check_geojson(source):
    """Assert that ``source`` (a path, or GeoJSON text) is valid RFC 7946; return it parsed."""
    is_text = isinstance(source, str) and source.lstrip().startswith("{")
    if not is_text:
        text = Path(source).read_text(encoding="utf-8")
    else:
        text = source
    document = json.loads(text, parse_constant=_reject_constant)
    assert document.get("type") == "FeatureCollection", "not a FeatureCollection"
    assert "crs" not in document, "RFC 7946 has no crs member"
    assert isinstance(document.get("features"), list), "features must be a list"
    for i, feature in enumerate(document["features"]):
        where = f"feature {i}"
        assert feature.get("type") == "Feature", f"{where}: not a Feature"
        assert "crs" not in feature, f"{where}: crs member"
        assert "properties" in feature, f"{where}: no properties member"
        assert feature["properties"] is None or isinstance(feature["properties"], dict), where
        assert "geometry" in feature, f"{where}: no geometry member"
        if feature["geometry"] is not None:
            _geometry(feature["geometry"], where)
    return document


def layer_features(document, layer):
    """The features of ``document`` whose ``"geokmeans:layer"`` member is ``layer``."""
    return [f for f in document["features"] if f.get("geokmeans:layer") == layer]
