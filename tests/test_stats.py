"""Spherical convex hulls of clusters (``stats.cluster_hulls``, ``stats.hull_vertex_rows``)."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from numpy.testing import assert_array_equal
from pyproj import Transformer

from geokmeans import GeoKMeansWarning
from geokmeans.stats import cluster_hulls, hull_vertex_rows

from .hull_check import assert_good_hull, assert_good_hulls, normalised_means, uncovered, unit

DATA = Path(__file__).resolve().parents[1] / "data"
GLOBE = shapely.box(-180, -90, 180, 90)


def hulls_of(lon, lat, labels, centres=None, k=None):
    lon, lat, labels = np.asarray(lon, float), np.asarray(lat, float), np.asarray(labels)
    k = labels.max() + 1 if k is None else k
    centre_lon, centre_lat = normalised_means(lon, lat, labels, k) if centres is None else centres
    return cluster_hulls(lon, lat, labels, np.asarray(centre_lon, float),
                         np.asarray(centre_lat, float))


def reference_vertices(lon, lat):
    """The spherical hull's vertices, independently: the points next to the origin on the
    3-D convex hull of the unit vectors and the origin (qhull)."""
    from scipy.spatial import ConvexHull

    xyz = unit(lon, lat)
    hull = ConvexHull(np.vstack([xyz, [[0.0, 0.0, 0.0]]]))
    origin = len(xyz)
    rows = np.unique(hull.simplices[(hull.simplices == origin).any(axis=1)])
    return {(lon[r], lat[r]) for r in rows if r != origin}


def voronoi_labels(lon, lat, k, rng):
    """Labels by the nearest of k random points (on the sphere): clusters like k-means'."""
    xyz = unit(lon, lat)
    seeds = xyz[rng.choice(len(xyz), k, replace=False)]
    return np.argmax(xyz @ seeds.T, axis=1)


@pytest.fixture(scope="module", params=["world_cities", "us_airports"])
def places(request):
    frame = pd.read_csv(DATA / f"{request.param}.csv")
    return frame.longitude.to_numpy(), frame.latitude.to_numpy()


# -- the audit's cases ------------------------------------------------------------------------


def test_world_cities_in_one_cluster_is_the_globe_with_a_warning():
    # no hemisphere holds every city: the spherical hull is the whole sphere
    frame = pd.read_csv(DATA / "world_cities.csv")
    lon, lat = frame.longitude.to_numpy(), frame.latitude.to_numpy()
    with pytest.warns(GeoKMeansWarning, match=r"clusters \[0\] do not fit in a hemisphere"):
        hull, = hulls_of(lon, lat, np.zeros(lon.size, int))
    assert shapely.equals(hull, GLOBE) and hull.exterior.is_ccw
    assert_good_hull(hull, lon, lat)


def test_us_airports_in_one_cluster_is_one_polygon_around_the_north_pole():
    frame = pd.read_csv(DATA / "us_airports.csv")
    lon, lat = frame.longitude.to_numpy(), frame.latitude.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Guam to the Virgin Islands: still one hemisphere
        hull, = hulls_of(lon, lat, np.zeros(lon.size, int))
    assert hull.geom_type == "Polygon"
    assert_good_hull(hull, lon, lat)
    assert hull.covers(shapely.Point(-100, 40)) and hull.covers(shapely.Point(0, 90))
    assert not hull.covers(shapely.Point(0, 0))


@pytest.mark.parametrize("lat, pole", [(85.0, 90.0), (-88.0, -90.0)])
def test_ring_around_a_pole_is_a_polygon_holding_it(lat, pole):
    lon = np.arange(-180.0, 180.0, 10.0)
    lats = np.full(lon.size, lat)
    for with_pole in (False, True):
        lons = np.append(lon, 0.0) if with_pole else lon
        lat_all = np.append(lats, pole) if with_pole else lats
        hull, = hulls_of(lons, lat_all, np.zeros(lons.size, int))
        assert hull.geom_type == "Polygon" and hull.area > 0
        assert_good_hull(hull, lons, lat_all)
        assert hull.covers(shapely.Point(12.3, pole)) and hull.covers(shapely.Point(-77.7, pole))
        # along lat ±90 over the full 360°, and between the points the great circles
        # run poleward of their latitude
        assert hull.bounds == (-180.0, min(lat, pole), 180.0, max(lat, pole))
        assert hull.covers(shapely.Point(5.0, lat + np.sign(lat) * 0.05))


