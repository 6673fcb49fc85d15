"""Inputs in pieces: directories and globs of Parquet or CSV files, read with Dask.

Which files a partitioned path means, reading them as one dask frame, and which files
a dask collection's graph reads (so that outputs never overwrite them).
"""

import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import GeoKMeansError, InputError, OptionalDependencyError, first_line

__all__ = [
    "input_paths",
    "is_dask_collection",
    "is_partitioned_path",
    "read_partitioned",
    "source_paths",
]


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise OptionalDependencyError(
            'clustering dask collections needs dask: pip install "geokmeans[dask]"'
        ) from None


def is_dask_collection(data):
    """True for dask arrays, dask DataFrames and dask_geopandas GeoDataFrames (checked
    by module name: dask need not be installed)."""
    module = type(data).__module__ or ""
    return module.split(".")[0] in ("dask", "dask_geopandas", "dask_expr")


def _is_glob(path):
    """True for a path that does not exist and has glob characters (``*``, ``?``, ``[``):
    an existing file or directory is itself, whatever its characters."""
    text = str(path)
    return any(ch in text for ch in "*?[") and not os.path.lexists(text)


def is_partitioned_path(path):
    """True for a directory, or a glob (``*``, ``?``, ``[``) that is not an existing file:
    input read with dask."""
    return _is_glob(path) or Path(str(path)).is_dir()


_PARQUET = (".parquet", ".geoparquet", ".pq")
_CSV = (".csv", ".txt")


def _partition_files(path):
    """The files of a glob or a directory (hidden and ``_``-prefixed files, such as
    ``_SUCCESS`` or ``_metadata``, skipped), and whether they are Parquet (else CSV).

    An existing path is taken as it is, whatever its characters. Raises ``InputError``
    naming the first file that is neither, or that differs in kind from the first: a
    mix of Parquet and CSV is refused rather than read in part.
    """
    text = str(path)
    if _is_glob(text):
        matches = sorted(glob.glob(text))
        if not matches:
            raise InputError(f"no input files match '{path}'.")
        files = [m for m in matches if not Path(m).is_dir()]
        dirs = [m for m in matches if Path(m).is_dir()]
        if dirs and not files and len(dirs) == 1:
            return _partition_files(dirs[0])
    elif not Path(text).is_dir():
        files = [text]
    else:
        folder = Path(text)
        files = sorted(str(f) for f in folder.rglob("*") if f.is_file()
                       and not any(part.startswith((".", "_"))
                                   for part in f.relative_to(folder).parts))
        if not files:
            raise InputError(f"input directory '{path}' holds no data files.")
    kinds = []
    for name in files:
        suffix = Path(name).suffix.lower()
        if suffix not in _PARQUET + _CSV:
            raise InputError(f"partitioned input '{path}' holds '{name}', which is neither "
                             "Parquet nor CSV; partitioned inputs are CSV or Parquet files.")
        kinds.append(suffix in _PARQUET)
        if kinds[-1] != kinds[0]:
            raise InputError(f"partitioned input '{path}' mixes Parquet and CSV files "
                             f"('{files[0]}' and '{name}'); use files of one kind.")
    return files, kinds[0]


def input_paths(path):
    """What a (partitioned) input at ``path`` reads, as protected entries for the writers
    (``io.OutputSet(protected=...)``): a directory (no output inside it), or for a glob
    every file and directory it matches and the pattern itself (no output it would
    match, which a later run would read as input); an existing file is itself.

    Examples
    --------
    >>> input_paths("data/dc_places.csv")
    ('data/dc_places.csv',)
    """
    from ._protected import InputGlob

    text = str(path)
    if not _is_glob(text):
        return (text,)
    return (*sorted(glob.glob(text)), InputGlob(text))


def _local_path(text):
    """``text`` as a local path, or None for another file system (``s3://``...)."""
    if not isinstance(text, str) or not text:
        return None
    if "://" in text:
        return text[len("file://"):] if text.startswith("file://") else None
    return text


