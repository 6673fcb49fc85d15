"""The command line's argument parser: the commands, their options and help, and the
types that check option values against the library's parameter table."""

import argparse

EPILOG_CLUSTER = """examples:
  geokmeans cluster data/dc_places.csv -k 6 --init bbox --bbox -77.15 38.825 -76.9 39.0 \\
      --weight population --seed 0 -o points.geojson --centroids centroids.geojson --map map.html
  geokmeans cluster ais.csv -k 5 --max-radius-m 2000 -o service_areas.gpkg --hulls hulls.geojson
  geokmeans cluster labelled.csv -k 4 --label-column group -o relabelled.csv
  geokmeans cluster airports.parquet -k 20 --crs sphere -o out.parquet
  geokmeans cluster stores.csv -k 8 --territories zones.geojson --boundary county.gpkg
  geokmeans cluster july.csv -k 8 --relabel-like june_centroids.geojson -o july.geojson
  geokmeans cluster data/ny_harbor_ais.csv -k 2 --by mmsi --centroids per_vessel.csv

outputs (-o, --centroids, --hulls, --territories, --map) are written all-or-nothing: on an
error, Ctrl-C, SIGTERM or SIGHUP none of them appears and files they would replace are left
as they were. They never go over the input (nor the --boundary file): a file of it, a path
inside an input directory or one an input glob would match is refused before any work.
"""

EPILOG_ASSIGN = """examples:
  geokmeans cluster june.csv -k 8 --seed 0 --centroids territories.geojson
  geokmeans assign new_customers.csv --centroids territories.geojson -o labelled.csv

Each point gets the id of its nearest centroid in the projection the centroids' run used
(recorded in GeoJSON, GeoPackage and GeoParquet centroids files; for a CSV, chosen from
the centroids as --crs auto would). The output is written all-or-nothing and never over
the points or the centroids file.
"""

EPILOG_CHOOSE = """examples:
  geokmeans choose-k data/ny_harbor_ais.csv --k 2..12 --plot elbow.png
  geokmeans choose-k places.csv --k 2..20 --weight population --format csv > metrics.csv
"""


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised as ``UsageError``, printed by
    ``main``) instead of the usage text and an exit; subparsers are of this class too."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _option_type(name, parse=int):
    """An argparse type parsing text with ``parse`` and checking the value against the
    library's ``PARAMETERS[name]``, so each limit is declared once; the message gives
    the text and what is accepted, and argparse prefixes the option's name."""
    like = {int: [0], float: [0.0]}.get(parse, ["auto", 0])

    def convert(text):
        # imported here, when an option is given: --help stays free of numpy
        from ._validation import check_param, expectation
        from .errors import GeoKMeansError

        try:
            return check_param(name, parse(text))
        except (ValueError, TypeError, GeoKMeansError):
            raise argparse.ArgumentTypeError(
                f"{text!r} should be {expectation(name, like)}") from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def _auto_or_int(text):
    return text if text == "auto" else int(text)


def _k_range(text):
    """argparse type of choose-k's --k: the ks, lazily (A..B is a range)."""
    from .errors import GeoKMeansError
    from .selection import K_RANGE_FORMS, parse_k_range

    try:
        return parse_k_range(text)
    except GeoKMeansError:
        raise argparse.ArgumentTypeError(f"{text!r} should be {K_RANGE_FORMS}") from None


