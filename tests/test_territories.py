"""Territories: power cells against a plain-numpy argmin, in the plane and on the sphere;
clip regions, boundaries, prices, and what is refused."""

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import geokmeans as gk
from geokmeans import CRSError, DataTypeError, InputError
from geokmeans._power_cells import power_cells
from geokmeans._sphere_cells import boundary_error_m, sphere_power_cells
from geokmeans.projection import EARTH_RADIUS_M, Projection
from geokmeans.territories import (
    MIN_MARGIN_M,
    check_boundary,
    data_region,
    sphere_step_deg,
    territories,
    territory_cells,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SPHERE = Projection("sphere")
BOX = shapely.box(-3000.0, -2000.0, 5000.0, 4000.0)  # metres
GLOBE = shapely.box(-180.0, -90.0, 180.0, 90.0)


def scores(X, centres, prices):
    """|x - c_j|² + p_j (n, k), plain numpy."""
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2) + prices[None, :]


def random_cells(seed, k=12, price_scale=1e6):
    rng = np.random.default_rng(seed)
    centres = rng.uniform([-2500, -1500], [4500, 3500], size=(k, 2))
    prices = rng.uniform(0.0, price_scale, size=k)
    return centres, prices, power_cells(centres, prices, BOX)


def probes(seed, n=20_000, box=BOX):
    rng = np.random.default_rng(seed + 100)
    west, south, east, north = box.bounds
    return rng.uniform([west, south], [east, north], size=(n, 2))


# -- planar power cells ---------------------------------------------------------------------


def test_every_probe_lies_in_the_cell_of_its_least_score(seed):
    centres, prices, cells = random_cells(seed)
    X = np.vstack([probes(seed), centres])
    best = np.argmin(scores(X, centres, prices), axis=1)
    inside = shapely.contains_xy(cells[best], X[:, 0], X[:, 1])
    # a probe on an edge (not expected at random) may be outside by rounding only
    gap = shapely.distance(cells[best[~inside]], shapely.points(X[~inside]))
    assert inside.mean() > 0.999 and (gap < 1e-9).all()


def test_cells_do_not_overlap_and_cover_the_region(seed):
    _, _, cells = random_cells(seed)
    present = cells[~shapely.is_empty(cells)]
    overlap = sum(shapely.area(shapely.intersection(a, present[i + 1:])).sum()
                  for i, a in enumerate(present))
    assert overlap < 1e-9 * BOX.area
    assert shapely.union_all(present).area == pytest.approx(BOX.area, rel=1e-9)
    assert shapely.area(present).sum() == pytest.approx(BOX.area, rel=1e-9)
    assert shapely.is_valid(present).all()


@pytest.mark.parametrize("price", [0.0, 5e6])
def test_equal_prices_give_the_voronoi_cells(seed, price):
    rng = np.random.default_rng(seed)
    centres = rng.uniform([-2500, -1500], [4500, 3500], size=(15, 2))
    cells = power_cells(centres, np.full(15, price), BOX)
    voronoi = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres),
                                                         extend_to=BOX))
    for j, centre in enumerate(centres):
        reference = shapely.intersection(
            next(v for v in voronoi if v.contains(shapely.Point(centre))), BOX)
        assert shapely.symmetric_difference(cells[j], reference).area < 1e-9 * BOX.area


def test_a_centre_priced_out_has_an_empty_cell(seed):
    centres, prices, _ = random_cells(seed)
    prices[3] = 1e12  # more than any squared distance in the box
    cells = power_cells(centres, prices, BOX)
    assert cells[3].is_empty and cells[3].geom_type == "Polygon"
    assert shapely.union_all(cells).area == pytest.approx(BOX.area, rel=1e-9)


def test_one_centre_gets_the_whole_region():
    cell, = power_cells(np.array([[1e6, -1e6]]), np.array([123.0]), BOX)
    assert shapely.equals(cell, BOX)


