"""Polygon inputs: each polygon clustered by its representative point, labels on the polygons."""

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geoseries_equal
from numpy.testing import assert_allclose, assert_array_equal

import geokmeans as gk
from geokmeans import GeoKMeansWarning, InputError
from geokmeans._polygons import MAX_SEGMENT_DEG
from geokmeans.io import geometry_points, read_points

from .browser import CHROMIUM, CHROMIUM_ARGS, PageReport, map_variable, open_map, require_browser
from .geojson_check import check_geojson
from .hostile import CliCase, LibCase, check_cli_case, check_lib_case, run_cli


def tracts(n=120, seed=0):
    """Small polygons around three towns near Washington DC (lon/lat), with a population
    column: squares, some with a hole, some of two islands (MultiPolygon)."""
    rng = np.random.default_rng(seed)
    towns = np.array([[-77.05, 38.90], [-76.60, 39.30], [-77.45, 38.55]])
    centre = towns[rng.integers(0, 3, n)] + rng.normal(scale=0.04, size=(n, 2))
    geoms = []
    for i, (lon, lat) in enumerate(centre):
        square = shapely.box(lon - 0.004, lat - 0.003, lon + 0.004, lat + 0.003)
        if i % 5 == 1:
            square = square.difference(shapely.box(lon - 0.001, lat - 0.001, lon + 0.001,
                                                   lat + 0.001))
        elif i % 5 == 2:
            island = shapely.box(lon + 0.006, lat, lon + 0.008, lat + 0.002)
            square = shapely.MultiPolygon([square, island])
        geoms.append(square)
    return gpd.GeoDataFrame({"name": [f"tract {i}" for i in range(n)],
                             "population": rng.integers(100, 5000, n)},
                            geometry=geoms, crs="EPSG:4326")


def as_points(frame):
    """The same rows with the representative points as their geometry."""
    lon, lat = geometry_points(frame.geometry)
    return frame.set_geometry(gpd.points_from_xy(lon, lat, crs=frame.crs)
                              if frame.crs.equals(4326) else
                              gpd.points_from_xy(lon, lat, crs=4326).to_crs(frame.crs))


def point_of(polygon, crs="EPSG:4326"):
    lon, lat = geometry_points(gpd.GeoSeries([polygon], crs=crs))
    return float(lon[0]), float(lat[0])


def laea_offset_m(polygon, lon, lat):
    """How far (m) from the projection's centre the centroid of ``polygon`` (lon/lat, edges
    cut as the library cuts them) lies in pyproj's Lambert azimuthal equal-area projection
    on the same sphere centred at (lon, lat): 0 for the representative point."""
    laea = pyproj.CRS(f"+proj=laea +lat_0={lat!r} +lon_0={lon!r} +R=6371008.8")
    dense = shapely.segmentize(polygon, MAX_SEGMENT_DEG)
    centroid = gpd.GeoSeries([dense], crs=4326).to_crs(laea).centroid.iloc[0]
    return float(np.hypot(centroid.x, centroid.y))


# -- the point that stands for a polygon -----------------------------------------------------

CUT_AT_180 = shapely.MultiPolygon([shapely.box(170, -20, 180, -10),
                                   shapely.box(-180, -20, -175, -10)])
SOUTH_CAP = shapely.box(-180, -90, 180, -60)


@pytest.mark.parametrize("polygon", [
    shapely.box(10, 45, 10.01, 45.01),  # a city block
    shapely.box(0, 0, 1, 1),
    shapely.box(0, 0, 10, 80),  # 80 degrees of latitude
    shapely.Polygon([(0, 0), (60, 0), (0, 60)]),
    CUT_AT_180,
    shapely.box(20, 70, 60, 85),  # near the pole
    SOUTH_CAP,
    shapely.box(-100, -60, 50, 60),  # a continent and more
], ids=["block", "degree", "tall", "triangle", "antimeridian", "arctic", "south-cap", "huge"])
def test_the_point_balances_an_equal_area_projection_centred_on_it(polygon):
    # the definition, checked against pyproj's projection: the polygon's equal-area image
    # centred on its point has its centroid there (within a centimetre)
    lon, lat = point_of(polygon)
    assert laea_offset_m(polygon, lon, lat) < 0.01


