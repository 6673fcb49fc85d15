"""Geodesic distances: the closed formula below 500 km against Karney's algorithm (pyproj)."""

import numpy as np
import pytest
from pyproj import Geod

from geokmeans import stats

WGS84 = Geod(ellps="WGS84")


def random_lines(n, rng, max_m=2e7, min_m=1e-3):
    """Lines from points spread evenly over the sphere, any azimuth, lengths log-uniform."""
    lon = rng.uniform(-180, 180, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    azimuth = rng.uniform(-180, 180, n)
    length = np.exp(rng.uniform(np.log(min_m), np.log(max_m), n))
    to_lon, to_lat, _ = WGS84.fwd(lon, lat, azimuth, length)
    return lon, lat, np.asarray(to_lon), np.asarray(to_lat)


def karney(lon, lat, to_lon, to_lat):
    return np.asarray(WGS84.inv(lon, lat, to_lon, to_lat)[2])


def test_within_2_mm_and_1e_8_of_karney_everywhere(seed):
    rng = np.random.default_rng(seed)
    lines = random_lines(300_000, rng, max_m=1.2e6)
    expected = karney(*lines)
    got = stats.geodesic_distances_m(*lines)
    error = np.abs(got - expected)
    assert error.max() < 2e-3
    metre_or_more = expected >= 1.0
    assert (error[metre_or_more] / expected[metre_or_more]).max() < 1e-8
    assert error[~metre_or_more].max() < 1e-7  # round-off of Earth-centred coordinates


@pytest.mark.parametrize("lat", [89.999, 89.5, -89.9, 0.0, 45.0])
def test_near_the_poles_across_the_antimeridian_and_on_the_equator(lat):
    rng = np.random.default_rng(0)
    n = 20_000
    lon = rng.uniform(179.0, 180.0, n) * rng.choice([-1, 1], n)
    lines = (lon, np.full(n, lat), *WGS84.fwd(lon, np.full(n, lat), rng.uniform(-180, 180, n),
                                             rng.uniform(0, 4e5, n))[:2])
    np.testing.assert_allclose(stats.geodesic_distances_m(*lines), karney(*lines), rtol=1e-8,
                               atol=2e-3)


def test_lines_beyond_the_chord_limit_are_karneys_exactly():
    rng = np.random.default_rng(1)
    lines = random_lines(50_000, rng, max_m=2e7, min_m=6e5)  # every chord > 500 km
    np.testing.assert_array_equal(stats.geodesic_distances_m(*lines), karney(*lines))
    # Karney's algorithm: a quarter of the equator is 10,018,754.171394 m on WGS84
    assert stats.geodesic_distances_m([0.0], [0.0], [90.0], [0.0])[0] == pytest.approx(
        10_018_754.171394, abs=1e-6)


def test_continuous_across_the_chord_limit():
    # meridian lines whose chords run from just below to just above the limit
    length = np.linspace(stats.SHORT_CHORD_M - 50.0, stats.SHORT_CHORD_M + 50.0, 1001) + 250.0
    to_lon, to_lat, _ = WGS84.fwd(np.full(1001, 10.0), np.full(1001, 40.0), np.zeros(1001),
                                  length)
    got = stats.geodesic_distances_m(np.full(1001, 10.0), np.full(1001, 40.0), to_lon, to_lat)
    np.testing.assert_allclose(got, length, rtol=0, atol=2e-3)
    assert (np.diff(got) > 0).all()


def test_coincident_missing_and_scalar_points():
    got = stats.geodesic_distances_m([5.0, np.nan, 10.0, -180.0], [50.0, 1.0, 90.0, 0.0],
                                     [5.0, 1.0, -170.0, 180.0], [50.0, 1.0, 90.0, 0.0])
    assert got[0] == 0.0 and np.isnan(got[1])
    assert got[2] == pytest.approx(0.0, abs=1e-6)  # the pole, whatever the longitude
    assert got[3] == pytest.approx(0.0, abs=1e-6)  # the same point written twice
    one = stats.geodesic_distances_m(-74.0, 40.7, -74.0, 40.71)  # numbers: one line
    assert one.shape == (1,) and one[0] == pytest.approx(karney(-74.0, 40.7, -74.0, 40.71),
                                                         abs=1e-6)
    assert stats.geodesic_distances_m([], [], [], []).shape == (0,)


def test_split_over_threads_and_pieces_equals_one_piece(monkeypatch):
    rng = np.random.default_rng(2)
    n = 2 * stats.PARALLEL_MIN_POINTS + 12_345
    lines = random_lines(n, rng)  # short and long lines mixed in every piece
    monkeypatch.setattr(stats, "CHUNK_POINTS", n)
    whole = stats.geodesic_distances_m(*lines)
    calls = []
    original = stats._geodesics_m

    def counting(*columns):
        calls.append(len(columns[0]))
        return original(*columns)

    monkeypatch.setattr(stats, "_geodesics_m", counting)
    monkeypatch.setattr(stats, "CHUNK_POINTS", 40_001)  # pieces of odd sizes
    monkeypatch.setattr(stats, "_threads", lambda: 3)  # more threads than this machine's CPUs
    np.testing.assert_array_equal(stats.geodesic_distances_m(*lines), whole)
    assert sum(calls) == n and len(calls) == -(-n // 40_001)


def test_targets_by_label_equal_gathered_targets(monkeypatch):
    rng = np.random.default_rng(3)
    n = 70_000
    lon, lat = rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)
    centre_lon, centre_lat = rng.uniform(-180, 180, 7), rng.uniform(-90, 90, 7)
    labels = rng.integers(0, 7, n)
    monkeypatch.setattr(stats, "CHUNK_POINTS", 9_999)
    np.testing.assert_array_equal(
        stats.geodesic_distances_m(lon, lat, centre_lon, centre_lat, labels=labels),
        stats.geodesic_distances_m(lon, lat, centre_lon[labels], centre_lat[labels]))