def test_duplicate_centres_the_cheaper_or_the_first_keeps_the_cell():
    centres = np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 0.0], [0.0, 0.0]])
    same = power_cells(centres, np.zeros(4), BOX)
    assert not same[0].is_empty and not same[1].is_empty
    assert same[2].is_empty and same[3].is_empty  # as numpy.argmin, the first wins ties
    cheaper = power_cells(centres, np.array([0.0, 10.0, 0.0, 0.0]), BOX)
    assert cheaper[1].is_empty and not cheaper[2].is_empty
    X = probes(0, 2000)
    best = np.argmin(scores(X, centres, np.array([0.0, 10.0, 0.0, 0.0])), axis=1)
    assert shapely.contains_xy(cheaper[best], X[:, 0], X[:, 1]).mean() > 0.999


def test_prices_move_the_boundary_by_the_power_distance():
    # two centres 2 km apart: the boundary lies where d1² + p1 = d2² + p2
    cells = power_cells(np.array([[0.0, 0.0], [2000.0, 0.0]]), np.array([4e5, 0.0]), BOX)
    x_boundary = (2000.0**2 - 4e5) / (2 * 2000.0)  # 900 m
    assert cells[0].bounds[2] == pytest.approx(x_boundary, abs=1e-9)
    assert cells[1].bounds[0] == pytest.approx(x_boundary, abs=1e-9)


# -- sphere cells ---------------------------------------------------------------------------


def sphere_centres(seed, k, lon_range=(-180, 180), lat_range=(-90, 90), price_scale=0.0):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(*lon_range, size=k)
    z = rng.uniform(*np.sin(np.radians(lat_range)), size=k)
    centres = SPHERE.forward(lon, np.degrees(np.arcsin(z)))
    return centres, rng.uniform(0.0, price_scale, size=k)


def check_sphere_probes(cells, centres, prices, lon, lat, error_m):
    """Probes in the cell of their least score, or (a few, near a boundary) in a cell
    whose score exceeds the least by no more than a boundary ``3 error_m`` away allows."""
    X = SPHERE.forward(lon, lat)
    table = scores(X, centres, prices)
    best = np.argmin(table, axis=1)
    inside = shapely.contains_xy(cells[best], lon, lat)
    assert inside.mean() > 0.999
    for i in np.flatnonzero(~inside):
        point = shapely.Point(lon[i], lat[i])
        holder = [j for j, cell in enumerate(cells) if cell.covers(point)]
        assert len(holder) == 1, (lon[i], lat[i], holder)  # covered, once
        j = holder[0]
        slack = 2.0 * np.linalg.norm(centres[j] - centres[best[i]]) * 3.0 * error_m
        assert table[i, j] - table[i, best[i]] <= slack


@pytest.mark.parametrize("price_scale", [0.0, 2e11])
def test_sphere_probes_lie_in_the_cell_of_their_least_score(seed, price_scale):
    centres, prices = sphere_centres(seed, 25, price_scale=price_scale)
    step = sphere_step_deg(25, GLOBE.bounds)
    cells, leaf_deg = sphere_power_cells(centres, prices, GLOBE, step)
    assert leaf_deg <= step
    rng = np.random.default_rng(seed + 7)
    lon = rng.uniform(-180, 180, 30_000)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 30_000)))
    check_sphere_probes(cells, centres, prices, lon, lat, boundary_error_m(leaf_deg))
    assert shapely.area(cells).sum() == pytest.approx(GLOBE.area, rel=1e-9)
    assert shapely.union_all(cells).area == pytest.approx(GLOBE.area, rel=1e-9)


def test_sphere_cells_do_not_overlap(seed):
    centres, prices = sphere_centres(seed, 15, price_scale=1e11)
    cells, _ = sphere_power_cells(centres, prices, GLOBE, sphere_step_deg(15, GLOBE.bounds))
    overlap = sum(shapely.area(shapely.intersection(a, cells[i + 1:])).sum()
                  for i, a in enumerate(cells))
    assert overlap < 1e-9 * GLOBE.area
    assert shapely.is_valid(cells).all()