def test_a_tall_polygon_gets_the_middle_of_its_area_not_of_its_degrees():
    lon, lat = point_of(shapely.box(0, 0, 10, 80))
    assert lon == pytest.approx(5.0)
    # the planar centroid in degrees is at 40°N; the area (cos(lat)) lies further south
    assert 30 < lat < 34


def test_a_polygon_cut_at_the_antimeridian_stays_there():
    lon, lat = point_of(CUT_AT_180)
    assert abs(lon) > 170  # not the planar centroid at lon -2.5, across the world
    assert lon == pytest.approx(177.5, abs=1e-6) and lat == pytest.approx(-15.0, abs=0.01)
    assert CUT_AT_180.covers(shapely.Point(lon, lat))


def test_a_projected_polygon_across_the_antimeridian():
    # PDC Mercator (EPSG:3832) is centred on 150°E: a polygon across 180° is one piece there
    pacific = gpd.GeoSeries([shapely.box(170, -20, 190, -10)], crs=4326)
    projected = gpd.GeoSeries([shapely.box(*pacific.to_crs(3832).total_bounds)], crs=3832)
    lon, lat = point_of(projected.iloc[0], crs=3832)
    assert abs(lon) > 175 and -20 < lat < -10


def test_polar_polygons_get_their_pole():
    assert point_of(SOUTH_CAP)[1] == pytest.approx(-90.0)
    # a disc around the North Pole in polar stereographic metres (EPSG:3413)
    disc = shapely.Point(0, 0).buffer(1_000_000)
    assert point_of(disc, crs=3413)[1] == pytest.approx(90.0)
    # off the pole: the equal-area middle, not the middle in degrees
    lon, lat = point_of(shapely.box(20, 70, 60, 85))
    assert lon == pytest.approx(40.0) and 76 < lat < 77.5


def test_the_point_does_not_depend_on_how_densely_edges_are_drawn():
    polygon = shapely.Polygon([(0, 0), (30, 0), (30, 40), (0, 40)])
    dense = shapely.segmentize(polygon, 0.01)  # the same polygon, 25 times more vertices
    # edges are followed in pieces of 0.25°: a few metres on a polygon 4,000 km across
    assert_allclose(point_of(dense), point_of(polygon), atol=1e-4)
    block = shapely.box(2.35, 48.85, 2.36, 48.86)
    assert_allclose(point_of(shapely.segmentize(block, 1e-5)), point_of(block), atol=1e-11)


def test_a_centroid_outside_the_polygon_gives_a_point_inside():
    frame = shapely.box(0, 0, 10, 10).difference(shapely.box(1, 1, 9, 9))  # centroid in hole
    crescent = shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 11, 8))  # a C
    islands = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(9, 0, 10, 1)])
    for polygon in (frame, crescent, islands):
        lon, lat = point_of(polygon)
        assert polygon.covers(shapely.Point(lon, lat)), polygon.wkt
        assert (lon, lat) == pytest.approx(polygon.representative_point().coords[0])


def test_a_small_hole_off_centre_keeps_the_centroid():
    polygon = shapely.box(0, 0, 2, 2).difference(shapely.box(1.5, 1.5, 1.9, 1.9))
    lon, lat = point_of(polygon)
    assert polygon.contains(shapely.Point(lon, lat))
    assert lon < 1 and lat < 1  # pushed away from the hole
    assert laea_offset_m(polygon, lon, lat) < 0.01


def test_a_polygon_in_any_crs_gets_the_same_point():
    # edges drawn densely, so that they are the same lines in every CRS
    polygon = gpd.GeoSeries([shapely.segmentize(shapely.box(-77.1, 38.8, -76.9, 39.0), 1e-3)],
                            crs=4326)
    expected = point_of(polygon.iloc[0])
    for crs in (32618, 3857, 5070, 2248):  # 2248: Maryland state plane in US feet
        projected = polygon.to_crs(crs)
        assert_allclose(point_of(projected.iloc[0], crs=crs), expected, atol=1e-7)  # 1 cm


def test_z_coordinates_are_ignored():
    flat = shapely.box(0, 0, 1, 1)
    raised = shapely.force_3d(flat, 100.0)
    assert point_of(raised) == point_of(flat)


# -- clustering polygons ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def polygons():
    return tracts()


