"""Hostile inputs: every public parameter and CLI option given wrong types, NaN/inf, empty,
huge, boolean/complex, bad strings, out-of-range values, colliding names, missing or
unreadable files. Each case must fail with a ``GeoKMeansError`` (library) or exit code 2
(command line) whose one message names the culprit, and leave no file behind."""

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import geokmeans as gk
from geokmeans import CRSError, DataTypeError, GeoKMeansError, InputError

from .hostile import CliCase, LibCase, check_cli_case, check_lib_case, run_cli

LONLAT = np.array([[-77.0, 38.9], [-77.01, 38.91], [-76.0, 39.5], [-76.01, 39.49]])
X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])


def make_inputs(folder):
    """Tiny input files in ``folder/in``; returns that directory."""
    d = Path(folder) / "in"
    d.mkdir()
    (d / "points.csv").write_text(
        "name,lat,lon,pop,flag\na,38.9,-77.0,10,True\nb,38.91,-77.01,20,False\n"
        "c,39.5,-76.0,30,True\nd,39.49,-76.01,40,False\n")
    (d / "case.csv").write_text("lat,Lat,lon\n38.9,38.9,-77.0\n39.5,39.5,-76.0\n")
    (d / "comma.csv").write_text('lat,lon\n"38,9","-77,0"\n"39,5","-76,0"\n')
    (d / "header.csv").write_text("lat,lon\n")
    (d / "empty.csv").write_text("")
    (d / "dup.csv").write_text("lat,lon,lat\n38.9,-77.0,1\n39.5,-76.0,2\n")
    (d / "nan.csv").write_text("lat,lon\n38.9,-77.0\n,-77.01\n39.5,-76.0\n")
    (d / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [')
    (d / "points.xyz").write_text("1,2\n")
    # polygons are clustered by their points (tests/test_polygons.py); lines are refused
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.box(2, 2, 3, 3)],
                     crs=4326).to_file(d / "lines.geojson")
    (d / "mixed").mkdir()
    pd.DataFrame({"lat": [1.0, 2.0], "lon": [1.0, 2.0]}).to_parquet(d / "mixed" / "a.parquet")
    (d / "mixed" / "b.csv").write_text("lat,lon\n1,1\n")
    (d / "odd").mkdir()
    (d / "odd" / "a.csv").write_text("lat,lon\n1,1\n")
    (d / "odd" / "notes.txt.bak").write_text("x")
    return d


def frame(**columns):
    return pd.DataFrame({"lon": LONLAT[:, 0], "lat": LONLAT[:, 1], **columns})


def _inp(name):
    return lambda f: Path(f) / "in" / name


# -- the library ---------------------------------------------------------------------------