def test_sphere_equal_prices_are_spherical_voronoi_cells(seed):
    # boundaries are great circles: a probe's nearest centre by angle is its cell
    centres, _ = sphere_centres(seed, 10)
    step = sphere_step_deg(10, GLOBE.bounds)
    cells, _ = sphere_power_cells(centres, np.full(10, 7e10), GLOBE, step)
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-180, 180, 20_000), rng.uniform(-90, 90, 20_000)
    unit = SPHERE.forward(lon, lat) / EARTH_RADIUS_M
    nearest = np.argmax(unit @ (centres / EARTH_RADIUS_M).T, axis=1)
    assert shapely.contains_xy(cells[nearest], lon, lat).mean() > 0.999


def test_sphere_duplicate_centres_the_cheaper_or_the_first_keeps_the_cell():
    centres = SPHERE.forward([10.0, 50.0, 50.0, 10.0, -100.0], [0.0, 20.0, 20.0, 0.0, -30.0])
    same, _ = sphere_power_cells(centres, np.zeros(5), GLOBE, 0.5)
    assert [cell.is_empty for cell in same] == [False, False, True, True, False]
    cheaper, _ = sphere_power_cells(centres, np.array([0.0, 5e9, 0.0, 0.0, 0.0]), GLOBE, 0.5)
    assert [cell.is_empty for cell in cheaper] == [False, True, False, True, False]
    assert shapely.area(cheaper).sum() == pytest.approx(GLOBE.area, rel=1e-9)
    (alone,), _ = sphere_power_cells(centres[:1], np.zeros(1), GLOBE, 0.5)
    assert shapely.equals(alone, GLOBE)


def test_sphere_boundary_error_shrinks_with_the_step():
    assert boundary_error_m(0.1) == pytest.approx(EARTH_RADIUS_M * np.radians(0.1) ** 2 / 8)
    assert boundary_error_m(0.05) == pytest.approx(boundary_error_m(0.1) / 4)
    # the step gives about SPHERE_LEAVES leaves: a few metres for a dozen world cells
    assert boundary_error_m(sphere_step_deg(12, GLOBE.bounds)) < 10.0


# -- territories of fitted models -----------------------------------------------------------


def fit(lon, lat, k, **options):
    model = gk.GeoKMeans(k, random_state=0, **options).fit(np.column_stack([lon, lat]))
    return model


def test_dc_territories_hold_their_points_and_cover_the_hull():
    result = gk.cluster(DATA / "dc_places.csv", 6, random_state=0)
    table = result.territories()
    assert list(table.columns) == ["cluster", "geometry"] and table.crs.equals("EPSG:4326")
    assert list(table.cluster) == list(range(6))
    lon, lat = result.points.geometry.x.to_numpy(), result.points.geometry.y.to_numpy()
    geoms = table.geometry.to_numpy()
    assert shapely.contains_xy(geoms[result.model.labels_], lon, lat).all()
    region = data_region(result.model.projection_, lon, lat)
    assert shapely.union_all(geoms).area == pytest.approx(region.area, rel=1e-9)
    assert shapely.area(geoms).sum() == pytest.approx(region.area, rel=1e-9)
    assert shapely.covers(region, shapely.points(lon, lat)).all()
    assert shapely.is_valid(geoms).all() and shapely.is_ccw(shapely.get_exterior_ring(geoms)).all()


def test_default_margin_in_the_projected_plane():
    result = gk.cluster(DATA / "dc_places.csv", 3, random_state=0)
    projection = result.model.projection_
    lon, lat = result.points.geometry.x.to_numpy(), result.points.geometry.y.to_numpy()
    X = projection.forward(lon, lat)
    hull = shapely.convex_hull(shapely.multipoints(X))
    extent = max(np.ptp(X[:, 0]), np.ptp(X[:, 1]))
    region = shapely.get_coordinates(data_region(projection, lon, lat))
    farthest = shapely.distance(hull, shapely.points(projection.forward(*region.T))).max()
    assert farthest == pytest.approx(max(0.05 * extent, MIN_MARGIN_M), rel=1e-3)