def _common_input_options(parser):
    parser.add_argument("input", help="CSV (also .csv.gz, .csv.bz2, .csv.zst), GeoJSON, "
                                      "GeoPackage, Shapefile or (Geo)Parquet file "
                                      "of points or polygons (a polygon is clustered by its "
                                      "representative point and keeps its shape in the "
                                      "outputs; an existing path is that file, whatever its "
                                      "characters)")
    parser.add_argument("--lat", metavar="COL", help="latitude column (default: detected)")
    parser.add_argument("--lon", metavar="COL", help="longitude column (default: detected)")
    parser.add_argument("--weight", metavar="COL", help="weight column (e.g. population)")
    parser.add_argument("--crs", default="auto",
                        help="auto (default), sphere, or a projected CRS such as EPSG:32618")
    parser.add_argument("--init", default="k-means++", choices=["k-means++", "bbox", "random"],
                        help="seeding method (default k-means++)")
    parser.add_argument("--seed", type=_option_type("random_state"), default=None,
                        help="random seed, an integer in [0, 4294967295] (reproducible runs)")
    parser.add_argument("--dropna", action="store_true",
                        help="skip rows with missing coordinates (or a missing or empty "
                             "geometry; with --by, an empty group value) instead of failing")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    loud.add_argument("-v", "--verbose", action="store_true", help="log every iteration")