LIB_CASES = [
    # KMeans: every parameter
    LibCase("kmeans-n_clusters-float", lambda f: gk.KMeans(2.0).fit(X), DataTypeError,
            "n_clusters=2.0"),
    LibCase("kmeans-n_clusters-zero", lambda f: gk.KMeans(0).fit(X), InputError, "n_clusters=0"),
    LibCase("kmeans-n_clusters-bool", lambda f: gk.KMeans(True).fit(X), DataTypeError,
            "n_clusters=True"),
    LibCase("kmeans-k-beyond-n", lambda f: gk.KMeans(10**9).fit(X), InputError,
            "n_clusters=1000000000", "n_samples=4"),
    LibCase("kmeans-random_state-negative", lambda f: gk.KMeans(2, random_state=-1).fit(X),
            InputError, "random_state=-1"),
    LibCase("kmeans-random_state-bool", lambda f: gk.KMeans(2, random_state=True).fit(X),
            DataTypeError, "random_state=True"),
    LibCase("kmeans-random_state-too-big", lambda f: gk.KMeans(2, random_state=2**32).fit(X),
            InputError, "random_state=4294967296"),
    LibCase("kmeans-n_init-huge",
            lambda f: gk.KMeans(2, init="bbox", n_init=100_000_000).fit(X), InputError,
            "n_init=100000000", "10000"),
    LibCase("kmeans-n_init-string", lambda f: gk.KMeans(2, n_init="many").fit(X), InputError,
            "n_init='many'"),
    LibCase("kmeans-local_search-huge", lambda f: gk.KMeans(2, local_search=10**12).fit(X),
            InputError, "local_search=1000000000000"),
    LibCase("kmeans-tol-nan", lambda f: gk.KMeans(2, tol=float("nan")).fit(X), InputError,
            "tol=nan"),
    LibCase("kmeans-tol-inf", lambda f: gk.KMeans(2, tol=float("inf")).fit(X), InputError,
            "tol=inf"),
    LibCase("kmeans-max_iter-zero", lambda f: gk.KMeans(2, max_iter=0).fit(X), InputError,
            "max_iter=0"),
    LibCase("kmeans-algorithm", lambda f: gk.KMeans(2, algorithm="elkan").fit(X), InputError,
            "algorithm='elkan'", "'hamerly'"),
    LibCase("kmeans-init-string", lambda f: gk.KMeans(2, init="kmeans").fit(X), InputError,
            "init='kmeans'", "'k-means++'"),
    LibCase("kmeans-init-shape", lambda f: gk.KMeans(2, init=[[0.0, 0.0]]).fit(X), InputError,
            "init array has shape (1, 2)"),
    LibCase("kmeans-init-complex", lambda f: gk.KMeans(1, init=[[1j, 0.0]]).fit(X),
            DataTypeError, "init holds complex"),
    LibCase("kmeans-bbox-inverted",
            lambda f: gk.KMeans(2, init="bbox", bbox=[[1.0, 0.0], [0.0, 1.0]]).fit(X),
            InputError, "bbox minimum 1.0 > maximum 0.0"),
    LibCase("kmeans-sphere_radius-negative", lambda f: gk.KMeans(2, sphere_radius=-1).fit(X),
            InputError, "sphere_radius=-1"),
    LibCase("kmeans-verbose-string", lambda f: gk.KMeans(2, verbose="yes").fit(X),
            DataTypeError, "verbose='yes'"),
    LibCase("kmeans-X-bool", lambda f: gk.KMeans(1).fit(X > 0), DataTypeError,
            "X holds booleans"),
    LibCase("kmeans-X-complex", lambda f: gk.KMeans(1).fit(X + 1j), DataTypeError,
            "X holds complex"),
    LibCase("kmeans-X-nan", lambda f: gk.KMeans(1).fit(np.where(X == 1.0, np.nan, X)),
            InputError, "X contains NaN", "row 1"),
    LibCase("kmeans-X-inf", lambda f: gk.KMeans(1).fit(np.where(X == 10.0, np.inf, X)),
            InputError, "row 2 is infinity"),
    LibCase("kmeans-X-huge", lambda f: gk.KMeans(2).fit(X * 1e200), InputError,
            "X is too large for float64"),
    LibCase("kmeans-X-empty", lambda f: gk.KMeans(1).fit(np.empty((0, 2))), InputError,
            "X", "0 sample"),
    LibCase("kmeans-X-text", lambda f: gk.KMeans(1).fit([["a", "b"]]), DataTypeError,
            "X must be numeric"),
    LibCase("kmeans-weights-text", lambda f: gk.KMeans(1).fit(X, sample_weight=["a"] * 4),
            DataTypeError, "sample_weight holds text"),
    LibCase("kmeans-weights-negative",
            lambda f: gk.KMeans(1).fit(X, sample_weight=[1.0, -1.0, 1.0, 1.0]), InputError,
            "sample_weight must be >= 0", "row 1"),
    LibCase("kmeans-weights-inertia-overflow",
            lambda f: gk.KMeans(1).fit(X * 1e3, sample_weight=[1e308, 1e308, 1.0, 1.0]),
            InputError, "inertia overflows", "sample_weight"),
    # GeoKMeans / cluster: every parameter
    LibCase("geo-dropna-string", lambda f: gk.GeoKMeans(2, dropna="yes").fit(LONLAT),
            DataTypeError, "dropna='yes'"),
    LibCase("geo-dropna-int", lambda f: gk.cluster(LONLAT, 2, dropna=1), DataTypeError,
            "dropna=1"),
    LibCase("geo-random_state-negative", lambda f: gk.cluster(LONLAT, 2, random_state=-1),
            InputError, "random_state=-1"),
    LibCase("geo-crs-geographic", lambda f: gk.cluster(LONLAT, 2, crs="EPSG:4326"), CRSError,
            "crs='EPSG:4326'", "geographic"),
    LibCase("geo-crs-garbage", lambda f: gk.cluster(LONLAT, 2, crs="nope"), CRSError,
            "crs='nope'"),
    LibCase("geo-crs-none", lambda f: gk.cluster(LONLAT, 2, crs=None), DataTypeError,
            "crs=None"),
    LibCase("geo-bbox-no-area",
            lambda f: gk.cluster(LONLAT, 2, init="bbox", bbox=(-77, 38, -77, 40)), InputError,
            "bbox=", "no area"),
    LibCase("geo-bbox-latitude",
            lambda f: gk.cluster(LONLAT, 2, init="bbox", bbox=(-77, -95, -76, 40)), InputError,
            "south_lat_deg=-95"),
    LibCase("geo-bbox-nan",
            lambda f: gk.cluster(LONLAT, 2, init="bbox", bbox=(np.nan, 38, -76, 40)),
            InputError, "west_lon_deg=nan"),
    LibCase("geo-init-nan", lambda f: gk.cluster(LONLAT, 2, init=[[np.nan, 0.0], [1.0, 1.0]]),
            InputError, "init contains NaN"),
    LibCase("geo-init-shape", lambda f: gk.cluster(LONLAT, 2, init=np.zeros((2, 3))),
            InputError, "init array has shape (2, 3)"),
    LibCase("geo-max_radius-tiny", lambda f: gk.cluster(LONLAT, 1, max_radius_m=1e-9),
            InputError, "max_radius_m=1e-09"),
    LibCase("geo-max_radius-text", lambda f: gk.cluster(LONLAT, 1, max_radius_m="5"),
            DataTypeError, "max_radius_m='5'"),
    LibCase("geo-n_init-huge", lambda f: gk.cluster(LONLAT, 2, init="bbox", n_init=10**8),
            InputError, "n_init=100000000"),
    LibCase("geo-predict-missing",
            lambda f: gk.GeoKMeans(2, dropna=True, random_state=0).fit(LONLAT).predict(
                pd.DataFrame({"lon": [np.nan], "lat": [1.0]}, index=["x"])),
            InputError, "row 0 (index 'x')", "predict needs coordinates"),
    LibCase("geo-progress-string", lambda f: gk.GeoKMeans(2, progress="yes").fit(LONLAT),
            DataTypeError, "progress='yes'", "True, False or a callable"),
    LibCase("geo-progress-int", lambda f: gk.cluster(LONLAT, 2, progress=1), DataTypeError,
            "progress=1"),
    LibCase("geo-progress-none", lambda f: gk.cluster(LONLAT, 2, progress=None),
            DataTypeError, "progress=None"),
    LibCase("geo-progress-nan", lambda f: gk.cluster(LONLAT, 2, progress=float("nan")),
            DataTypeError, "progress=nan"),
    LibCase("cluster-unknown-option", lambda f: gk.cluster(LONLAT, 2, colour="red"),
            DataTypeError, "'colour'"),
    LibCase("cluster-weights-twice", lambda f: gk.cluster(LONLAT, 2, weight=[1] * 4,
                                                          sample_weight=[1] * 4),
            InputError, "sample_weight or weight"),
    LibCase("cluster-weight-text", lambda f: gk.cluster(LONLAT, 2, weight=["a"] * 4),
            DataTypeError, "sample_weight holds text"),
    LibCase("cluster-weight-bool-column", lambda f: gk.cluster(_inp("points.csv")(f), 2,
                                                               weight="flag"),
            DataTypeError, "weight column 'flag' holds booleans"),
    LibCase("cluster-weight-missing-column", lambda f: gk.cluster(LONLAT, 2, weight="pop"),
            InputError, "weight column 'pop' not found"),
    LibCase("cluster-weight-series-misaligned",
            lambda f: gk.cluster(frame(), 2, weight=pd.Series([1.0] * 4, index=[5, 6, 7, 8])),
            InputError, "index labels", "(0, 1, 2, 3)"),
    LibCase("cluster-weight-nan", lambda f: gk.cluster(frame(w=[1, np.nan, 1, 1]), 2, weight="w"),
            InputError, "weight column 'w'", "row 1"),
    LibCase("cluster-weight-total-overflow",
            lambda f: gk.cluster(LONLAT, 2, weight=[1e308, 1e308, 1.0, 1.0]), InputError,
            "sample_weight sums to more than float64"),
    LibCase("cluster-duplicate-lat",
            lambda f: gk.cluster(pd.concat([frame(), frame()[["lat"]]], axis=1), 2),
            InputError, "'lat' appears 2 times"),
    LibCase("cluster-lat-and-Lat", lambda f: gk.cluster(_inp("case.csv")(f), 1), InputError,
            "'lat', 'Lat'"),
    LibCase("cluster-lat-wrong-case", lambda f: gk.cluster(frame(), 2, lat="LAT"), InputError,
            "'LAT' not found", "'lat' differs only in case"),
    LibCase("cluster-lat-bool-name", lambda f: gk.cluster(frame(), 2, lat=True), DataTypeError,
            "lat=True"),
    LibCase("cluster-coords-bool", lambda f: gk.cluster(LONLAT > 0, 1), DataTypeError,
            "data holds booleans"),
    LibCase("cluster-coords-complex", lambda f: gk.cluster(LONLAT + 0j, 1), DataTypeError,
            "data holds complex"),
    LibCase("cluster-coords-bool-column",
            lambda f: gk.cluster(pd.DataFrame({"lat": [True, False], "lon": [1.0, 2.0]}), 1),
            DataTypeError, "column 'lat' holds booleans"),
    LibCase("cluster-data-none", lambda f: gk.cluster(None, 1), DataTypeError, "NoneType"),
    LibCase("cluster-data-3-columns", lambda f: gk.cluster(np.zeros((3, 3)), 1), InputError,
            "shape (n, 2)", "(3, 3)"),
    LibCase("cluster-missing-file", lambda f: gk.cluster(Path(f) / "nope.csv", 1), InputError,
            "nope.csv", "does not exist"),
    LibCase("cluster-truncated-geojson", lambda f: gk.cluster(_inp("bad.geojson")(f), 1),
            InputError, "could not read", "bad.geojson"),
    LibCase("cluster-unknown-extension", lambda f: gk.cluster(_inp("points.xyz")(f), 1),
            InputError, "'.xyz'"),
    LibCase("cluster-empty-csv", lambda f: gk.cluster(_inp("empty.csv")(f), 1), InputError,
            "could not read", "empty.csv"),
    LibCase("cluster-header-only", lambda f: gk.cluster(_inp("header.csv")(f), 1), InputError,
            "no rows"),
    LibCase("cluster-lines", lambda f: gk.cluster(_inp("lines.geojson")(f), 1), InputError,
            "row 0 is a LineString"),
    LibCase("cluster-decimal-comma", lambda f: gk.cluster(_inp("comma.csv")(f), 1),
            DataTypeError, "column 'lat'", "'38,9'"),
    LibCase("cluster-missing-coordinates", lambda f: gk.cluster(_inp("nan.csv")(f), 1),
            InputError, "row 1", "dropna=True"),
    LibCase("cluster-latitude-range",
            lambda f: gk.cluster(pd.DataFrame({"lat": [1.0, 95.0], "lon": [1.0, 2.0]}), 1),
            InputError, "row 1 has lat=95.0"),
    LibCase("cluster-gdf-without-crs",
            lambda f: gk.cluster(gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0])), 1),
            InputError, "no CRS", "set_crs"),
    # choose_k: every parameter
    LibCase("choose_k-int", lambda f: gk.choose_k(LONLAT, 5), DataTypeError, "k_range=5"),
    LibCase("choose_k-huge-range", lambda f: gk.choose_k(LONLAT, "2..1000000000"), InputError,
            "k=1000000000", "n_samples=4"),
    LibCase("choose_k-backwards", lambda f: gk.choose_k(LONLAT, "5..2"), InputError,
            "k_range='5..2'"),
    LibCase("choose_k-silhouette_sample",
            lambda f: gk.choose_k(LONLAT, "2..3", silhouette_sample=0), InputError,
            "silhouette_sample=0"),
    LibCase("choose_k-progress", lambda f: gk.choose_k(LONLAT, "2..3", progress="bar"),
            DataTypeError, "progress='bar'"),
    LibCase("choose_k-progress-int", lambda f: gk.choose_k(LONLAT, "2..3", progress=1),
            DataTypeError, "progress=1", "True, False or a callable"),
    LibCase("choose_k-weight-bool", lambda f: gk.choose_k(LONLAT, "2..3", weight=True),
            DataTypeError, "weight=True"),
    LibCase("choose_k-range-beyond-sys-maxsize",
            lambda f: gk.choose_k(LONLAT, "2..99999999999999999999"), InputError,
            "k=99999999999999999999", "n_samples=4"),
    LibCase("choose_k-python-range-beyond-sys-maxsize",
            lambda f: gk.choose_k(LONLAT, range(2, 10**20)), InputError, "n_samples=4"),
    # values numpy would quietly convert
    LibCase("weight-list-with-a-bool", lambda f: gk.cluster(LONLAT, 2, weight=[True, 2, 3, 4]),
            DataTypeError, "holds booleans", "True"),
    LibCase("weight-list-of-text", lambda f: gk.cluster(LONLAT, 2, weight=["1", "2", "3", "4"]),
            DataTypeError, "holds text", "'1'"),
    LibCase("init-list-with-bools",
            lambda f: gk.GeoKMeans(2, init=[[True, False], [0, 0]]).fit(LONLAT), DataTypeError,
            "init", "booleans"),
    LibCase("points-as-text-pairs", lambda f: gk.cluster([("-77.0", "38.9"), ("-77.1", "38.8")], 1),
            DataTypeError, "data", "text"),
    LibCase("kmeans-sparse-X", lambda f: gk.KMeans(2).fit(__import__("scipy.sparse").sparse
                                                        .csr_matrix(X)),
            DataTypeError, "X must be a dense array"),
    # a CSV header naming a column twice (pandas would rename the second to lat.1)
    LibCase("csv-duplicate-header", lambda f: gk.cluster(Path(f) / "in" / "dup.csv", 1),
            InputError, "'lat' twice", "columns 1 and 3"),
    # projected points outside the projection's domain (PROJ would wrap them silently)
    LibCase("projected-point-outside-its-crs",
            lambda f: gk.cluster(gpd.GeoDataFrame(geometry=[shapely.Point(3e7, 0),
                                                            shapely.Point(1e6, 1e6)], crs=3857), 1),
            InputError, "row 0", "(30000000, 0)", "EPSG:3857"),
    LibCase("explore-m-not-a-map",
            lambda f: gk.cluster(LONLAT, 2, random_state=0).explore(m="map"), DataTypeError,
            "m should be a folium.Map"),
]