def test_points_all_around_a_latitude_circle():
    lon = np.linspace(-170, 170, 30)
    # at 60°N they fit in the northern hemisphere; on the equator in none
    hull, = hulls_of(lon, np.full(30, 60.0), np.zeros(30, int))
    assert hull.geom_type == "Polygon" and hull.covers(shapely.Point(0, 90))
    assert_good_hull(hull, lon, np.full(30, 60.0))
    rng = np.random.default_rng(0)
    lat = rng.uniform(-10, 10, 30)
    with pytest.warns(GeoKMeansWarning, match="hemisphere"):
        hull, = hulls_of(lon, lat, np.zeros(30, int))
    assert shapely.equals(hull, GLOBE)


def test_points_from_minus90_minus60_to_90_60():
    # the ends are antipodal: in no open hemisphere
    lon, lat = np.linspace(-90, 90, 30), np.linspace(-60, 60, 30)
    with pytest.warns(GeoKMeansWarning):
        hull, = hulls_of(lon, lat, np.zeros(30, int))
    assert shapely.equals(hull, GLOBE)
    # a shorter stretch of the same straight lon/lat line is not a great circle: a thin
    # polygon, not a line
    lon, lat = np.linspace(-40, 40, 30), np.linspace(-30, 30, 30)
    hull, = hulls_of(lon, lat, np.zeros(30, int))
    assert hull.geom_type == "Polygon" and hull.area > 1.0
    assert_good_hull(hull, lon, lat)


# -- anywhere on Earth -------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 8, 20])
def test_random_clusters_of_real_places(places, k):
    lon, lat = places
    for seed in range(2):
        rng = np.random.default_rng(seed)
        labels = voronoi_labels(lon, lat, k, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GeoKMeansWarning)  # k = 1, 2 of world cities
            hulls = hulls_of(lon, lat, labels, k=k)
        assert_good_hulls(hulls, lon, lat, labels)
        rows = hull_vertex_rows(lon, lat, labels, *normalised_means(lon, lat, labels, k))
        for j, hull in enumerate(hulls):
            members = labels == j
            if shapely.equals(hull, GLOBE):
                continue
            mine = {(lon[r], lat[r]) for r in rows[labels[rows] == j]}
            assert mine == reference_vertices(lon[members], lat[members])


def test_centres_far_from_their_points_change_nothing(places):
    # the centre only chooses the projection; a useless one (some point 90° or more
    # away) is replaced by one found from the points, and the hulls stay the same
    lon, lat = places
    rng = np.random.default_rng(5)
    labels = voronoi_labels(lon, lat, 6, rng)
    good = hulls_of(lon, lat, labels, k=6)
    means_lon, means_lat = normalised_means(lon, lat, labels, 6)
    far = hulls_of(lon, lat, labels, centres=(means_lon + 180.0, -means_lat), k=6)
    for a, b in zip(good, far, strict=True):
        assert shapely.equals_exact(a, b, tolerance=0)


def test_hulls_of_partitions_equal_the_whole(places):
    # what hulls_of does for dask results: the hulls of the union of each partition's
    # vertex rows are those of all the rows, exactly
    lon, lat = places
    for seed, k in [(0, 1), (1, 3), (2, 12)]:
        rng = np.random.default_rng(seed)
        labels = voronoi_labels(lon, lat, k, rng)
        centres = normalised_means(lon, lat, labels, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GeoKMeansWarning)
            whole = cluster_hulls(lon, lat, labels, *centres)
            part = rng.integers(0, 4, lon.size)
            rows = np.concatenate([np.flatnonzero(part == p)[hull_vertex_rows(
                lon[part == p], lat[part == p], labels[part == p], *centres)] for p in range(4)])
            assert rows.size < 100 * k  # a few rows per cluster and partition
            shuffled = rng.permutation(rows)
            again = cluster_hulls(lon[shuffled], lat[shuffled], labels[shuffled], *centres)
        for a, b in zip(whole, again, strict=True):
            assert shapely.equals_exact(a, b, tolerance=0)


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_clusters_around_and_near_the_poles(pole, seed):
    rng = np.random.default_rng(seed)
    sign = np.sign(pole)
    cases = {
        "cap on the pole": (rng.uniform(-180, 180, 300), sign * rng.uniform(70, 89.9, 300)),
        "cap beside the pole": (rng.uniform(0, 60, 300), sign * rng.uniform(80, 89.5, 300)),
        "wide cap": (rng.uniform(-180, 180, 300), sign * rng.uniform(5, 60, 300)),
        "pole a vertex": (np.append(rng.uniform(10, 80, 50), 33.0),
                          np.append(sign * rng.uniform(60, 85, 50), pole)),
        "pole on an edge": (np.array([0.0, 180.0, 90.0, 60.0]), sign * np.array([80, 80, 75, 85])),
        "pole inside, near an edge": (np.array([-1.0, 179.0, 90.0]),
                                      sign * np.array([80, 80.1, 75])),
    }
    for name, (lon, lat) in cases.items():
        hull, = hulls_of(lon, lat, np.zeros(lon.size, int))
        assert_good_hull(hull, lon, lat)
        assert {(a, b) for a, b in zip(lon, lat, strict=True)} >= reference_vertices(lon, lat), name