@pytest.mark.parametrize("crs", [4326, 32618])
def test_labels_on_polygons_are_those_of_their_points(polygons, crs, seed):
    frame = polygons.to_crs(crs)
    on_polygons = gk.cluster(frame, 3, weight="population", random_state=seed)
    on_points = gk.cluster(as_points(frame), 3, weight="population", random_state=seed)
    assert_array_equal(on_polygons.points.cluster, on_points.points.cluster)
    assert_allclose(on_polygons.points.distance_m, on_points.points.distance_m)
    assert_allclose(on_polygons.model.cluster_centers_, on_points.model.cluster_centers_)
    assert on_polygons.model.inertia_ == pytest.approx(on_points.model.inertia_)
    # the polygons come back as they were, with the labels and distances added
    assert_geoseries_equal(on_polygons.points.geometry, frame.geometry)
    assert list(on_polygons.points.columns) == ["name", "population", "geometry", "cluster",
                                                "distance_m"]


def test_weights_count_as_for_points(polygons):
    # a polygon of weight 3 counts as three copies of it
    tripled = polygons.iloc[np.repeat(np.arange(len(polygons)), 3)].reset_index(drop=True)
    init = np.array([[-77.05, 38.90], [-76.60, 39.30], [-77.45, 38.55]])
    weighted = gk.GeoKMeans(3, init=init).fit(polygons, sample_weight=np.full(len(polygons), 3))
    repeated = gk.GeoKMeans(3, init=init).fit(tripled)
    assert_array_equal(np.repeat(weighted.labels_, 3), repeated.labels_)
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-9)


def test_fit_and_predict_use_the_points_of_polygons(polygons):
    model = gk.GeoKMeans(3, random_state=0).fit(polygons)
    assert_array_equal(model.predict(polygons), model.labels_)
    assert_array_equal(model.predict(as_points(polygons)), model.labels_)
    on_points = gk.GeoKMeans(3, random_state=0).fit(as_points(polygons))
    assert_array_equal(on_points.predict(polygons.to_crs(3857)), on_points.labels_)


def test_accessor_and_geoseries(polygons):
    result = polygons.geokmeans.cluster(3, random_state=0)
    again = gk.cluster(polygons.geometry, 3, random_state=0)
    assert_array_equal(result.points.cluster, again.points.cluster)
    assert (result.points.geom_type != "Point").all()


def test_points_and_polygons_together():
    # a point is its own representative point
    geoms = [shapely.box(0, 0, 0.01, 0.01), shapely.Point(0.5, 0.5),
             shapely.MultiPolygon([shapely.box(1, 1, 1.01, 1.01)])]
    points = read_points(gpd.GeoDataFrame(geometry=geoms, crs=4326))
    assert_allclose(points.lon, [0.005, 0.5, 1.005], atol=1e-9)
    assert list(points.frame.geom_type) == ["Polygon", "Point", "MultiPolygon"]


def test_empty_and_missing_polygons_follow_the_missing_coordinates_rule(polygons):
    frame = polygons.copy()
    frame.loc[4, "geometry"] = shapely.Polygon()
    frame.loc[7, "geometry"] = None
    with pytest.raises(InputError, match=r"missing coordinates: row 4 has an empty Polygon "
                                         r"\(2 such rows\); pass dropna=True"):
        gk.cluster(frame, 3)
    with pytest.warns(GeoKMeansWarning, match="skipped 2 rows"):
        result = gk.cluster(frame, 3, dropna=True, random_state=0)
    assert list(result.points.cluster.iloc[[4, 7]]) == [-1, -1]
    assert (result.points.cluster.drop(index=[4, 7]) >= 0).all()
    with pytest.raises(InputError, match=r"row 6 \(index 7\) has no geometry \(None\)"):
        gk.GeoKMeans(3).fit(frame.drop(index=4))


def test_hulls_hold_the_points_of_the_polygons(polygons):
    result = gk.cluster(polygons, 3, random_state=0)
    lon, lat = geometry_points(polygons.geometry)
    for cluster, hull in zip(result.hulls.cluster, result.hulls.geometry, strict=True):
        members = result.points.cluster.to_numpy() == cluster
        inside = shapely.covers(hull.buffer(1e-9), shapely.points(lon[members], lat[members]))
        assert inside.all()


