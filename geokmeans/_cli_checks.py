"""The command line's options checked before any work: the output paths, the optional
packages the options need, whether the input is read with dask and the scheduler's address,
``--by`` and the names of the added columns."""

from pathlib import Path

from ._cli_parser import UsageError

__all__ = ["INSTALL", "check_added_columns", "check_by", "check_outputs", "dask_input",
           "is_dask_run", "missing", "preflight"]


def check_outputs(named, input_path, boundary=None):
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


def dask_input(args):
    """The input as a dask frame when it is partitioned or --dask is given, else None."""
    from ._partitioned import read_partitioned

    if not is_dask_run(args):
        return None
    return read_partitioned(args.input)


def is_dask_run(args):
    """True when the input is read with dask (a directory, a glob, or --dask given)."""
    from ._partitioned import is_partitioned_path

    return args.dask is not None or is_partitioned_path(args.input)


INSTALL = {"plot": 'pip install "geokmeans[plot]"', "dask": 'pip install "geokmeans[dask]"'}


def missing(module):
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
        scheme, location = parse_address(address)
        get_backend(scheme)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--dask {address!r} is not a scheduler address ({exc}); use e.g. "
                         "tcp://host:8786") from None
    port = location.rpartition(":")[2] if scheme in ("tcp", "tls") else ""
    if port.isdigit() and not 0 < int(port) < 65536:  # else a 10 s wait to connect
        raise UsageError(f"--dask {address!r}: port {port} is not a TCP port (1 to 65535).")


def preflight(args):
    """Before any work: the optional packages the options need are installed (exit 2
    with the pip command otherwise) and a --dask address is well formed."""
    if getattr(args, "plot", None) and missing("matplotlib"):
        raise UsageError(f"--plot needs matplotlib, which is not installed: {INSTALL['plot']}")
    if args.command != "cluster":
        return
    from ._partitioned import is_partitioned_path

    if args.dask is not None:
        if not args.dask.strip():  # would silently run on the local scheduler
            raise UsageError("--dask needs a scheduler address, e.g. tcp://host:8786; got an "
                             "empty one (leave --dask out to run locally).")
        for module in ("dask.dataframe", "distributed"):
            if missing(module):
                raise UsageError(f"--dask needs {module.split('.')[0]}, which is not installed: "
                                 f"{INSTALL['dask']}")
        _check_dask_address(args.dask)
    elif is_partitioned_path(args.input) and missing("dask.dataframe"):
        raise UsageError(f"input '{args.input}' is a directory or glob, read with dask, which is "
                         f"not installed: {INSTALL['dask']}")


def check_added_columns(args):
    """--label-column and --distance-column name two different columns."""
    if args.label_column == args.distance_column:
        raise UsageError(f"--label-column and --distance-column are both "
                         f"{args.label_column!r}; give them different names.")


def check_by(args):
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