@pytest.mark.parametrize("lat_range", [(-18, -16), (60, 70), (-5, 5), (80, 85)])
def test_clusters_across_the_antimeridian(lat_range, seed):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(170, 195, 400)
    lon = np.where(lon > 180, lon - 360, lon)
    lon[:3] = [180.0, -180.0, 179.0]
    lat = rng.uniform(*lat_range, 400)
    hull, = hulls_of(lon, lat, np.zeros(lon.size, int))
    assert hull.geom_type == "MultiPolygon"
    assert_good_hull(hull, lon, lat)
    # two pieces meeting at the meridian: about 25° wide together, not 335°
    widths = [part.bounds[2] - part.bounds[0] for part in hull.geoms]
    assert 24 < sum(widths) < 27
    assert {-180.0, 180.0} <= {b for part in hull.geoms for b in (part.bounds[0], part.bounds[2])}


def test_local_cluster_has_the_vertices_of_a_planar_hull_in_utm(seed):
    # a few kilometres in Manhattan: great circles and UTM lines agree to well under a
    # millimetre there, so both hulls pick the same points
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-74.02, -73.96, 500), rng.uniform(40.70, 40.76, 500)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32618", always_xy=True)
    x, y = to_utm.transform(lon, lat)
    planar = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    utm_vertices = {tuple(c) for c in shapely.get_coordinates(planar)}
    expected = {(lon[i], lat[i]) for i in range(500) if (x[i], y[i]) in utm_vertices}
    labels = np.zeros(500, int)
    rows = hull_vertex_rows(lon, lat, labels, np.array([-73.99]), np.array([40.73]))
    assert {(lon[r], lat[r]) for r in rows} == expected
    hull, = hulls_of(lon, lat, labels)
    assert_good_hull(hull, lon, lat)
    assert expected <= {tuple(c) for c in shapely.get_coordinates(hull)}  # exact vertices
    assert hull.area == pytest.approx(shapely.convex_hull(shapely.multipoints(
        np.column_stack([lon, lat]))).area, rel=1e-4)  # edges bow by a few centimetres


# -- degenerate clusters -----------------------------------------------------------------------


def test_one_and_two_points_and_duplicates():
    lon = np.array([5.0, 5.0, 5.0, 10.0, 10.0, 11.0, 179.0, -179.0, 1.0])
    lat = np.array([5.0, 5.0, 5.0, 20.0, 20.0, 21.0, 0.0, 1.0, 1.0])
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 4])
    hulls = hulls_of(lon, lat, labels)
    assert hulls[0].equals(shapely.Point(5, 5)) and hulls[4].equals(shapely.Point(1, 1))
    assert hulls[1].geom_type == "LineString"
    assert {tuple(c) for c in shapely.get_coordinates(hulls[1])[[0, -1]]} == {(10, 20), (11, 21)}
    assert hulls[2].geom_type == "MultiLineString"  # cut at the 180° meridian
    ends = {c for part in hulls[2].geoms for c in shapely.get_coordinates(part)[[0, -1], 0]}
    assert ends == {-180.0, 180.0, -179.0, 179.0}
    assert hulls[3] is None
    for j in (0, 1, 2, 4):
        members = labels == j
        assert hulls[j].is_valid and uncovered(hulls[j], lon[members], lat[members]).size == 0
    # every row at a vertex, duplicates included
    rows = hull_vertex_rows(lon, lat, labels, *normalised_means(lon, lat, labels, 5))
    assert_array_equal(rows, [0, 1, 2, 3, 4, 5, 6, 7, 8])


