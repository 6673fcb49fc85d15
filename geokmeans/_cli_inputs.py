"""The cluster command's other input files, read and checked before any work: the
``--centres-file`` (centres, size limits, fixed centres), ``--boundary`` and
``--relabel-like``."""

from ._cli_parser import UsageError

__all__ = ["constraint_options", "read_boundary", "read_reference"]


def _number(text):
    """``text`` as a float, or None when it is not a number (then a column name)."""
    try:
        return float(text)
    except ValueError:
        return None


def constraint_options(args):
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


def read_boundary(args):
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


def read_reference(args):
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
