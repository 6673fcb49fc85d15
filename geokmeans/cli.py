"""The ``geokmeans`` command-line tool: cluster files of points, choose k.

Exit codes: 0 success; 2 bad usage or bad input, including a missing optional package
(one line ``geokmeans: error: ...`` on stderr, no traceback, no output file written);
1 an unexpected internal error; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129
hung up (SIGHUP). Warnings are one line each, ``geokmeans: warning: ...``. Options are
checked (against the library's parameter table) and optional packages looked for before
any work is done. Outputs are written all-or-nothing, stdout included: on any error or
interruption (a full device for stdout too) none of the files appears and files they
would replace are untouched; none may go over the input (every file of a partitioned
input, anything inside an input directory, a new file an input glob would match).

This module runs the commands; their argument parser is ``_cli_parser``.
"""

import contextlib
import logging
import re
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

# the parser's public names, importable from here as before ("as": re-exported)
from ._cli_parser import EPILOG_CHOOSE as EPILOG_CHOOSE
from ._cli_parser import EPILOG_CLUSTER as EPILOG_CLUSTER
from ._cli_parser import UsageError as UsageError
from ._cli_parser import build_parser as _build_parser
from ._formatting import format_distance, format_limits, format_size

__all__ = ["main"]

OUTPUT_SUFFIXES = (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet", ".csv")
MAP_SUFFIXES = (".html", ".htm")

class Terminated(BaseException):
    """SIGTERM or SIGHUP received: raised in the main thread so that outputs are cleaned up.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that ``except Exception`` does not
    swallow it; the exit code is 128 + the signal number.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_as_exceptions():
    """Turn SIGTERM and SIGHUP into ``Terminated`` while the command runs (main thread)."""
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, _raise_terminated)
        except ValueError:  # not the main thread: leave the defaults
            break
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Progress:
    """What the command line shows on stderr while it works, only when stderr is a
    terminal (``enabled``): the current stage as a status line, and the library's own
    ``tqdm.auto`` bars (``progress=True``: restarts, the k sweep, Dask iterations). Every
    line drawn goes through tqdm, so warnings and log lines (``write``) print above the
    bars instead of through them."""

    def __init__(self, enabled):
        self.enabled = enabled
        self._status = None

    def stage(self, text):
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        if self._status is None:
            self._status = tqdm(total=0, bar_format="{desc}", desc=f"{text} …", leave=False,
                                file=sys.stderr)
        else:
            self._status.set_description_str(f"{text} …")

    def clear(self):
        if self._status is not None:
            self._status.close()
            self._status = None

    def write(self, line):
        """Print ``line`` on stderr (above the bars, when they are drawn)."""
        if self.enabled:
            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)


def build_parser():
    """The ``geokmeans`` argument parser, its commands run by ``run_cluster`` and
    ``run_choose_k`` (looked up here when the parser is built)."""
    return _build_parser(run_cluster, run_choose_k, run_assign)


def _check_outputs(named, input_path, boundary=None):
    """Fail early (before any work) on outputs that cannot be written.

    ``named`` is ``[(option, path, suffixes), ...]``. Refuses an unknown extension, the
    input file (or the ``boundary`` file), a path inside an input directory or matched by
    an input glob (every file a partitioned input reads is protected), two options naming
    the same file (any spelling, links included), and a path that cannot be written, each
    naming the option.
    """
    from . import io
    from ._partitioned import input_paths

    given = [(option, path, suffixes) for option, path, suffixes in named if path is not None]
    checker = io.OutputSet(protected=input_paths(input_path))
    for i, (option, path, suffixes) in enumerate(given):
        if Path(path).suffix.lower() not in suffixes:
            also = " (or none: a partitioned GeoParquet directory)" if "" in suffixes else ""
            raise UsageError(f"{option} '{path}' has an unsupported extension; use "
                             f"{', '.join(s for s in suffixes if s)}{also}.")
        if io.same_file(path, input_path):
            raise UsageError(f"{option} '{path}' is the input file; choose another path.")
        if boundary is not None and io.same_file(path, boundary):
            raise UsageError(f"{option} '{path}' is the --boundary file; choose another path.")
        for other_option, other, _ in given[:i]:
            if io.same_file(path, other):
                raise UsageError(f"{other_option} '{other}' and {option} '{path}' are the same "
                                 "file; give each output its own path.")
        try:
            checker.check(path, directory=Path(path).suffix == "")
        except Exception as exc:  # an InputError from the check, named by the option
            raise UsageError(f"{option}: {exc}") from None


def _cluster_table(centroids, limit=20, by=None):
    rows = centroids.sort_values("n_points", ascending=False)
    shown = rows.head(limit)
    limited = "size_min" in rows.columns
    groups = [] if by is None else [_printable(v) for v in shown[by].tolist()]
    width = max([len(str(by or "")), *map(len, groups)]) if by is not None else 0
    lines = [f"{'cluster':>7} " + (f"{by:<{width}} " if by is not None else "")
             + f"{'points':>9} {'weight':>12} {'mean dist':>10} {'max dist':>10} "
             f"{'lon':>11} {'lat':>10}" + (f" {'size limits':>23}" if limited else "")]
    for i, row in enumerate(shown.itertuples()):
        group = f"{groups[i]:<{width}} " if by is not None else ""
        lines.append(f"{row.cluster:>7} {group}{row.n_points:>9,} {format_size(row.weight):>12} "
                     f"{format_distance(row.mean_distance_m):>10} "
                     f"{format_distance(row.max_distance_m):>10} "
                     f"{row.geometry.x:>11.5f} {row.geometry.y:>10.5f}"
                     + (f" {format_limits(row.size_min, row.size_max):>23}" if limited else ""))
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more clusters (largest {limit} shown)")
    return "\n".join(lines)


def _printable(value):
    """A value from the data as terminal text: as it is when printable, else its repr
    (control characters escaped, so no data value drives the terminal)."""
    text = str(value)
    return text if text.isprintable() else repr(text)


def _dask_input(args):
    """The input as a dask frame when it is partitioned or --dask is given, else None."""
    from ._partitioned import read_partitioned

    if not _is_dask_run(args):
        return None
    return read_partitioned(args.input)


def _is_dask_run(args):
    """True when the input is read with dask (a directory, a glob, or --dask given)."""
    from ._partitioned import is_partitioned_path

    return args.dask is not None or is_partitioned_path(args.input)


#: Seconds to wait for a Dask scheduler before giving up (exit 2).
CONNECT_TIMEOUT_S = 10


def _connect(address):
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(f"--dask needs distributed: {_INSTALL['dask']}") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot reach the dask scheduler at {address}: {exc}") from None


_INSTALL = {"plot": 'pip install "geokmeans[plot]"', "dask": 'pip install "geokmeans[dask]"'}


def _missing(module):
    """True when ``module`` cannot be imported."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False


def _check_dask_address(address):
    """Refuse an address no dask protocol understands (e.g. ``bogus://x``)."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        get_backend(parse_address(address)[0])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--dask {address!r} is not a scheduler address ({exc}); use e.g. "
                         "tcp://host:8786") from None


def _preflight(args):
    """Before any work: the optional packages the options need are installed (exit 2
    with the pip command otherwise) and a --dask address is well formed."""
    if getattr(args, "plot", None) and _missing("matplotlib"):
        raise UsageError(f"--plot needs matplotlib, which is not installed: {_INSTALL['plot']}")
    if args.command != "cluster":
        return
    from ._partitioned import is_partitioned_path

    if args.dask is not None:
        if not args.dask.strip():  # would silently run on the local scheduler
            raise UsageError("--dask needs a scheduler address, e.g. tcp://host:8786; got an "
                             "empty one (leave --dask out to run locally).")
        for module in ("dask.dataframe", "distributed"):
            if _missing(module):
                raise UsageError(f"--dask needs {module.split('.')[0]}, which is not installed: "
                                 f"{_INSTALL['dask']}")
        _check_dask_address(args.dask)
    elif is_partitioned_path(args.input) and _missing("dask.dataframe"):
        raise UsageError(f"input '{args.input}' is a directory or glob, read with dask, which is "
                         f"not installed: {_INSTALL['dask']}")


def _number(text):
    """``text`` as a float, or None when it is not a number (then a column name)."""
    try:
        return float(text)
    except ValueError:
        return None


def _constraint_options(args):
    """``(k, options)`` of --centres-file, --size-min/--size-max, --size-by and
    --fixed-column: explicit centres and size limits, checked before any work."""
    options = {"size_by": args.size_by}
    if args.size_by == "weight" and args.weight is None:
        raise UsageError("--size-by weight needs --weight COL: the limits are sums of it.")
    frame, k = None, args.k
    if args.centres_file is None:
        for flag, value in (("--size-min", args.size_min), ("--size-max", args.size_max)):
            if value is not None and _number(value) is None:
                raise UsageError(f"{flag} {value!r} is not a number; a column name needs "
                                 "--centres-file.")
        if args.fixed_column is not None:
            raise UsageError("--fixed-column needs --centres-file (it names one of its "
                             "columns).")
        if k is None:
            raise UsageError("-k/--k is required (or give --centres-file: one cluster per "
                             "centre).")
    else:
        frame, centres = _read_centres(args)
        if k is None:
            k = len(centres)
        elif k != len(centres):
            raise UsageError(f"-k {k} but --centres-file '{args.centres_file}' holds "
                             f"{len(centres)} centres; give one or the other.")
        options["init"] = centres
    for name, flag in (("size_min", "--size-min"), ("size_max", "--size-max")):
        value = getattr(args, name)
        if value is not None:
            number = _number(value)
            options[name] = number if number is not None else _centres_column(
                frame, value, flag, args.centres_file)
    if args.fixed_column is not None:
        options["fixed_centers"] = _boolean_column(frame, args.fixed_column,
                                                   args.centres_file)
    return k, options


def _read_centres(args):
    """The centres file's frame and (lon, lat) rows; it is an input, never an output."""
    from . import io

    if args.init != "k-means++":
        raise UsageError("--init and --centres-file both choose the initial centres; give "
                         "one of them.")
    for option, path in (("-o", args.output), ("--centroids", args.centroids),
                         ("--hulls", args.hulls), ("--map", args.map),
                         ("--territories", getattr(args, "territories", None))):
        if path is not None and io.same_file(path, args.centres_file):
            raise UsageError(f"{option} '{path}' is the --centres-file; choose another path.")
    import numpy as np

    from .errors import GeoKMeansError

    try:
        points = io.read_points(args.centres_file)
    except (GeoKMeansError, OSError) as exc:
        raise UsageError(f"--centres-file: {exc}") from None
    return points.frame, np.column_stack([points.lon, points.lat])


def _require_column(frame, name, path, what):
    """Refuse a column name the centres file lacks, listing the columns it has."""
    if name not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise UsageError(f"{what} of '{path}' (columns: {columns}).")


def _centres_column(frame, name, flag, path):
    _require_column(frame, name, path, f"{flag} {name!r} is neither a number nor a column")
    import numpy as np

    values = frame[name]
    numeric = np.asarray(values, dtype=object)
    try:
        limits = np.asarray(numeric, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(v for v in numeric if _number(str(v)) is None)
        raise UsageError(f"{flag} column {name!r} of '{path}' holds {bad!r}; limits should be "
                         "numbers.") from None
    if np.isnan(limits).any():
        centre = int(np.flatnonzero(np.isnan(limits))[0])
        raise UsageError(f"{flag} column {name!r} of '{path}' is empty for centre {centre} "
                         f"(cluster {centre}); give a number for every centre (0: no minimum, "
                         "inf: no maximum).")
    return limits


_TRUE, _FALSE = {"true", "1", "yes", "t", "y"}, {"false", "0", "no", "f", "n"}


def _boolean_column(frame, name, path):
    _require_column(frame, name, path, f"--fixed-column {name!r} is not a column")
    import numpy as np

    values = frame[name]
    if values.dtype == bool:
        return values.to_numpy()
    flags = []
    for value in values:
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise UsageError(f"--fixed-column {name!r} of '{path}' holds {value!r}; expected "
                             "true/false (or 1/0, yes/no).")
        flags.append(text in _TRUE)
    return np.array(flags, dtype=bool)


def run_cluster(args, progress):
    from .result import cluster

    # the points of a dask run: also a new partitioned GeoParquet directory (no extension)
    points_suffixes = (*OUTPUT_SUFFIXES, "") if _is_dask_run(args) else OUTPUT_SUFFIXES
    _check_outputs([("-o", args.output, points_suffixes),
                    ("--centroids", args.centroids, OUTPUT_SUFFIXES),
                    ("--hulls", args.hulls, OUTPUT_SUFFIXES),
                    ("--territories", args.territories, OUTPUT_SUFFIXES),
                    ("--map", args.map, MAP_SUFFIXES)], args.input, args.boundary)
    if args.bbox is not None and args.init != "bbox":
        raise UsageError("--bbox is only used with --init bbox.")
    _check_added_columns(args)
    _check_by(args)
    k, constraints = _constraint_options(args)
    boundary = _read_boundary(args)
    reference = _read_reference(args)
    options = dict(init=args.init, crs=args.crs, random_state=args.seed, dropna=args.dropna,
                   max_iter=args.max_iter, max_radius_m=args.max_radius_m,
                   verbose=int(args.verbose), progress=progress.enabled)
    options.update(constraints)
    if args.bbox is not None:
        options["bbox"] = tuple(args.bbox)
    if args.n_init is not None:
        options["n_init"] = args.n_init
    if args.local_search is not None:
        options["local_search"] = args.local_search
    data = _dask_input(args)
    if data is None:
        data = args.input
    outputs = {"points": args.output, "centroids": args.centroids, "hulls": args.hulls,
               "territories": args.territories, "map": args.map}
    from . import io

    # stdout is one of the outputs: the files appear only once the report is out too
    with io.OutputSet() as transaction:
        client = _connect(args.dask) if args.dask is not None else None
        start = time.perf_counter()
        progress.stage(f"clustering {args.input}")
        try:  # the outputs are written inside: a dask result computes them on the cluster
            result = cluster(data, k, lat=args.lat, lon=args.lon, weight=args.weight,
                             label_column=args.label_column,
                             distance_column=args.distance_column, write=outputs,
                             csv_raw=args.csv_raw, outputs=transaction, boundary=boundary,
                             relabel_like=reference, by=args.by, **options)
        finally:
            if client is not None:
                client.close()
        elapsed = time.perf_counter() - start
        progress.clear()
        with _stdout_errors():
            _report(result, args, elapsed, k)
            sys.stdout.flush()
    return 0


def _check_added_columns(args):
    """--label-column and --distance-column name two different columns."""
    if args.label_column == args.distance_column:
        raise UsageError(f"--label-column and --distance-column are both "
                         f"{args.label_column!r}; give them different names.")


def _check_by(args):
    """--by, in the command's words, before any work: a column name that is neither an
    added column (--label-column, --distance-column) nor one of the centroid tables'."""
    by = args.by
    if by is None:
        return
    if not by:
        raise UsageError("--by needs a column name; got an empty one (to group by several "
                         "columns, combine them into one column of the input first).")
    for flag, column in (("--label-column", args.label_column),
                         ("--distance-column", args.distance_column)):
        if by == column:
            raise UsageError(f"--by {by!r} is also the {flag}: the column added to the points "
                             f"would replace the groups; give {flag} another name.")
    from ._groups import TABLE_COLUMNS

    if by in TABLE_COLUMNS:
        raise UsageError(f"--by {by!r} names a column of the centroid and hull tables "
                         f"({', '.join(TABLE_COLUMNS[:-2])}; lon, lat in CSV), which also get "
                         "the group column; rename that column of the input first.")


def _read_reference(args):
    """The --relabel-like centroids, read and checked before any work (None without);
    never one of the outputs."""
    if args.relabel_like is None:
        return None
    from . import io
    from .errors import GeoKMeansError
    from .stable_ids import read_centroids

    for option, path in (("-o", args.output), ("--centroids", args.centroids),
                         ("--hulls", args.hulls), ("--map", args.map),
                         ("--territories", args.territories)):
        if path is not None and io.same_file(path, args.relabel_like):
            raise UsageError(f"{option} '{path}' is the --relabel-like file; choose another "
                             "path.")
    try:
        return read_centroids(args.relabel_like, role="--relabel-like")
    except GeoKMeansError as exc:
        raise UsageError(str(exc)) from None


def run_assign(args, progress):
    """``geokmeans assign``: label points with saved centroids, write them, report."""
    import numpy as np

    from . import io
    from ._version import __version__
    from .errors import GeoKMeansError
    from .stable_ids import assign_points, read_centroids, write_points

    _check_outputs([("-o", args.output, OUTPUT_SUFFIXES)], args.input)
    _check_added_columns(args)
    if io.same_file(args.output, args.centroids):
        raise UsageError(f"-o '{args.output}' is the --centroids file; choose another path.")
    try:
        saved = read_centroids(args.centroids, role="--centroids")
    except GeoKMeansError as exc:
        raise UsageError(str(exc)) from None
    progress.stage(f"assigning {args.input}")
    frame, columns, saved, crs_used = assign_points(
        args.input, saved, lat=args.lat, lon=args.lon, dropna=args.dropna,
        label_column=args.label_column, distance_column=args.distance_column)
    labels = frame[args.label_column].to_numpy()
    n_points = int((labels >= 0).sum())
    facts = {"crs_used": crs_used, "n_clusters": int(saved.ids.size),
             "n_points": n_points, "geokmeans_version": __version__}
    if saved.by is not None:  # matched within the groups of this column
        facts["by"] = saved.by
        if crs_used == "per group":
            del facts["crs_used"]
    with io.OutputSet(protected=[Path(args.input), Path(args.centroids)]) as transaction:
        write_points(args.output, frame, protected=[Path(args.input), Path(args.centroids)],
                     metadata=facts, coordinate_columns=columns, csv_raw=args.csv_raw,
                     outputs=transaction)
        progress.clear()
        skipped = len(labels) - n_points
        with _stdout_errors():
            print(f"{n_points:,} points assigned to {len(np.unique(labels[labels >= 0])):,} of "
                  f"the {saved.ids.size:,} clusters of '{args.centroids}' (CRS "
                  f"{crs_used}" + (f", within groups by {_printable(saved.by)}" if saved.by
                                   is not None else "") + ")"
                  + (f", {skipped:,} rows skipped" if skipped else ""))
            sys.stdout.flush()
    return 0


def _read_boundary(args):
    """The --boundary file's polygons, read and checked before any work (None without)."""
    if args.boundary is None:
        return None
    if args.territories is None:
        raise UsageError("--boundary is only used with --territories.")
    import geopandas as gpd

    from . import io
    from .errors import GeoKMeansError
    from .territories import check_boundary

    try:
        frame = io.read_table(args.boundary)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise UsageError("it holds no geometry; expected polygons (GeoJSON, GeoPackage, "
                             "Shapefile or GeoParquet).")
        return check_boundary(frame)
    except (GeoKMeansError, UsageError) as exc:  # what is wrong, prefixed by the option
        raise UsageError(f"--boundary '{args.boundary}': {exc}") from None


@contextlib.contextmanager
def _stdout_errors():
    """Name stdout in the error when writing the report fails (full device, closed pipe)."""
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the report to stdout: {exc.strerror}") from None


def _report(result, args, elapsed, k):
    """The one-line summary and the per-cluster table, on stdout."""
    model = result._fitted  # with --by: the groups' fits combined
    n_points = int(result.centroids.n_points.sum())
    k_text, asked, per = f"k={model.n_clusters_}", k, ""
    if result.models is not None:
        asked, per = k * len(result.models), " per group"
        k_text += f" in {len(result.models):,} groups by {_printable(result.by)}"
    if model.n_clusters_ != asked:
        k_text += f" (from -k {k}{per}, split to a {args.max_radius_m:g} m radius)"
    dropped = f", {model.n_dropped_:,} rows skipped" if model.n_dropped_ else ""
    print(f"{n_points:,} points{dropped}, {k_text}, CRS {model.crs_}, inertia "
          f"{model.inertia_:.6g} m², {model.n_iter_} iterations, {elapsed:.2f} s")
    print(_cluster_table(result.centroids, by=result.by))


def run_choose_k(args, progress):
    from .selection import check_k_range, choose_k

    _check_outputs([("--plot", args.plot, (".png",))], args.input)
    ks = check_k_range(args.k_range)  # lazy: A..B is a range, checked against n later
    progress.stage(f"reading {args.input}")
    choice = choose_k(args.input, ks, weight=args.weight, lat=args.lat, lon=args.lon,
                      crs=args.crs, init=args.init, random_state=args.seed,
                      silhouette_sample=args.silhouette_sample, dropna=args.dropna,
                      progress=progress.enabled)
    progress.clear()
    summary = (f"recommended k = {choice.recommended_k} (rule: {choice.rule}; silhouette on "
               f"{choice.silhouette_sample:,} points; CRS {choice.crs})")
    with _stdout_errors():  # the report first: if stdout fails, no plot file is left
        if args.format == "csv":
            sys.stdout.write(choice.table.to_csv(index=False))
            print(summary, file=sys.stderr)
        else:
            table = choice.table.copy()
            print(table.to_string(index=False, formatters={
                "inertia_m2": "{:.6g}".format, "silhouette": "{:.4f}".format,
                "calinski_harabasz": "{:.1f}".format}))
            print(summary)
        sys.stdout.flush()
    if args.plot:
        progress.stage(f"writing {args.plot}")
        choice.plot(args.plot)
        progress.clear()
    return 0


class _Lines(logging.Handler):
    """--verbose: the library's log lines on stderr, above any bar."""

    def __init__(self, progress):
        super().__init__(logging.INFO)
        self.progress = progress
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        self.progress.write(self.format(record))


def _configure_logging(args, progress):
    """--verbose: iteration lines on stderr."""
    if not args.verbose:
        return []
    logger = logging.getLogger("geokmeans")
    handler = _Lines(progress)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return [handler]


def main(argv=None):
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:  # one line, no usage text
        print(f"geokmeans: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version (0)
        return exc.code
    progress = Progress(enabled=sys.stderr.isatty() and not args.quiet)
    handlers = _configure_logging(args, progress)
    try:
        with _signals_as_exceptions(), warnings.catch_warnings():
            warnings.showwarning = _warning_printer(progress)  # restored on leaving
            return _run(args, progress)
    except (KeyboardInterrupt, Terminated) as exc:  # after the run, while leaving
        return _interrupted(exc, progress)
    finally:
        for handler in handlers:
            logging.getLogger("geokmeans").removeHandler(handler)
        _discard_unwritable_stdout()


def _discard_unwritable_stdout():
    """After stdout failed (full device, closed pipe), send what is left to os.devnull so
    that the interpreter's final flush does not fail again and change the exit code."""
    try:
        sys.stdout.flush()
    except OSError:
        import os

        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


#: The library's parameter names, as the command line spells them (messages from the
#: library name parameters; a user of the command line knows the options).
_CLI_WORDS = [
    (r"\bn_samples=(\d+) should be >= n_clusters=(\d+)", r"-k \2 but the data hold \1 points"),
    (r" or an array of one limit per cluster", " or a column of the --centres-file"),
    (r"should be None, ", "should be "),
    (r"\bsize_by='(count|weight)'", r"--size-by \1"),
    (r"\bdropna=True\b", "--dropna"),
    (r"\bby=", "--by "),
    (r"compute\(\) it first, or cluster each group's partitions separately",
     "give one file (not a directory or glob, nor --dask)"),
    (r"Give such groups a smaller k \(n_clusters=\{group: k, \.\.\.\}\) or leave them out",
     "Leave them out of the input, or use a smaller -k"),
    (r"\bbbox=\(([^)]*)\)", lambda m: "--bbox " + m.group(1).replace(",", "")),
    (r"\binit='(bbox|random|k-means\+\+)'", r"--init \1"),
    (r"\(init=array\)", "(--centres-file)"),
    (r"\binit=array\b", "--centres-file"),
    (r"\bsample_weight\b", "--weight"),
    (r"\brelabel_like\b", "--relabel-like"),
    (r"\bfixed_centers\b", "--fixed-column"),
    (r"\brandom_state\b", "--seed"),
    (r"\bn_clusters\b=?", "-k "),
    (r"\b(size_min|size_max|max_radius_m|n_init|max_iter|local_search)\b(=?)",
     lambda m: "--" + m.group(1).replace("_", "-") + (" " if m.group(2) else "")),
]


def _cli_words(text):
    """``text`` with the library's parameter names replaced by the command's options."""
    for pattern, replacement in _CLI_WORDS:
        text = re.sub(pattern, replacement, text)
    return text


def _one_line(exc):
    return " ".join(str(exc).split())


def _warning_printer(progress):
    """A ``warnings.showwarning`` printing ``geokmeans: warning: MESSAGE``, one line."""

    def show(message, category, filename, lineno, file=None, line=None):
        progress.write(f"geokmeans: warning: {_cli_words(_one_line(message))}")

    return show


def _run(args, progress):
    from .errors import GeoKMeansError

    try:
        _preflight(args)
        return args.func(args, progress)
    except (GeoKMeansError, UsageError, OSError) as exc:
        progress.clear()
        text = _one_line(exc)
        print(f"geokmeans: error: {text if isinstance(exc, UsageError) else _cli_words(text)}",
              file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        return _interrupted(exc, progress)
    except Exception as exc:  # an internal error: say so, with the traceback when verbose
        interruption = _interruption_behind(exc)
        if interruption is not None:
            return _interrupted(interruption, progress)
        progress.clear()
        if args.verbose:
            traceback.print_exc()
        print(f"geokmeans: internal error: {type(exc).__name__}: {_one_line(exc)} (run with "
              "--verbose for the traceback)", file=sys.stderr)
        return 1


def _interruption_behind(exc):
    """The Ctrl-C or signal that caused ``exc``, if any. A signal that arrives while a
    compiled kernel is being called surfaces as a ``SystemError`` ("returned a result
    with an exception set") whose cause is the ``Terminated`` or ``KeyboardInterrupt``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (KeyboardInterrupt, Terminated)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _interrupted(exc, progress):
    """Report Ctrl-C (exit 130) or a signal (128 + its number) in one line."""
    progress.clear()
    if isinstance(exc, KeyboardInterrupt):
        print("geokmeans: interrupted", file=sys.stderr)
        return 130
    print(f"geokmeans: terminated by {signal.Signals(exc.signum).name}", file=sys.stderr)
    return 128 + exc.signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