def test_points_on_one_great_circle_give_a_line_along_it():
    # a meridian across the north pole, and the equator
    lon = np.array([20.0, 20.0, 20.0, -160.0, -160.0])
    lat = np.array([60.0, 70.0, 80.0, 85.0, 75.0])
    line, = hulls_of(lon, lat, np.zeros(5, int))
    assert line.geom_type == "LineString" and line.is_valid
    coords = shapely.get_coordinates(line)
    assert set(coords[:, 0]) == {20.0, -160.0} and coords[:, 1].max() == 90.0
    assert uncovered(line, lon, lat).size == 0
    line, = hulls_of([-30.0, 0.0, 12.5, 40.0], [0.0] * 4, np.zeros(4, int))
    assert line.equals(shapely.LineString([(-30, 0), (40, 0)]))


def test_grid_points_on_great_circles_are_not_vertices():
    # a 1° grid: the meridians are great circles (only their ends are vertices); the
    # great circle between the corners of the northern row bows north of it (the row is
    # inside), that of the southern row too (every point of the row is a vertex)
    lon, lat = (a.ravel() for a in np.meshgrid(np.arange(0.0, 11.0), np.arange(40.0, 51.0)))
    labels = np.zeros(lon.size, int)
    expected = {(0.0, 50.0), (10.0, 50.0)} | {(x, 40.0) for x in range(11)}
    hulls = []
    for centre in ([5.0], [45.0]), ([-100.0], [-30.0]):  # the latter is replaced
        rows = hull_vertex_rows(lon, lat, labels, np.array(centre[0]), np.array(centre[1]))
        assert {(lon[r], lat[r]) for r in rows} >= expected
        hulls.append(hulls_of(lon, lat, labels, centres=centre)[0])
        coords = {tuple(c) for c in shapely.get_coordinates(hulls[-1])}
        assert coords >= expected and not coords & {(x, 50.0) for x in range(1, 10)}
        assert_good_hull(hulls[-1], lon, lat)
    assert shapely.equals_exact(*hulls, tolerance=0)


def test_duplicated_points_change_no_hull(seed):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(170, 190, 200), rng.uniform(50, 80, 200)
    lon = np.where(lon > 180, lon - 360, lon)
    labels = rng.integers(0, 3, 200)
    hulls = hulls_of(lon, lat, labels, k=3)
    twice = hulls_of(np.tile(lon, 2), np.tile(lat, 2), np.tile(labels, 2),
                     centres=normalised_means(lon, lat, labels, 3), k=3)
    for a, b in zip(hulls, twice, strict=True):
        assert shapely.equals_exact(a, b, tolerance=0)


def test_edges_follow_great_circles():
    # a long east-west edge bows poleward of its latitude: the polygon follows it
    hull, = hulls_of([-60.0, 60.0, 0.0], [50.0, 50.0, 40.0], np.zeros(3, int))
    top = shapely.get_coordinates(hull)[:, 1].max()
    # the great circle's highest point, at lon 0: 67.2°
    highest = np.degrees(np.arctan(np.tan(np.radians(50)) / np.cos(np.radians(60))))
    assert top == pytest.approx(highest, abs=1e-9)
    # and the polygon holds the arc (sampled finely), not only its own samples
    arc = np.linspace(0, 1, 2001)[:, None]
    a, b = unit(-60.0, 50.0)[0], unit(60.0, 50.0)[0]
    omega = np.arccos(a @ b)
    points = (np.sin((1 - arc) * omega) * a + np.sin(arc * omega) * b) / np.sin(omega)
    lon = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    lat = np.degrees(np.arcsin(points[:, 2]))
    assert uncovered(hull, lon, lat).size == 0


def test_cluster_partials_of_unit_weights_equal_those_of_explicit_ones():
    # weights of 1 take a shortcut (the counts for the weight sums, the distances for the
    # weighted ones): the same bits as the weights written out
    from geokmeans.core._source import ArraySource, unit_weights
    from geokmeans.projection import choose_projection
    from geokmeans.stats import cluster_partials

    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(13, 15, 5000), rng.uniform(45, 47, 5000)
    projection = choose_projection(lon, lat)
    X = projection.forward(lon, lat)
    centres = X[rng.choice(len(X), 7, replace=False)]
    centre_lon, centre_lat = projection.inverse(centres)
    labels = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1).astype(np.int32)
    results = []
    for weights in (unit_weights(len(X)), np.ones(len(X))):
        (chunk,) = ArraySource(X, weights, lon, lat).chunks
        distances, partial = cluster_partials(chunk, (labels,), centres, centre_lon,
                                              centre_lat, True, projection, True)
        results.append((distances, partial))
    (d1, p1), (d2, p2) = results
    assert_array_equal(d1, d2)
    for a, b in zip(p1, p2, strict=True):
        assert_array_equal(a, b)
    assert_array_equal(p1[1], np.bincount(labels, minlength=7))