def test_one_point_gets_a_disc_of_the_least_margin():
    model = fit([10.0, 10.0], [50.0, 50.0], 1)
    (cell,), leaf_deg = territory_cells(model, [10.0], [50.0])
    assert leaf_deg is None  # exact cells in a projected mode
    area_m2 = shapely.area(shapely.transform(
        cell, lambda xy: model.projection_.forward(xy[:, 0], xy[:, 1])))
    assert area_m2 == pytest.approx(np.pi * MIN_MARGIN_M**2, rel=0.01)


def test_prices_of_a_balanced_fit_are_used(seed):
    # what a size-limited fit leaves: labels by least |x - c|² + price
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-77.2, -76.9, 3000), rng.uniform(38.8, 39.0, 3000)
    model = fit(lon, lat, 5)
    X = model.projection_.forward(lon, lat)
    model.size_prices_ = rng.uniform(0, 3e7, 5)
    labels = np.argmin(scores(X, model.cluster_centers_m_, model.size_prices_), axis=1)
    assert (labels != model.labels_).any()  # the prices move points
    cells, _ = territory_cells(model, lon, lat)
    inside = shapely.contains_xy(cells[labels], lon, lat)
    assert inside.mean() > 0.999
    gap = shapely.distance(cells[labels[~inside]], shapely.points(lon[~inside], lat[~inside]))
    assert (gap < 1e-9).all()


@pytest.mark.parametrize("prices", [np.zeros(4), np.array([1.0, np.nan, 0.0, 0.0, 0.0])])
def test_prices_of_the_wrong_shape_are_refused(prices):
    model = fit([10.0, 10.1, 10.2, 10.3, 10.4], [50.0, 50.1, 50.0, 50.2, 50.3], 5)
    model.size_prices_ = prices
    with pytest.raises(InputError, match="size_prices_ should be 5 finite numbers"):
        territory_cells(model, [10.0, 10.4], [50.0, 50.3])


def test_sphere_territories_across_the_antimeridian(seed):
    rng = np.random.default_rng(seed)
    lon = (rng.uniform(170.0, 195.0, 600) + 180.0) % 360.0 - 180.0
    lat = rng.uniform(-25.0, -10.0, 600)
    model = fit(lon, lat, 6, crs="sphere")
    table = territories(model, lon, lat)
    geoms = table.geometry.to_numpy()
    coords = shapely.get_coordinates(geoms)
    assert (np.abs(coords[:, 0]) <= 180.0).all()
    assert shapely.union_all(geoms).bounds[0] == -180.0  # cut at the 180° meridian
    region = data_region(model.projection_, lon, lat)
    assert region.geom_type == "MultiPolygon"
    assert shapely.union_all(geoms).area == pytest.approx(region.area, rel=1e-9)
    assert table.attrs["boundary_error_m"] == boundary_error_m(table.attrs["leaf_deg"]) < 1.0
    check_sphere_probes(geoms, model.cluster_centers_m_, np.zeros(6), lon, lat,
                        table.attrs["boundary_error_m"])


def test_sphere_territories_around_a_pole(seed):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-180.0, 180.0, 500), rng.uniform(84.5, 89.9, 500)
    model = fit(lon, lat, 5)
    assert model.crs_ == "sphere"
    table = territories(model, lon, lat)
    geoms = table.geometry.to_numpy()
    pole = [j for j, g in enumerate(geoms) if g.covers(shapely.Point(0.0, 90.0))]
    assert len(pole) == 1  # one cell holds the pole (and the whole line lat = 90)
    assert shapely.covers(geoms[pole[0]], shapely.LineString([(-180, 90), (180, 90)]))
    region = data_region(model.projection_, lon, lat)
    assert region.bounds[3] == 90.0 and region.bounds[0] == -180.0
    assert shapely.union_all(geoms).area == pytest.approx(region.area, rel=1e-9)
    check_sphere_probes(geoms, model.cluster_centers_m_, np.zeros(5), lon, lat,
                        table.attrs["boundary_error_m"])


