"""Writing result tables: in this process (``io``), or partition by partition when a table
is lazy (``_dask_writers``). The one place that chooses between them, above both."""

from . import io
from ._writers import gpkg_crs, is_lazy
from .errors import InputError

__all__ = ["write_csv", "write_geojson", "write_gpkg", "write_parquet"]


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