def build_parser(run_cluster, run_choose_k, run_assign=None):
    """The ``geokmeans`` parser; a command's arguments carry the function that runs it as
    ``func`` (``run_cluster``, ``run_choose_k`` or ``run_assign``, called with the
    arguments and the progress display)."""
    from ._version import __version__

    parser = _Parser(
        prog="geokmeans",
        description="k-means clustering of longitude/latitude points, in metres.",
        epilog="run 'geokmeans COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"geokmeans {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_cluster(commands).set_defaults(func=run_cluster)
    _add_choose_k(commands).set_defaults(func=run_choose_k)
    if run_assign is not None:
        _add_assign(commands).set_defaults(func=run_assign)
    return parser


def _add_cluster(commands):
    """The ``cluster`` command and its options."""
    run = commands.add_parser("cluster", help="cluster the points of a file",
                              description="Cluster the points of a file; write points, "
                                          "centroids and a map.",
                              epilog=EPILOG_CLUSTER,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_input_options(run)
    run.add_argument("-k", "--k", dest="k", type=_option_type("n_clusters"), default=None,
                     help="number of clusters (required unless --centres-file gives them)")
    run.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"),
                     help="box for --init bbox, in degrees (W > E crosses the 180° meridian)")
    run.add_argument("--max-radius-m", type=_option_type("max_radius_m", float), metavar="R",
                     help="split clusters until every point is within R metres of its centroid "
                          "(-k becomes a minimum)")
    _size_options(run)
    run.add_argument("--n-init", type=_option_type("n_init", _auto_or_int), default=None,
                     help="number of seedings, at most 10000 (default auto)")
    run.add_argument("--local-search", type=_option_type("local_search", _auto_or_int),
                     default=None, metavar="STEPS",
                     help="LocalSearch++ steps refining the seeds (default: k after k-means++, "
                          "0 after bbox/random; 0 = plain k-means++)")
    run.add_argument("--max-iter", type=_option_type("max_iter"), default=300,
                     help="maximum iterations (default 300)")
    run.add_argument("-o", "--output", metavar="OUT",
                     help="labelled points: .geojson/.json, .gpkg, .parquet or .csv; for a "
                          "dask run (directory or glob input, --dask) also a path without "
                          "extension: a new partitioned GeoParquet directory")
    run.add_argument("--centroids", metavar="OUT", help="centroids with statistics (same formats)")
    run.add_argument("--hulls", metavar="OUT",
                     help="convex hull of each cluster with its statistics (same formats)")
    run.add_argument("--territories", metavar="OUT",
                     help="territory of each cluster: non-overlapping polygons covering the "
                          "data's hull with a margin, or --boundary (same formats as -o)")
    run.add_argument("--boundary", metavar="FILE",
                     help="polygons the territories cover (GeoJSON, GeoPackage, Shapefile, "
                          "GeoParquet; any CRS), with --territories")
    run.add_argument("--map", metavar="OUT.html", help="interactive web map (HTML)")
    run.add_argument("--by", metavar="COL",
                     help="cluster each group of rows sharing a value of COL separately, -k "
                          "clusters each; ids run on across groups (in sorted order of COL) "
                          "and the centroids, hulls and territories get a COL column; rows "
                          "with an empty COL are an error unless --dropna")
    run.add_argument("--relabel-like", metavar="CENTROIDS",
                     help="number the clusters as the nearest ones of an earlier run's "
                          "centroids file (--centroids output), so ids persist across runs")
    run.add_argument("--label-column", default="cluster", metavar="NAME",
                     help="name of the labels column added to the points (default cluster)")
    run.add_argument("--distance-column", default="distance_m", metavar="NAME",
                     help="name of the distance-to-centroid column (default distance_m)")
    run.add_argument("--csv-raw", action="store_true",
                     help="write CSV text cells as they are (by default text starting with "
                          "= + - @ tab or CR gets a leading ' so spreadsheets do not run it)")
    run.add_argument("--dask", metavar="ADDRESS",
                     help="run on the dask scheduler at ADDRESS (e.g. tcp://host:8786); "
                          "INPUT may then be a glob or directory of CSV/Parquet files")
    return run


def _size_options(run):
    """Explicit centres (e.g. depots) and size limits: balanced territories."""
    run.add_argument("--centres-file", metavar="FILE",
                     help="initial centres from a points file (any input format), one cluster "
                          "per row in file order, e.g. depots; -k defaults to their number")
    run.add_argument("--size-min", metavar="N|COL",
                     help="least size of every cluster: a number, or a column of the centres "
                          "file (one limit per centre)")
    run.add_argument("--size-max", metavar="N|COL",
                     help="largest size of every cluster: a number or a centres-file column")
    run.add_argument("--size-by", choices=["count", "weight"], default="count",
                     help="sizes count points (default) or sum the --weight column")
    run.add_argument("--fixed-column", metavar="COL",
                     help="boolean column of the centres file: centres that never move")


def _add_assign(commands):
    """The ``assign`` command: label new points with saved centroids."""
    run = commands.add_parser("assign", help="label points with saved centroids",
                              description="Give each point the id of its nearest saved "
                                          "centroid (a --centroids file of an earlier run).",
                              epilog=EPILOG_ASSIGN,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("input", metavar="POINTS",
                     help="CSV, GeoJSON, GeoPackage, Shapefile or (Geo)Parquet file of points "
                          "or polygons")
    run.add_argument("--centroids", required=True, metavar="FILE",
                     help="centroids with a 'cluster' column, as 'geokmeans cluster "
                          "--centroids' writes them")
    run.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="labelled points: .geojson/.json, .gpkg, .parquet or .csv")
    run.add_argument("--lat", metavar="COL", help="latitude column (default: detected)")
    run.add_argument("--lon", metavar="COL", help="longitude column (default: detected)")
    run.add_argument("--dropna", action="store_true",
                     help="label rows without coordinates -1 instead of failing")
    run.add_argument("--label-column", default="cluster", metavar="NAME",
                     help="name of the added column of cluster ids (default cluster)")
    run.add_argument("--distance-column", default="distance_m", metavar="NAME",
                     help="name of the added distance-to-centroid column (default distance_m)")
    run.add_argument("--csv-raw", action="store_true",
                     help="write CSV text cells as they are (see 'geokmeans cluster --help')")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    run.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    return run


def _add_choose_k(commands):
    """The ``choose-k`` command and its options."""
    choose = commands.add_parser("choose-k", help="compare k values: inertia, silhouette, CH",
                                 description="Fit a range of k and report inertia (m²), "
                                             "silhouette and Calinski-Harabasz, with a "
                                             "recommended k.",
                                 epilog=EPILOG_CHOOSE,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_input_options(choose)
    choose.add_argument("--k", dest="k_range", type=_k_range, default="2..10",
                        help="k values: A..B or a list 3,5,8 (default 2..10)")
    choose.add_argument("--plot", metavar="PNG", help="write an elbow/silhouette plot (PNG)")
    choose.add_argument("--format", choices=["table", "csv"], default="table",
                        help="stdout format (default table)")
    choose.add_argument("--silhouette-sample", type=_option_type("silhouette_sample"),
                        default=10_000, metavar="N",
                        help="silhouette on at most N sampled points (default 10000)")
    return choose