@pytest.mark.parametrize("case", [c.param() for c in LIB_CASES])
def test_library(case, tmp_path):
    assert issubclass(case.error, GeoKMeansError)  # never a raw Python error
    make_inputs(tmp_path)
    check_lib_case(case, tmp_path)


# -- the command line ----------------------------------------------------------------------


def _cli(*args):
    """Arguments with ``{in}`` and ``{out}`` standing for the inputs and the case folder."""
    return lambda f: [str(a).replace("{in}", str(Path(f) / "in")).replace("{out}", str(f))
                      for a in args]


PTS = "{in}/points.csv"
OUT = "{out}/out.geojson"

CLI_CASES = [
    CliCase("choose-k-range-beyond-sys-maxsize",
            _cli("choose-k", PTS, "--k", "2..99999999999999999999"), 2, "k=99999999999999999999"),
    CliCase("csv-duplicate-header", _cli("cluster", "{in}/dup.csv", "-k", 1, "-o", OUT), 2,
            "'lat' twice"),
    CliCase("no-command", _cli(), 2, "COMMAND"),
    CliCase("unknown-option", _cli("cluster", PTS, "-k", 2, "--frobnicate"), 2, "--frobnicate"),
    CliCase("missing-k", _cli("cluster", PTS, "-o", OUT), 2, "-k/--k"),
    CliCase("k-zero", _cli("cluster", PTS, "-k", 0, "-o", OUT), 2, "-k/--k", "'0'"),
    CliCase("k-text", _cli("cluster", PTS, "-k", "three", "-o", OUT), 2, "'three'"),
    CliCase("k-float", _cli("cluster", PTS, "-k", "2.5", "-o", OUT), 2, "'2.5'", "integer"),
    CliCase("k-beyond-n", _cli("cluster", PTS, "-k", 1_000_000_000, "-o", OUT), 2,
            "-k 1000000000 but the data hold 4 points"),
    CliCase("seed-negative", _cli("cluster", PTS, "-k", 2, "--seed", -1, "-o", OUT), 2,
            "--seed", "'-1'", "4294967295"),
    CliCase("seed-too-big", _cli("cluster", PTS, "-k", 2, "--seed", 2**32, "-o", OUT), 2,
            "--seed", "'4294967296'"),
    CliCase("seed-text", _cli("cluster", PTS, "-k", 2, "--seed", "x", "-o", OUT), 2, "--seed"),
    CliCase("n-init-huge", _cli("cluster", PTS, "-k", 2, "--init", "bbox", "--n-init",
                                100_000_000, "-o", OUT), 2, "--n-init", "'100000000'"),
    CliCase("n-init-zero", _cli("cluster", PTS, "-k", 2, "--n-init", 0, "-o", OUT), 2,
            "--n-init"),
    CliCase("local-search-negative", _cli("cluster", PTS, "-k", 2, "--local-search", -1,
                                          "-o", OUT), 2, "--local-search", "'-1'"),
    CliCase("max-iter-zero", _cli("cluster", PTS, "-k", 2, "--max-iter", 0, "-o", OUT), 2,
            "--max-iter"),
    CliCase("max-radius-nan", _cli("cluster", PTS, "-k", 2, "--max-radius-m", "nan", "-o", OUT),
            2, "--max-radius-m", "'nan'"),
    CliCase("max-radius-tiny", _cli("cluster", PTS, "-k", 2, "--max-radius-m", "1e-9",
                                    "-o", OUT), 2, "--max-radius-m", "0.001"),
    CliCase("bbox-nan", _cli("cluster", PTS, "-k", 2, "--init", "bbox", "--bbox", "nan", 38,
                             -76, 40, "-o", OUT), 2, "west_lon_deg=nan"),
    CliCase("bbox-no-area", _cli("cluster", PTS, "-k", 2, "--init", "bbox", "--bbox", -77, 38,
                                 -77, 40, "-o", OUT), 2, "no area"),
    CliCase("bbox-without-init", _cli("cluster", PTS, "-k", 2, "--bbox", 0, 0, 1, 1, "-o", OUT),
            2, "--bbox"),
    CliCase("init-unknown", _cli("cluster", PTS, "-k", 2, "--init", "kmeans"), 2, "'kmeans'"),
    CliCase("crs-geographic", _cli("cluster", PTS, "-k", 2, "--crs", "EPSG:4326", "-o", OUT), 2,
            "EPSG:4326", "geographic"),
    CliCase("crs-garbage", _cli("cluster", PTS, "-k", 2, "--crs", "bogus", "-o", OUT), 2,
            "'bogus'"),
    CliCase("lat-missing", _cli("cluster", PTS, "-k", 2, "--lat", "nope", "-o", OUT), 2,
            "'nope'"),
    CliCase("lat-wrong-case", _cli("cluster", PTS, "-k", 2, "--lat", "LAT", "-o", OUT), 2,
            "'LAT'", "differs only in case"),
    CliCase("weight-missing", _cli("cluster", PTS, "-k", 2, "--weight", "nope", "-o", OUT), 2,
            "'nope'"),
    CliCase("weight-bool", _cli("cluster", PTS, "-k", 2, "--weight", "flag", "-o", OUT), 2,
            "'flag'", "booleans"),
    CliCase("weight-text", _cli("cluster", PTS, "-k", 2, "--weight", "name", "-o", OUT), 2,
            "'name'", "row 0"),
    CliCase("output-extension", _cli("cluster", PTS, "-k", 2, "-o", "{out}/out.xlsx"), 2,
            "out.xlsx"),
    CliCase("output-onto-input", _cli("cluster", PTS, "-k", 2, "-o", PTS), 2, "input file"),
    CliCase("input-missing", _cli("cluster", "{in}/nope.csv", "-k", 2, "-o", OUT), 2,
            "nope.csv"),
    CliCase("input-empty", _cli("cluster", "{in}/empty.csv", "-k", 1, "-o", OUT), 2,
            "empty.csv"),
    CliCase("input-header-only", _cli("cluster", "{in}/header.csv", "-k", 1, "-o", OUT), 2,
            "no rows"),
    CliCase("input-truncated", _cli("cluster", "{in}/bad.geojson", "-k", 1, "-o", OUT), 2,
            "bad.geojson"),
    CliCase("input-extension", _cli("cluster", "{in}/points.xyz", "-k", 1, "-o", OUT), 2,
            "'.xyz'"),
    CliCase("input-lines", _cli("cluster", "{in}/lines.geojson", "-k", 1, "-o", OUT), 2,
            "LineString"),
    CliCase("input-missing-coordinates", _cli("cluster", "{in}/nan.csv", "-k", 1, "-o", OUT), 2,
            "row 1", "dropna"),
    CliCase("input-decimal-comma", _cli("cluster", "{in}/comma.csv", "-k", 1, "-o", OUT), 2,
            "'38,9'"),
    CliCase("input-lat-and-Lat", _cli("cluster", "{in}/case.csv", "-k", 1, "-o", OUT), 2,
            "'lat', 'Lat'"),
    CliCase("input-mixed-directory", _cli("cluster", "{in}/mixed", "-k", 1), 2, "mixed",
            "Parquet and CSV"),
    CliCase("input-odd-file-in-directory", _cli("cluster", "{in}/odd", "-k", 1), 2,
            "notes.txt.bak"),
    CliCase("input-glob-matches-nothing", _cli("cluster", "{in}/none_*.csv", "-k", 1), 2,
            "none_*.csv"),
    CliCase("dask-bogus-address", _cli("cluster", PTS, "-k", 2, "--dask", "bogus://x"), 2,
            "bogus://x"),
    CliCase("dask-empty-address", _cli("cluster", PTS, "-k", 2, "--dask", "", "-o", OUT), 2,
            "--dask", "empty"),
    CliCase("dask-port-out-of-range", _cli("cluster", PTS, "-k", 2, "--dask",
                                           "tcp://127.0.0.1:99999", "-o", OUT), 2,
            "port 99999", "1 to 65535"),
    CliCase("dask-port-zero", _cli("cluster", PTS, "-k", 2, "--dask", "tls://[::1]:0"), 2,
            "port 0"),
    CliCase("dask-blank-address", _cli("cluster", PTS, "-k", 2, "--dask", "  "), 2, "--dask",
            "empty"),
    CliCase("choose-k-huge-range", _cli("choose-k", PTS, "--k", "2..1000000000"), 2,
            "k=1000000000"),
    CliCase("choose-k-backwards", _cli("choose-k", PTS, "--k", "5..2"), 2, "--k", "'5..2'"),
    CliCase("choose-k-text", _cli("choose-k", PTS, "--k", "two..three"), 2, "'two..three'"),
    CliCase("choose-k-silhouette", _cli("choose-k", PTS, "--k", "2..3", "--silhouette-sample",
                                        1), 2, "--silhouette-sample"),
    CliCase("choose-k-format", _cli("choose-k", PTS, "--format", "xml"), 2, "'xml'"),
    CliCase("choose-k-seed", _cli("choose-k", PTS, "--k", "2..3", "--seed", -5), 2, "--seed"),
    CliCase("choose-k-plot-extension", _cli("choose-k", PTS, "--k", "2..3", "--plot",
                                            "{out}/elbow.jpg"), 2, "elbow.jpg"),
]


