"""Writing result tables: in this process (``io``), or partition by partition when a table
is lazy (``_dask_writers``). The one place that chooses between them, above both; and the
plan of a set of outputs, every path checked before any work."""

import os
from pathlib import Path

from . import io
from ._protected import source_entries
from ._writers import gpkg_crs, is_lazy
from .errors import DataTypeError, InputError

__all__ = ["MAP_SUFFIXES", "OUTPUT_KINDS", "plan_outputs", "write_csv", "write_geojson",
           "write_gpkg", "write_parquet"]

OUTPUT_KINDS = ("points", "centroids", "hulls", "territories", "map")
MAP_SUFFIXES = (".html", ".htm")


def _dask():
    from . import _dask_writers

    return _dask_writers


def write_geojson(path, layers, metadata=None, protected=(), **options):
    """``io.write_geojson``; a lazy table is streamed into the one file."""
    if any(is_lazy(frame) for frame in layers.values()):
        return _dask().write_geojson(path, layers, metadata, protected, **options)
    return io.write_geojson(path, layers, metadata, protected, **options)


def write_gpkg(path, layers, metadata=None, protected=(), *, crs=None, **options):
    """``io.write_gpkg``; a lazy table is appended partition by partition."""
    layers = dict(layers)
    if any(is_lazy(frame) for frame in layers.values()):
        return _dask().write_gpkg(path, layers, metadata, protected,
                                  crs=gpkg_crs(layers, crs), **options)
    return io.write_gpkg(path, layers, metadata, protected, crs=crs, **options)


def write_parquet(path, frame, metadata=None, protected=(), *, partitioned=False, **options):
    """``io.write_parquet``; a lazy table is written to one file, or with ``partitioned``
    to a new directory holding a file per partition."""
    table = next(iter(frame.values())) if isinstance(frame, dict) and len(frame) == 1 else frame
    if partitioned or is_lazy(table):
        if not is_lazy(table):
            raise InputError(f"'{path}': a partitioned Parquet dataset is written from a dask "
                             "table, one file per partition; write this table as one file "
                             "(a path ending in .parquet).")
        write = _dask().write_partitioned if partitioned else _dask().write_parquet
        return write(table, path, metadata, protected, **options)
    return io.write_parquet(path, frame, metadata, protected, **options)


def write_csv(path, frame, protected=(), **options):
    """``io.write_csv``; a lazy table is streamed into the one file."""
    if is_lazy(frame):
        return _dask().write_csv(path, frame, protected, **options)
    return io.write_csv(path, frame, protected, **options)


def plan_outputs(targets, *, source=None, dask=False, boundary=None):
    """Check a set of outputs before any work: ``[(kind, path, format), ...]``.

    ``targets`` maps ``"points"``, ``"centroids"``, ``"hulls"``, ``"territories"`` or
    ``"map"`` to a path (or None); a ``boundary`` needs territories. Refused with an
    ``InputError`` naming the output: an unknown kind or
    extension, a file that cannot be written (see ``OutputSet.check``), the input
    file, two outputs that are the same file (any spelling, links included). For dask
    results a points path without extension is a partitioned GeoParquet dataset
    (``io.PARQUET_DATASET``), a directory that must not exist yet.
    """
    if boundary is not None and targets.get("territories") is None:
        raise InputError("a boundary clips the territories: give a territories output too "
                         "(--territories on the command line).")
    plan = []
    for kind, path in targets.items():
        if kind not in OUTPUT_KINDS:
            raise InputError(f"unknown output {kind!r}; choose among "
                             f"{', '.join(map(repr, OUTPUT_KINDS))}.")
        if path is None:
            continue
        if not isinstance(path, (str, os.PathLike)):
            raise DataTypeError(f"the {kind} output path must be a str or os.PathLike; got "
                                f"{type(path).__name__}.")
        if kind == "map":
            if Path(path).suffix.lower() not in MAP_SUFFIXES:
                raise InputError(f"map output '{path}' must end in .html or .htm.")
            fmt = "HTML"
        elif dask and kind == "points" and Path(path).suffix == "":
            fmt = io.PARQUET_DATASET  # a new directory, a file per partition
        else:
            fmt = io.output_format(path)
        plan.append((kind, path, fmt))
    checker = io.OutputSet(protected=source_entries(source))
    for i, (kind, path, fmt) in enumerate(plan):
        checker.check(path, label=kind, directory=fmt == io.PARQUET_DATASET)
        for other_kind, other, _ in plan[:i]:
            if io.same_file(path, other):
                raise InputError(f"the {other_kind} output '{other}' and the {kind} output "
                                 f"'{path}' are the same file; give each its own path.")
    return plan