def test_world_data_get_the_globe():
    frame = pd.read_csv(DATA / "world_cities.csv")
    result = gk.cluster(frame, 8, random_state=0)
    geoms = result.territories().geometry.to_numpy()
    assert shapely.union_all(geoms).area == pytest.approx(GLOBE.area, rel=1e-9)
    lon, lat = result.points.geometry.x.to_numpy(), result.points.geometry.y.to_numpy()
    assert shapely.contains_xy(geoms[result.model.labels_], lon, lat).mean() > 0.999


# -- boundaries -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dc():
    return gk.cluster(DATA / "dc_places.csv", 5, random_state=0)


def test_boundary_in_lon_lat_is_covered_exactly(dc):
    boundary = shapely.box(-77.1, 38.85, -76.95, 38.95)
    geoms = dc.territories(boundary).geometry.to_numpy()
    assert shapely.union_all(geoms).area == pytest.approx(boundary.area, rel=1e-9)
    assert shapely.area(geoms).sum() == pytest.approx(boundary.area, rel=1e-9)
    assert shapely.covers(boundary.buffer(1e-12), geoms).all()


def test_boundary_frame_in_another_crs(dc):
    centre = shapely.Point(325_000.0, 4_310_000.0)  # UTM 18N, Washington
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, crs="EPSG:32618",
                             geometry=[centre.buffer(8000.0), centre.buffer(5000.0).buffer(0)
                                       .union(shapely.box(330e3, 4300e3, 340e3, 4315e3))])
    region = check_boundary(frame)
    assert region.area == pytest.approx(frame.to_crs(4326).union_all().area, rel=1e-4)
    geoms = dc.territories(frame).geometry.to_numpy()
    assert shapely.union_all(geoms).area == pytest.approx(region.area, rel=1e-9)
    series = dc.territories(frame.geometry).geometry.to_numpy()
    assert all(shapely.equals_exact(a, b, 0.0) for a, b in zip(geoms, series, strict=True))


def test_boundary_crossing_the_antimeridian_from_a_projected_crs():
    # a Pacific CRS: the polygon comes back cut at the 180° meridian
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0).buffer(500_000.0)],
                             crs="+proj=laea +lat_0=-17 +lon_0=179 +units=m")
    region = check_boundary(frame)
    assert region.geom_type == "MultiPolygon" and region.bounds[0] == -180.0


@pytest.mark.parametrize("boundary, error, needles", [
    ([[0, 0], [1, 0], [1, 1]], DataTypeError, ["(list) is not a region", "Polygon"]),
    ("area.geojson", DataTypeError, ["'area.geojson' (str)", "GeoDataFrame"]),
    (shapely.Point(-77, 38.9), DataTypeError, ["boundary is a Point", "Polygon"]),
    (shapely.LineString([(-77, 38), (-76, 39)]), DataTypeError, ["LineString"]),
    (shapely.Polygon(), InputError, ["boundary is an empty Polygon"]),
    (shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), InputError, ["not a valid polygon",
                                                                     "Self-intersection"]),
    (shapely.box(320e3, 4300e3, 330e3, 4310e3), InputError, ["outside lon [-180, 180]",
                                                            "GeoDataFrame"]),
    (gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), CRSError, ["has no CRS"]),
    (gpd.GeoDataFrame(geometry=[], crs=4326), InputError, ["no geometry", "0 rows"]),
    (gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.Point(1, 2)], index=["x", "y"],
                   crs=4326), DataTypeError, ["row 'y' is a Point"]),
    (gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1),
                                shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])],
                      index=[7, 7], crs=3857), InputError, ["row 7 is not a valid polygon"]),
])
def test_bad_boundaries_are_refused(boundary, error, needles):
    with pytest.raises(error) as caught:
        check_boundary(boundary)
    for needle in needles:
        assert needle in str(caught.value)


def test_boundary_away_from_the_data_is_refused(dc):
    with pytest.raises(InputError, match="does not meet the data") as caught:
        dc.territories(shapely.box(2.2, 48.8, 2.4, 48.9))  # Paris
    assert "lon 2.2 to 2.4" in str(caught.value) and "EPSG:4326" in str(caught.value)


