"""Projection choice and round trips."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyproj import CRS

from geokmeans import CRSError
from geokmeans.projection import (
    EARTH_RADIUS_M,
    Projection,
    choose_projection,
    longitude_extent,
    utm_zone_crs,
    wrap_longitude,
)


@pytest.mark.parametrize(
    "lon, lat, epsg",
    [
        (-73.97, 40.78, 32618),  # Manhattan
        (-77.03, 38.90, 32618),  # Washington DC
        (2.35, 48.86, 32631),  # Paris
        (151.21, -33.87, 32756),  # Sydney
        (-0.13, 51.51, 32630),  # London
        (178.4, -18.1, 32760),  # Suva, Fiji
    ],
)
def test_known_utm_zones(lon, lat, epsg):
    assert utm_zone_crs(lon, lat).to_epsg() == epsg
    rng = np.random.default_rng(0)
    lons = lon + rng.uniform(-0.2, 0.2, 50)
    lats = lat + rng.uniform(-0.2, 0.2, 50)
    assert choose_projection(lons, lats).name == f"EPSG:{epsg}"


def test_longitude_extent_across_antimeridian():
    west, east, width = longitude_extent([179.0, -179.5, 178.0, -178.0])
    assert (west, east) == (178.0, -178.0)
    assert width == pytest.approx(4.0)
    assert longitude_extent([10.0, 20.0, 15.0]) == (10.0, 20.0, 10.0)
    assert longitude_extent([5.0, 5.0]) == (5.0, 5.0, 0.0)


def test_auto_uses_utm_across_antimeridian_when_narrow():
    # Aleutians near 180°: a zone is chosen on the right side, not zone 31 at 0°.
    proj = choose_projection([179.2, 179.9, -179.6, -179.1], [51.8, 52.0, 51.9, 52.1])
    assert proj.mode == "utm"
    assert proj.crs.to_epsg() in (32660, 32601)


@pytest.mark.parametrize(
    "lon, lat",
    [
        ([-122.4, -74.0], [37.8, 40.7]),  # coast to coast
        ([170.0, -170.0], [-15.0, -14.0]),  # 20° across the 180° meridian
        ([10.0, 10.5], [84.5, 85.0]),  # beyond UTM's northern limit
        ([0.0, 0.1], [-80.5, -80.1]),  # beyond UTM's southern limit
    ],
)
def test_auto_falls_back_to_sphere(lon, lat):
    assert choose_projection(lon, lat).mode == "sphere"


def test_named_projected_crs_in_feet_gives_metres():
    # EPSG:2263, New York Long Island state plane, US survey feet
    proj = choose_projection([-74.0], [40.7], "EPSG:2263")
    X = proj.forward([-74.0, -74.0], [40.7, 40.71])
    from geokmeans.stats import geodesic_distances_m

    geodesic = geodesic_distances_m(-74.0, 40.7, -74.0, 40.71)[()]
    assert np.linalg.norm(X[1] - X[0]) == pytest.approx(geodesic, rel=1e-3)
    lon, lat = proj.inverse(X)
    assert_allclose(lon, [-74.0, -74.0], atol=1e-9)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4269", "OGC:CRS84", CRS.from_epsg(4326)])
def test_geographic_crs_refused(crs):
    with pytest.raises(CRSError, match="geographic"):
        choose_projection([0.0], [0.0], crs)


def test_unknown_crs_refused():
    with pytest.raises(CRSError, match="not a CRS pyproj understands"):
        choose_projection([0.0], [0.0], "EPSG:999999")


@pytest.mark.parametrize("mode_crs", [("sphere", None), ("utm", "EPSG:32618"),
                                      ("crs", "EPSG:3857")])
def test_round_trip(mode_crs):
    mode, crs = mode_crs
    proj = Projection(mode, None if crs is None else CRS.from_user_input(crs))
    rng = np.random.default_rng(1)
    lon = rng.uniform(-76.0, -74.0, 1000)
    lat = rng.uniform(39.0, 42.0, 1000)
    lon2, lat2 = proj.inverse(proj.forward(lon, lat))
    assert_allclose(lon2, lon, atol=1e-8)
    assert_allclose(lat2, lat, atol=1e-8)


def test_sphere_coordinates_and_chord_order():
    proj = Projection("sphere")
    X = proj.forward([0.0, 90.0, 0.0], [0.0, 0.0, 90.0])
    assert_allclose(X, EARTH_RADIUS_M * np.eye(3), atol=1e-6)
    # chord distance increases with the great-circle angle
    angles = np.linspace(0.0, 180.0, 50)
    P = proj.forward(angles, np.zeros(50))
    chords = np.linalg.norm(P - P[0], axis=1)
    assert (np.diff(chords) > 0).all()


def test_wrap_longitude():
    assert_allclose(wrap_longitude([180.0, -180.0, 190.0, -190.0, 540.0]),
                    [-180.0, -180.0, -170.0, 170.0, -180.0])


def test_projection_rejects_inconsistent_fields():
    with pytest.raises(CRSError):
        Projection("sphere", CRS.from_epsg(32618))
    with pytest.raises(CRSError):
        Projection("utm")


# -- a named CRS and its area of use -------------------------------------------------------


def _warns_outside(crs, lon, lat):
    import warnings

    from geokmeans import GeoKMeansWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        choose_projection(lon, lat, crs)
    return [str(w.message) for w in caught if issubclass(w.category, GeoKMeansWarning)]


@pytest.mark.parametrize("crs, lon, lat, warns", [
    ("EPSG:32618", [150.0, 151.5], [-34.0, -33.0], True),    # UTM 18N for Australia
    ("EPSG:32618", [-75.0, -74.0], [40.0, 41.0], False),
    ("EPSG:32618", [-80.5, -74.0], [-2.0, 41.0], False),     # within the 3° margin
    ("EPSG:32618", [-82.0, -74.0], [40.0, 41.0], True),      # 4° west of the zone
    ("EPSG:3832", [178.0, -178.0], [-18.0, -16.0], False),   # Pacific, across 180°
    ("EPSG:3832", [2.0, 3.0], [48.0, 49.0], True),           # Paris in a Pacific CRS
    ("EPSG:3857", [-10.0, 10.0], [86.0, 89.0], True),        # Web Mercator near the pole
    ("+proj=utm +zone=18 +datum=WGS84", [150.0], [-33.0], False),  # no area of use known
])
def test_area_of_use_warning(crs, lon, lat, warns):
    messages = _warns_outside(crs, lon, lat)
    assert bool(messages) == warns, messages
    if warns:
        assert "area of use" in messages[0] and "the data span lon" in messages[0]


def test_area_of_use_warning_names_crs_and_extent():
    (message,) = _warns_outside("EPSG:32618", [150.0, 151.5], [-34.0, -33.0])
    assert message.startswith("crs=EPSG:32618 (WGS 84 / UTM zone 18N) is meant for lon -78 "
                              "to -72, lat 0 to 84")
    assert "the data span lon 150 to 151.5, lat -34 to -33" in message


def test_auto_and_sphere_never_warn():
    assert _warns_outside("auto", [150.0, 151.5], [-34.0, -33.0]) == []
    assert _warns_outside("sphere", [150.0, 151.5], [-34.0, -33.0]) == []


@pytest.mark.parametrize("crs", [None, True, 1.5])
def test_non_crs_values_refused(crs):
    with pytest.raises(CRSError, match="is not a CRS"):
        choose_projection([0.0], [0.0], crs)


def test_parse_crs():
    from geokmeans.projection import parse_crs

    assert parse_crs("AUTO") is None
    assert parse_crs("Sphere").mode == "sphere"
    assert parse_crs(CRS.from_epsg(32618)).name == "EPSG:32618"
    assert parse_crs(32618).name == "EPSG:32618"


def _longitude_extent_by_unique(lon):
    """The formula ``longitude_extent`` had: np.unique of the wrapped values."""
    values = np.unique(wrap_longitude(lon))
    if values.size == 1:
        return float(values[0]), float(values[0]), 0.0
    gaps = np.diff(np.concatenate([values, [values[0] + 360.0]]))
    largest = int(np.argmax(gaps))
    return (float(values[(largest + 1) % values.size]), float(values[largest]),
            float(360.0 - gaps[largest]))


@pytest.mark.parametrize("seed", range(5))
def test_longitude_extent_sorted_in_place_matches_the_unique_formula(seed):
    rng = np.random.default_rng(seed)
    cases = [rng.uniform(-180, 180, 1000), rng.uniform(170, 190, 500),
             np.round(rng.uniform(-10, 10, 2000)),  # many repeats
             np.array([5.0, 5.0, 5.0]), np.array([-180.0, 180.0, 0.0]),
             np.array([0.0, 120.0, 240.0]),  # equal gaps: the first one wins
             rng.choice([-179.5, 179.5, 10.0], 100)]
    for lon in cases:
        before = lon.copy()
        assert longitude_extent(lon) == _longitude_extent_by_unique(lon)
        assert_array_equal(lon, before)  # the caller's array is left as it was


def _extent_by_sorting(lon):
    """``longitude_extent`` the plain way: always from the sorted values' largest gap."""
    values = np.sort((np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0)
    if values[0] == values[-1]:
        return float(values[0]), float(values[0]), 0.0
    gaps = np.diff(values)
    inner = int(np.argmax(gaps))
    around = values[0] + 360.0 - values[-1]
    if around > gaps[inner]:
        return float(values[0]), float(values[-1]), float(360.0 - around)
    return float(values[inner + 1]), float(values[inner]), float(360.0 - gaps[inner])


def test_longitude_extent_equals_the_sorted_gaps_whatever_the_span(seed):
    # spans under 180° skip the sort; the answer must be the one the sort gives
    rng = np.random.default_rng(seed)
    for _ in range(300):
        centre, span = rng.uniform(-180, 180), rng.choice([1e-9, 5.0, 179.9, 180.0, 250.0, 360.0])
        lon = centre + rng.uniform(-span / 2, span / 2, rng.integers(1, 60))
        if rng.uniform() < 0.3:
            lon = np.append(lon, centre + span / 2)  # the span exactly
        assert longitude_extent(lon) == _extent_by_sorting(lon)
    assert longitude_extent([10.0, 190.0]) == _extent_by_sorting([10.0, 190.0])  # 180° apart
    assert longitude_extent([-179.0, 179.0]) == (179.0, -179.0, 2.0)


@pytest.mark.parametrize("seed", range(3))
def test_longitude_extent_of_several_arrays_is_that_of_their_union(seed):
    # the fast path reads only the extremes (no copy); the answer is the sorted gaps' one,
    # next to 180° too, where wrapping rounds a value just below 180 to -180
    rng = np.random.default_rng(seed)
    below_180 = np.nextafter(180.0, 0.0)
    edges = [np.array([below_180, 10.0]), np.array([-180.0, 179.0]),
             np.array([np.nextafter(-180.0, 0.0), 170.0]), np.array([below_180])]
    for _ in range(200):
        centre, span = rng.uniform(-180, 180), rng.choice([1e-9, 5.0, 179.9, 250.0])
        parts = [centre + rng.uniform(-span / 2, span / 2, rng.integers(1, 30))
                 for _ in range(rng.integers(1, 4))]
        if rng.uniform() < 0.2:
            parts.append(edges[rng.integers(len(edges))])
        union = np.concatenate(parts)
        assert longitude_extent(*parts) == _extent_by_sorting(union)
        assert longitude_extent(union) == _extent_by_sorting(union)
    for edge in edges:
        assert longitude_extent(edge) == _extent_by_sorting(edge)
    assert longitude_extent(np.array([]), np.array([10.0, 20.0])) == (10.0, 20.0, 10.0)
    # a NaN in any of the arrays answers as the joined array does, whatever the order
    a, b = np.array([14.9, -139.4]), np.array([-33.5, np.nan])
    joined = longitude_extent(np.concatenate([a, b]))
    for parts in ((a, b), (b, a), (a[:1], np.concatenate([a[1:], b]))):
        assert np.array_equal(longitude_extent(*parts), joined, equal_nan=True)


def test_projection_in_pieces_on_threads_equals_one_transform(monkeypatch):
    # pieces of 1,000 points (so that this input uses every thread): each point's metres
    # are those of one pyproj call over all of them, bit for bit
    from pyproj import Transformer

    import geokmeans.projection as projection_module

    monkeypatch.setattr(projection_module, "PROJECT_PIECE", 1_000)
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-77.5, -76.5, 10_001), rng.uniform(38.5, 39.5, 10_001)
    for crs in ("EPSG:32618", "EPSG:2248"):  # metres; US survey feet (a factor)
        projection = Projection("crs", CRS.from_user_input(crs))
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        expected = np.column_stack([x, y]) * projection._metres_per_unit
        assert_array_equal(projection.forward(lon, lat), expected)
    beyond = lat.copy()
    beyond[7_777] = 91.0  # no projected value (inf) in the last thread's piece: refused
    with pytest.raises(CRSError, match="point 7777 "):
        Projection("utm", CRS.from_epsg(32618)).forward(lon, beyond)


def test_forward_of_a_scalar_and_of_a_column():
    # one point as scalars, and (n, 1) columns, give (1, 2) and (n, 2) as they always did
    projection = Projection("utm", CRS.from_epsg(32618))
    one = projection.forward(-77.0, 38.9)
    assert one.shape == (1, 2)
    lon, lat = np.array([[-77.0], [-76.9], [-77.1]]), np.array([[38.9], [38.8], [39.0]])
    assert_array_equal(projection.forward(lon, lat), projection.forward(lon[:, 0], lat[:, 0]))
    assert_array_equal(projection.forward(lon, lat)[:1], one)