@pytest.mark.parametrize("case", [c.param() for c in CLI_CASES])
def test_cli(case, tmp_path):
    make_inputs(tmp_path)
    check_cli_case(case, tmp_path)


# -- missing optional packages: exit 2 with the pip command, before any work -------------


@pytest.mark.parametrize("modules, args, needles", [
    (["matplotlib"], ("choose-k", PTS, "--k", "2..3", "--plot", "{out}/elbow.png"),
     ["--plot", 'pip install "geokmeans[plot]"']),
    (["distributed"], ("cluster", PTS, "-k", 2, "--dask", "tcp://127.0.0.1:1"),
     ["--dask", 'pip install "geokmeans[dask]"']),
    (["dask", "dask.dataframe"], ("cluster", "{in}/odd", "-k", 1),
     ["odd", 'pip install "geokmeans[dask]"']),
])
def test_missing_optional_package(monkeypatch, tmp_path, modules, args, needles):
    import geokmeans.selection

    def no_work(*a, **k):
        raise AssertionError("work started before the package check")

    monkeypatch.setattr(geokmeans.selection, "read_points", no_work)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)
    make_inputs(tmp_path)
    check_cli_case(CliCase("missing", _cli(*args), 2, *needles), tmp_path)


# -- one line per warning and per error ------------------------------------------------------


def test_warnings_are_one_line(tmp_path):
    make_inputs(tmp_path)
    code, out, err = run_cli(["cluster", tmp_path / "in" / "nan.csv", "-k", 1, "--dropna",
                              "--crs", "EPSG:32755", "--seed", 0])
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert all(line.startswith("geokmeans: warning: ") for line in lines)
    assert "skipped 1 row with missing coordinates" in err and "area of use" in err
    assert "Warning" not in err and ".py:" not in err


def test_help_still_works():
    code, out, err = run_cli(["cluster", "--help"])
    assert code == 0 and "usage: geokmeans cluster" in out and err == ""


@pytest.mark.slow
def test_one_line_errors_in_a_real_process(tmp_path):
    import subprocess

    make_inputs(tmp_path)
    # one real process (the table above runs every case in this process): nothing but
    # the one line reaches stderr, not even at the interpreter's exit
    for args, needle in [(["cluster", "{in}/mixed", "-k", 1, "--seed", "-1"], "--seed")]:
        done = subprocess.run([sys.executable, "-m", "geokmeans.cli", *_cli(*args)(tmp_path)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("geokmeans: error: ")
        assert needle in done.stderr
