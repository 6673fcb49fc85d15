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

This module runs the commands; their argument parser is ``_cli_parser``, the checks of their
options ``_cli_checks``, the other files they read ``_cli_inputs`` and what they print on
stdout ``_cli_report``.
"""

import atexit
import contextlib
import gc
import logging
import os
import re
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

from ._cli_checks import (
    INSTALL,
    check_added_columns,
    check_by,
    check_outputs,
    dask_input,
    is_dask_run,
    preflight,
)
from ._cli_inputs import constraint_options, read_boundary, read_reference

# the parser's public names, importable from here as before ("as": re-exported)
from ._cli_parser import EPILOG_CHOOSE as EPILOG_CHOOSE
from ._cli_parser import EPILOG_CLUSTER as EPILOG_CLUSTER
from ._cli_parser import UsageError as UsageError
from ._cli_parser import build_parser as _build_parser
from ._cli_report import printable, report, stdout_errors

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


#: Seconds to wait for a Dask scheduler before giving up (exit 2).
CONNECT_TIMEOUT_S = 10


def _connect(address):
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(f"--dask needs distributed: {INSTALL['dask']}") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot reach the dask scheduler at {address}: {exc}") from None


def run_cluster(args, progress):
    from .result import cluster

    # the points of a dask run: also a new partitioned GeoParquet directory (no extension)
    points_suffixes = (*OUTPUT_SUFFIXES, "") if is_dask_run(args) else OUTPUT_SUFFIXES
    check_outputs([("-o", args.output, points_suffixes),
                    ("--centroids", args.centroids, OUTPUT_SUFFIXES),
                    ("--hulls", args.hulls, OUTPUT_SUFFIXES),
                    ("--territories", args.territories, OUTPUT_SUFFIXES),
                    ("--map", args.map, MAP_SUFFIXES)], args.input, args.boundary)
    if args.bbox is not None and args.init != "bbox":
        raise UsageError("--bbox is only used with --init bbox.")
    check_added_columns(args)
    check_by(args)
    k, constraints = constraint_options(args)
    boundary = read_boundary(args)
    reference = read_reference(args)
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
    data = dask_input(args)
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
        with stdout_errors():
            report(result, args, elapsed, k)
            sys.stdout.flush()
    return 0


def run_assign(args, progress):
    """``geokmeans assign``: label points with saved centroids, write them, report."""
    import numpy as np

    from . import io
    from ._version import __version__
    from .errors import GeoKMeansError
    from .stable_ids import assign_points, read_centroids, write_points

    check_outputs([("-o", args.output, OUTPUT_SUFFIXES)], args.input)
    check_added_columns(args)
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
        with stdout_errors():
            print(f"{n_points:,} points assigned to {len(np.unique(labels[labels >= 0])):,} of "
                  f"the {saved.ids.size:,} clusters of '{args.centroids}' (CRS "
                  f"{crs_used}" + (f", within groups by {printable(saved.by)}" if saved.by
                                   is not None else "") + ")"
                  + (f", {skipped:,} rows skipped" if skipped else ""))
            sys.stdout.flush()
    return 0


def run_choose_k(args, progress):
    from .selection import check_k_range, choose_k

    check_outputs([("--plot", args.plot, (".png",))], args.input)
    ks = check_k_range(args.k_range)  # lazy: A..B is a range, checked against n later
    progress.stage(f"reading {args.input}")
    choice = choose_k(args.input, ks, weight=args.weight, lat=args.lat, lon=args.lon,
                      crs=args.crs, init=args.init, random_state=args.seed,
                      silhouette_sample=args.silhouette_sample, dropna=args.dropna,
                      progress=progress.enabled)
    progress.clear()
    summary = (f"recommended k = {choice.recommended_k} (rule: {choice.rule}; silhouette on "
               f"{choice.silhouette_sample:,} points; CRS {choice.crs})")
    with stdout_errors():  # the report first: if stdout fails, no plot file is left
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
    if sys.stdout is None:  # started with it closed: nothing to flush
        return
    try:
        sys.stdout.flush()
    except OSError:
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
        preflight(args)
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


#: Garbage collection in the command's process: the youngest generation collected after
#: 10,000 net allocations (CPython's default is 700). The imports of a run (pandas,
#: numba's type registries, folium) create hundreds of thousands of long-lived objects
#: that every collection of the older generations walks again: about 0.2 s of
#: collections in a 1M-point run at the defaults (0.09 s at these). The library never
#: changes these settings; only the command, whose process it owns, does.
GC_THRESHOLDS = (10_000, 10, 10)


def run():
    """The ``geokmeans`` command (the console script and ``python -m geokmeans.cli``):
    ``main``, then the process ends without the interpreter's teardown.

    Once numba's kernels are loaded, Python's finalisation spends 0.2-0.5 s freeing
    numba's registries object by object. By the time ``main`` returns every output is
    written and renamed into place (or removed) and every file is closed; ``run`` waits
    for other threads, flushes stdout and stderr, runs the ``atexit`` handlers (a Dask
    cluster's shutdown, for one) and leaves with ``os._exit``. An exception escaping
    ``main`` (none should) takes the ordinary way out, with its traceback.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    code = main()
    if not isinstance(code, int):  # pragma: no cover - argparse exits with ints
        sys.exit(code)
    _leave(code)


def _leave(code):
    """What the interpreter does before its teardown, in its order: wait for the threads
    that are not daemons (and stop idle thread pools), flush the standard streams, run the
    ``atexit`` handlers; then end the process."""
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    flushed = _flush_standard_streams()
    atexit._run_exitfuncs()
    flushed = _flush_standard_streams() and flushed  # what the handlers printed
    # a stream that cannot be flushed (--help into a full device) fails the exit, with
    # Python's own status for it
    os._exit(code if code or flushed else 120)


def _flush_standard_streams():
    """Flush stdout and stderr; False when either cannot be written."""
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (``>&-``)
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            flushed = False
    return flushed


if __name__ == "__main__":  # pragma: no cover
    run()