# -- outputs --------------------------------------------------------------------------------


def test_territories_are_written_with_the_other_outputs(tmp_path, dc):
    boundary = shapely.box(-77.1, 38.85, -76.95, 38.95)
    dc.write(centroids=tmp_path / "c.csv", territories=tmp_path / "t.gpkg", boundary=boundary)
    back = gpd.read_file(tmp_path / "t.gpkg", layer="territories")
    assert list(back.cluster) == list(range(5))
    assert back.to_crs(4326).union_all().area == pytest.approx(boundary.area, rel=1e-6)


def test_cluster_writes_territories_and_checks_the_boundary_first(tmp_path):
    out = {"points": tmp_path / "p.geojson", "territories": tmp_path / "t.geojson"}
    result = gk.cluster(DATA / "dc_places.csv", 4, random_state=0, write=out,
                        boundary=shapely.box(-77.1, 38.85, -76.95, 38.95))
    assert len(gpd.read_file(out["territories"])) == 4 == len(result.centroids)
    for boundary, error in [(shapely.Point(0, 0), DataTypeError),
                            (shapely.box(2.2, 48.8, 2.4, 48.9), InputError)]:
        other = {"points": tmp_path / "p2.geojson", "territories": tmp_path / "t2.geojson"}
        with pytest.raises(error):
            gk.cluster(DATA / "dc_places.csv", 4, write=other, boundary=boundary)
        assert not any(p.exists() for p in other.values())
    with pytest.raises(InputError, match="give a territories output"):
        gk.cluster(DATA / "dc_places.csv", 4, boundary=shapely.box(-77.1, 38.85, -76.95, 39))


def test_territories_of_a_dask_result_match_in_memory():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.read_csv(DATA / "dc_places.csv")
    init = frame[["longitude", "latitude"]].to_numpy()[[0, 50, 100, 150]]
    with dask.config.set(scheduler="synchronous"):
        lazy = gk.cluster(dd.from_pandas(frame, npartitions=3), 4, init=init)
        on_dask = lazy.territories().geometry.to_numpy()
    result = gk.cluster(frame, 4, init=init)
    in_memory = result.territories().geometry.to_numpy()
    # the same cells; the dask region is the hull of the clusters' hull polygons (whose
    # edges bow out a little to hold the great-circle arcs): metres larger
    for a, b in zip(on_dask, in_memory, strict=True):
        assert shapely.difference(b, a).area < 1e-7 * b.area
        assert shapely.difference(a, b).area < 1e-3 * b.area
        assert shapely.hausdorff_distance(a, b) < 1e-3  # degrees
    lon, lat = frame.longitude.to_numpy(), frame.latitude.to_numpy()
    assert shapely.contains_xy(on_dask[result.model.labels_], lon, lat).all()


def test_balanced_fits_territories_hold_their_points_or_are_refused():
    # equal-count territories: every point in its cluster's power cell; by weight all
    # but the rows the rounding placed; by count with unequal weights no cells match
    # (a point's cluster depends on its weight) and the territories are refused
    path = DATA / "dc_places.csv"
    by_count = gk.cluster(path, 4, size_min=45, size_max=55, random_state=0)
    geoms = by_count.territories().geometry.to_numpy()
    lon, lat = by_count.points.geometry.x.to_numpy(), by_count.points.geometry.y.to_numpy()
    assert shapely.contains_xy(geoms[by_count.model.labels_], lon, lat).all()
    total = pd.read_csv(path).population.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gk.GeoKMeansWarning)
        by_weight = gk.cluster(path, 4, weight="population", size_by="weight",
                               size_min=0.22 * total, size_max=0.28 * total, random_state=0)
    geoms = by_weight.territories().geometry.to_numpy()
    inside = shapely.contains_xy(geoms[by_weight.model.labels_], lon, lat)
    assert (~inside).sum() <= 4  # at most about one rounded row per cluster
    weighted = gk.cluster(path, 4, weight="population", size_min=45, size_max=55,
                          random_state=0)
    with pytest.raises(gk.InputError, match="unequal weights"):
        weighted.territories()