def _paths_in(value, found, depth=0):
    """Add to ``found`` the local file paths held in ``value``, a piece of a dask graph:
    fsspec ``OpenFile`` objects (CSV blocks), ``{"piece": (path, ...)}`` parts
    (Parquet), recursing through tasks, lists, tuples and dicts."""
    if depth > 6 or isinstance(value, (str, bytes, pd.DataFrame, pd.Series, np.ndarray)):
        return
    fs = getattr(value, "fs", None)
    if fs is not None and isinstance(getattr(value, "path", None), str):
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        if {"file", "local"} & set(protocols):
            found.append(value.path)
        return
    if isinstance(value, dict):
        piece = value.get("piece")
        if isinstance(piece, tuple) and piece and _local_path(piece[0]):
            found.append(_local_path(piece[0]))
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [*getattr(value, "args", ()), *getattr(value, "kwargs", {}).values()] \
            if hasattr(value, "args") else ()
    for item in items:
        _paths_in(item, found, depth + 1)


def source_paths(data):
    """The local files and directories a dask collection reads, as far as its graph says
    (``read_partitioned``, ``dask.dataframe.read_csv``/``read_parquet``,
    ``dask_geopandas.read_parquet``), as protected entries for the writers; ``()`` for
    collections made in memory or read from other file systems.
    """
    expr = getattr(data, "expr", None)
    found = []
    try:
        nodes = list(expr.walk()) if expr is not None else []
        for node in nodes:
            for name in getattr(type(node), "_parameters", ()):
                value = node.operand(name)
                if name in ("path", "filename", "urlpath"):
                    texts = value if isinstance(value, (list, tuple)) else [value]
                    for text in filter(None, map(_local_path, texts)):
                        found.extend([text] if os.path.lexists(text) else glob.glob(text))
                elif name not in ("_meta", "user_meta", "meta"):
                    _paths_in(value, found)
    except Exception:  # noqa: BLE001 - dask's internals moved: protect what was found
        pass
    return tuple(dict.fromkeys(found))


def _check_csv_headers(path, files):
    """Refuse CSV files whose header differs from the first file's: dask reads every
    file with the first one's column names, so a file with columns in another order
    (``lon,lat`` after ``lat,lon``) would be read wrongly, without an error."""
    first = list(pd.read_csv(files[0], nrows=0).columns)
    for name in files[1:]:
        header = list(pd.read_csv(name, nrows=0).columns)
        if header != first:
            raise InputError(f"partitioned input '{path}': '{name}' has columns {header}, "
                             f"'{files[0]}' has {first}; every CSV file needs the same header.")


def read_partitioned(path):
    """A dask frame for a glob of CSV/Parquet files or a directory of them.

    Files are checked before reading (one kind, CSV or Parquet); a file that cannot be
    opened raises ``InputError`` naming the input. An existing path is read as itself,
    whatever its characters (``data[1].csv`` is that file, not a glob matching
    ``data1.csv``). The frame's files are protected from the writers of its results
    (``source_paths``).
    """
    _require_dask()
    import dask.dataframe as dd

    files, parquet = _partition_files(path)
    # dask globs every path it is given: escaped, a file named 'data[1].csv' is itself
    escaped = [glob.escape(f) for f in files]
    try:
        if parquet:
            # a directory is read as one dataset (keeping hive partition columns)
            source = glob.escape(str(path)) if Path(str(path)).is_dir() else escaped
            try:
                import dask_geopandas

                return dask_geopandas.read_parquet(source)
            except (ImportError, ValueError, TypeError):
                return dd.read_parquet(source)
        _check_csv_headers(path, files)
        return dd.read_csv(escaped, keep_default_na=False, na_values=[""])
    except GeoKMeansError:
        raise
    except Exception as exc:  # any reader failure is a bad input for the user
        message = first_line(exc)
        raise InputError(f"could not read partitioned input '{path}': {message}") from None