# -- maps --------------------------------------------------------------------------------------


def _layer_data(html, key):
    """The JSON data of the map layer holding ``key`` (its first occurrence)."""
    import json

    start = html.index(f'({{"{key}":')
    data, _ = json.JSONDecoder().raw_decode(html[start + 1:])
    return data


def test_map_draws_the_polygons_under_their_points(polygons):
    result = gk.cluster(polygons, 3, random_state=0)
    html = result.explore(tiles=None).get_root().render()
    shapes = _layer_data(html, "polygons")["polygons"]["features"]
    assert len(shapes) == len(polygons)
    colours = gk.maps.cluster_colors(3)
    assert [f["properties"]["color"] for f in shapes] == [colours[c]
                                                         for c in result.points.cluster]
    assert html.index('{"polygons":') < html.index('{"lat":')  # points drawn on top
    points = _layer_data(html, "lat")
    lon, lat = geometry_points(polygons.geometry)
    assert_allclose(points["lat"], lat, atol=1e-6)  # each polygon's point
    first = shapely.geometry.shape(shapes[0]["geometry"])
    assert first.covers(shapely.Point(points["lon"][0], points["lat"][0]))


def test_map_draws_a_polygon_across_180_in_one_piece():
    frame = gpd.GeoDataFrame(geometry=[CUT_AT_180, shapely.box(177, -19, 178, -18),
                                       SOUTH_CAP], crs=4326)
    result = gk.cluster(frame, 1)
    html = result.explore(tiles=None).get_root().render()
    shapes = [shapely.geometry.shape(f["geometry"])
              for f in _layer_data(html, "polygons")["polygons"]["features"]]
    west, _, east, _ = shapes[0].bounds
    assert east - west == pytest.approx(15.0)  # the two halves side by side
    assert shapes[0].area == pytest.approx(150.0)
    west, _, east, _ = shapes[2].bounds
    assert east - west == pytest.approx(360.0)  # the cap over every longitude of the view
    assert west < 177.5 < east


def test_map_of_too_many_vertices_draws_the_points_and_says_so(polygons, monkeypatch):
    monkeypatch.setattr("geokmeans._map_polygons.MAX_POLYGON_VERTICES", 100)
    html = gk.cluster(polygons, 3, random_state=0).explore(tiles=None).get_root().render()
    assert '{"polygons":' not in html
    assert "Polygons not drawn" in html and "each is shown by its point" in html
    assert len(_layer_data(html, "lat")["lat"]) == len(polygons)


@pytest.mark.browser
@pytest.mark.slow
def test_map_of_polygons_in_a_browser(polygons, tmp_path):
    require_browser()
    from playwright.sync_api import sync_playwright

    result = gk.cluster(polygons, 3, random_state=0)
    result.explore(tiles=None).save(tmp_path / "map.html")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        report = PageReport()
        page = open_map(chromium, tmp_path / "map.html", report)
        page.wait_for_function("() => typeof L !== 'undefined'")
        counts = page.evaluate("""(name) => {
          let polygons = 0, points = 0;
          window[name].eachLayer(l => {
            if (l instanceof L.Polygon) polygons++;
            else if (l instanceof L.CircleMarker && l.options.radius !== 8) points++;
          });
          return {polygons, points};
        }""", map_variable((tmp_path / "map.html").read_text()))
        chromium.close()
    assert counts == {"polygons": len(polygons), "points": len(polygons)}
    assert report.errors == [] and report.unserved == []


