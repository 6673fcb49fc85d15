"""A ``cluster()`` call checked before any data are read: its weights, options and model,
the names of the columns it adds, the input's files and the ``relabel_like`` reference."""

import os
from pathlib import Path

from . import io, sources
from ._validation import check_param, check_params
from .errors import DataTypeError, InputError
from .model import GeoKMeans
from .stable_ids import centroids_of

__all__ = ["check_names", "checked_model", "input_source", "one_weight", "reference_centroids"]


def one_weight(sample_weight, weight):
    """The weights of a call that may name them under either of two names, never both."""
    if sample_weight is not None and weight is not None:
        raise InputError("give the weights once: sample_weight or weight, not both.")
    return sample_weight if sample_weight is not None else weight


def checked_model(n_clusters, lat, lon, options, weights, names, output_options):
    """The ``GeoKMeans`` of a ``cluster`` call and its checked parameters: every option
    checked (an unknown one is a ``DataTypeError``) before any data are read."""
    unknown = sorted(set(options) - set(GeoKMeans._get_param_names()))
    if unknown:
        raise DataTypeError(
            f"cluster() got an unknown option {unknown[0]!r}; options are "
            f"{', '.join(sorted(set(GeoKMeans._get_param_names()) - {'n_clusters'}))}."
        )
    check_params({**names, **output_options})
    check_names((), names["label_column"], names["distance_column"])
    model = GeoKMeans(n_clusters, lat=lat, lon=lon, **options)
    params = model._validated()
    check_param("weight", weights)
    return model, params


def input_source(data, lazy):
    """The input's files, protected from the outputs: a path (absolute, so it stays
    protected if the working directory changes), the files a dask graph reads
    (``dask.dataframe.read_csv``, ``read_parquet`` ...), or None."""
    if lazy:
        return tuple(Path(os.path.abspath(p)) for p in sources.input_files(data)) or None
    return Path(os.path.abspath(data)) if isinstance(data, (str, os.PathLike)) else None


def check_names(columns, label_column, distance_column, *, geometry_name=None,
                csv_coordinates=False, coordinate_columns=None):
    """Refuse added columns whose names the input already uses, before any work.

    ``columns`` are the input's column and index names. ``csv_coordinates``: the points
    will be written to CSV (whose coordinate columns must not clash either).
    """
    if label_column == distance_column:
        raise InputError(f"label_column and distance_column are both {label_column!r}; give "
                         "them different names.")
    names = {str(c) for c in columns if c is not None}
    if geometry_name is not None:
        names.add(str(geometry_name))
    added = (("label_column", "--label-column", "cluster labels", label_column),
             ("distance_column", "--distance-column", "distances", distance_column))
    for option, flag, what, name in added:
        if name is not None and name in names:
            free = next(f"{name}_{i}" for i in range(1, len(names) + 2)
                        if f"{name}_{i}" not in names)
            raise InputError(f"the input already has a column {name!r}; the {what} need a "
                             f"column of their own: pass {option}='{free}' (or another new "
                             f"name; {flag} on the command line).")
    if csv_coordinates:
        io.check_csv_columns([*names, label_column, distance_column or label_column],
                             coordinate_columns)


def reference_centroids(relabel_like, plan, by=None):
    """The ``relabel_like`` centroids, read and checked (a file is never an output; a run
    grouped ``by`` a column needs that column in them)."""
    if isinstance(relabel_like, (str, os.PathLike)):
        for kind, path, _ in plan:
            if io.same_file(path, relabel_like):
                raise InputError(f"the {kind} output '{path}' is the relabel_like file; "
                                 "choose another path.")
    reference = centroids_of(relabel_like)
    if by is not None:  # its groups, before any work
        reference.group_values(by, f"relabel_like of a run grouped by {by!r} matches "
                                   "clusters within each group: the reference needs that "
                                   "column (the centroids of a grouped run have it)")
    return reference