# -- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp", ".parquet"])
def test_polygon_files_are_read_and_written_back_as_polygons(polygons, suffix, tmp_path):
    source = tmp_path / f"tracts{suffix}"
    if suffix == ".parquet":
        polygons.to_parquet(source)
    else:
        polygons.to_file(source)
    result = gk.cluster(source, 3, weight="population", random_state=0)
    expected = gk.cluster(polygons, 3, weight="population", random_state=0)
    assert_array_equal(result.points.cluster, expected.points.cluster)
    read = gpd.read_parquet(source) if suffix == ".parquet" else gpd.read_file(source)
    for out in ("out.geojson", "out.gpkg", "out.parquet"):
        result.to_file(tmp_path / out)
        back = gpd.read_parquet(tmp_path / out) if out.endswith("parquet") \
            else gpd.read_file(tmp_path / out)
        assert_array_equal(back.cluster, expected.points.cluster)
        # a GeoPackage layer holds one type: Polygons among MultiPolygons become multi
        types = {"Polygon", "MultiPolygon"} if out.endswith(".gpkg") else {"Polygon"}
        assert set(back.geom_type[read.geom_type == "Polygon"]) <= types
        assert set(back.geom_type[read.geom_type == "MultiPolygon"]) == {"MultiPolygon"}
        assert back.geometry.is_valid.all()
        # the same polygons (GeoJSON: to 1e-7 degrees)
        original = polygons.geometry.to_numpy()
        changed = shapely.area(shapely.symmetric_difference(back.to_crs(4326).geometry.to_numpy(),
                                                            original))
        assert (changed < 1e-3 * shapely.area(original)).all()
    check_geojson(tmp_path / "out.geojson")  # RFC 7946: rings wound, holes included
    result.to_file(tmp_path / "out.csv")
    table = gpd.pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns) == ["name", "population", "cluster", "distance_m", "wkt"]
    assert table.wkt.str.startswith(("POLYGON", "MULTIPOLYGON")).all()


def test_all_tables_in_one_geopackage(polygons, tmp_path):
    result = gk.cluster(polygons, 3, random_state=0)
    result.to_file(tmp_path / "all.gpkg", which="all")
    layers = gpd.list_layers(tmp_path / "all.gpkg")
    assert set(layers.name) == {"points", "centroids", "hulls"}
    assert (gpd.read_file(tmp_path / "all.gpkg", layer="points").geom_type
            == "MultiPolygon").all()  # a layer of one type
    check_geojson_all = tmp_path / "all.geojson"
    result.to_geojson(check_geojson_all, which="all")
    check_geojson(check_geojson_all)


def test_antimeridian_polygons_round_trip_as_valid_geojson(tmp_path):
    frame = gpd.GeoDataFrame({"id": [0, 1, 2]}, geometry=[
        CUT_AT_180, shapely.box(-179, -19, -178, -18), shapely.box(100, 0, 101, 1)],
        crs=4326)
    result = gk.cluster(frame, 2, init=np.array([[179.0, -15.0], [100.5, 0.5]]))
    assert list(result.points.cluster) == [0, 0, 1]
    result.to_geojson(tmp_path / "p.geojson")
    check_geojson(tmp_path / "p.geojson")


# -- dask -------------------------------------------------------------------------------------

TOWNS = np.array([[-77.05, 38.90], [-76.60, 39.30], [-77.45, 38.55]])


@pytest.mark.slow
def test_dask_polygons_are_read_by_the_same_reader(polygons, tmp_path):
    dask_geopandas = pytest.importorskip("dask_geopandas")
    lazy = dask_geopandas.from_geopandas(polygons.to_crs(32618), npartitions=3)
    on_dask = gk.cluster(lazy, 3, init=TOWNS, weight="population")
    in_memory = gk.cluster(polygons.to_crs(32618), 3, init=TOWNS, weight="population")
    computed = on_dask.points.compute()
    assert_array_equal(computed.cluster, in_memory.points.cluster)
    assert_geoseries_equal(computed.geometry, in_memory.points.geometry)
    assert_allclose(on_dask.model.cluster_centers_, in_memory.model.cluster_centers_)
    for name in ("p.geojson", "p.gpkg", "p.csv"):  # the file memory gives
        on_dask.to_file(tmp_path / f"dask_{name}")
        in_memory.to_file(tmp_path / f"memory_{name}")
        back = gpd.read_file(tmp_path / f"dask_{name}")
        expected = gpd.read_file(tmp_path / f"memory_{name}")
        assert list(back.columns) == list(expected.columns)
        assert_array_equal(back.cluster, expected.cluster)
        # distances on the workers: equal within a micrometre (tests/test_distributed.py)
        assert_allclose(back.distance_m.astype(float), expected.distance_m.astype(float))
        if name != "p.csv":
            assert_geoseries_equal(back.geometry, expected.geometry)
        else:
            assert (back.wkt == expected.wkt).all()
    check_geojson(tmp_path / "dask_p.geojson")
    assert on_dask.explore() is not None
    assert len(on_dask.hulls) == 3


@pytest.mark.slow
def test_dask_partitions_of_different_geometry_types_write_one_table(tmp_path):
    # Polygons first, then MultiPolygons (a GeoPackage layer of one type), then points
    # (CSV coordinates as WKT for every row): the files memory gives
    dask_geopandas = pytest.importorskip("dask_geopandas")
    geoms = ([shapely.Point(i * 0.01, 0) for i in range(4)]
             + [shapely.box(i * 0.01, 1, i * 0.01 + 0.005, 1.005) for i in range(4)]
             + [shapely.MultiPolygon([shapely.box(i * 0.01, 2, i * 0.01 + 0.005, 2.005)])
                for i in range(4)])
    frame = gpd.GeoDataFrame({"v": range(12)}, geometry=geoms, crs=4326)
    for rows in (slice(4, 12), slice(0, 12)):
        part = frame.iloc[rows].reset_index(drop=True)
        lazy = gk.cluster(dask_geopandas.from_geopandas(part, npartitions=2), 2,
                          init=np.array([[0.0, 0.0], [0.0, 2.0]]))
        memory = gk.cluster(part, 2, init=np.array([[0.0, 0.0], [0.0, 2.0]]))
        for name in ("p.gpkg", "p.csv"):
            lazy.to_file(tmp_path / f"dask_{name}")
            memory.to_file(tmp_path / f"memory_{name}")
        assert (tmp_path / "dask_p.csv").read_text() == (tmp_path / "memory_p.csv").read_text()
        back = gpd.read_file(tmp_path / "dask_p.gpkg")
        assert_geoseries_equal(back.geometry, gpd.read_file(tmp_path / "memory_p.gpkg").geometry)


# -- bad polygons -------------------------------------------------------------------------------

BOW_TIE = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
WHOLE_EARTH = shapely.box(-180, -90, 180, 90)
NAIVE_180 = shapely.Polygon([(179, -18), (-179, -18), (-179, -16), (179, -16)])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # shapely's, about the NaN
    NAN_VERTEX = shapely.Polygon([(0, 0), (1, np.nan), (1, 1), (0, 1)])
UNITLESS = pyproj.CRS('LOCAL_CS["Unknown",UNIT["unknown",1],AXIS["X",EAST],AXIS["Y",NORTH]]')


def frame_with(bad, crs="EPSG:4326", at=2):
    geoms = [shapely.box(i, 0, i + 0.5, 0.5) for i in range(4)]
    frame = gpd.GeoDataFrame({"v": range(4)}, geometry=geoms, crs=4326).to_crs(crs)
    frame.loc[at, "geometry"] = bad
    return frame


LIB_CASES = [
    LibCase("self-intersecting", lambda f: gk.cluster(frame_with(BOW_TIE), 2), InputError,
            "row 2", "not a valid Polygon", "Self-intersection", "make_valid"),
    LibCase("nan-vertex", lambda f: gk.cluster(frame_with(NAN_VERTEX), 2, dropna=True),
            InputError, "row 2", "non-finite coordinate"),
    LibCase("whole-earth", lambda f: gk.cluster(frame_with(WHOLE_EARTH), 2), InputError,
            "row 2", "whole Earth"),
    LibCase("not-cut-at-180", lambda f: gk.cluster(frame_with(NAIVE_180), 2), InputError,
            "row 2", "spans 358° of longitude", "MultiPolygon"),
    LibCase("beyond-180", lambda f: gk.cluster(frame_with(shapely.box(175, 0, 185, 1)), 2),
            InputError, "row 2", "lon=185", "MultiPolygon"),
    LibCase("beyond-the-pole", lambda f: gk.cluster(frame_with(shapely.box(0, 80, 1, 95)), 2),
            InputError, "row 2", "lat=95"),
    LibCase("huge-coordinates",
            lambda f: gk.cluster(frame_with(shapely.box(0, 0, 1e30, 1e30), crs=3857), 2),
            InputError, "row 2", "outside the valid area", "EPSG:3857"),
    LibCase("crs-without-units",
            lambda f: gk.cluster(frame_with(shapely.box(0, 0, 1, 1)).set_crs(
                UNITLESS, allow_override=True), 2),
            InputError, "CRS 'LOCAL_CS[\"Unknown\"", "cannot be converted", "set_crs"),
    LibCase("line", lambda f: gk.cluster(frame_with(shapely.LineString([(0, 0), (1, 1)])), 2),
            InputError, "row 2 is a LineString", "interpolate"),
    LibCase("predict-invalid",
            lambda f: gk.GeoKMeans(2, random_state=0).fit(frame_with(shapely.box(9, 0, 9.5, 1)))
            .predict(frame_with(BOW_TIE, at=1)),
            InputError, "row 1", "not a valid Polygon"),
    LibCase("write-nothing",
            lambda f: gk.cluster(frame_with(BOW_TIE), 2, write={"points": Path(f) / "o.geojson"}),
            InputError, "row 2"),
]


@pytest.mark.parametrize("case", [c.param() for c in LIB_CASES])
def test_bad_polygons_are_refused_naming_the_row(case, tmp_path):
    check_lib_case(case, tmp_path)


def test_a_row_label_is_named_too():
    frame = frame_with(BOW_TIE).set_index(gpd.pd.Index(list("abcd")))
    with pytest.raises(InputError, match=r"row 2 \(index 'c'\) is not a valid Polygon"):
        read_points(frame)


# -- the command line ---------------------------------------------------------------------------


def _write_inputs(folder):
    folder = Path(folder) / "in"
    folder.mkdir()
    tracts(60).to_file(folder / "tracts.geojson")
    tracts(60).to_crs(32618).to_file(folder / "tracts.gpkg")
    for name, bad in (("bowtie", BOW_TIE), ("earth", WHOLE_EARTH), ("nan", NAN_VERTEX),
                      ("empty", shapely.Polygon())):
        frame_with(bad).to_file(folder / f"{name}.gpkg")


def test_cli_clusters_polygon_files(tmp_path):
    _write_inputs(tmp_path)
    for source in ("tracts.geojson", "tracts.gpkg"):
        out = tmp_path / f"{source}.out.gpkg"
        code, stdout, err = run_cli(["cluster", tmp_path / "in" / source, "-k", 3, "--weight",
                                     "population", "--seed", 0, "-o", out,
                                     "--hulls", tmp_path / f"{source}.hulls.geojson",
                                     "--map", tmp_path / f"{source}.html"])
        assert code == 0, err
        assert "60 points" in stdout
        back = gpd.read_file(out)
        assert (back.geom_type == "MultiPolygon").all()  # a GeoPackage layer of one type
        expected = gk.cluster(tracts(60), 3, weight="population", random_state=0)
        assert_array_equal(back.cluster, expected.points.cluster)


def _cli(*args):
    return lambda f: [str(a).replace("{in}", str(Path(f) / "in")).replace("{out}", str(f))
                      for a in args]


CLI_CASES = [
    CliCase("self-intersecting", _cli("cluster", "{in}/bowtie.gpkg", "-k", 2, "-o",
                                      "{out}/o.geojson"), 2, "row 2", "not a valid Polygon"),
    CliCase("whole-earth", _cli("cluster", "{in}/earth.gpkg", "-k", 2, "-o", "{out}/o.gpkg",
                                "--map", "{out}/m.html"), 2, "row 2", "whole Earth"),
    CliCase("nan-vertex", _cli("cluster", "{in}/nan.gpkg", "-k", 2, "--dropna", "-o",
                               "{out}/o.csv"), 2, "row 2", "non-finite"),
    CliCase("empty", _cli("cluster", "{in}/empty.gpkg", "-k", 2, "-o", "{out}/o.parquet"), 2,
            "row 2 has an empty Polygon", "dropna"),
]


@pytest.mark.parametrize("case", [c.param() for c in CLI_CASES])
def test_cli_refuses_bad_polygons_writing_nothing(case, tmp_path):
    _write_inputs(tmp_path)
    check_cli_case(case, tmp_path)


def test_cli_skips_empty_polygons_with_dropna(tmp_path):
    _write_inputs(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, stdout, err = run_cli(["cluster", tmp_path / "in" / "empty.gpkg", "-k", 2,
                                     "--dropna", "-o", tmp_path / "o.geojson"])
    assert code == 0, err
    assert "1 rows skipped" in stdout or "1 row skipped" in stdout
    check_geojson(tmp_path / "o.geojson")
