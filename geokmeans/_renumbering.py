"""A result's clusters renumbered: its labels (arrays, Series, -1 kept), points, centroids,
hulls, and a fitted model whose every per-cluster array follows the new order."""

import copy
import dataclasses

import numpy as np

from . import io

__all__ = ["id_positions", "permuted_model", "positional", "renumbered", "with_ids"]


def renumbered(labels, new):
    """``labels`` (array or Series; -1 kept) with cluster ``j`` numbered ``new[j]``."""
    values = np.asarray(labels)
    out = np.where(values >= 0, np.asarray(new)[np.maximum(values, 0)], -1).astype(values.dtype)
    if hasattr(labels, "index"):
        return labels.__class__(out, index=labels.index, name=labels.name)
    return out


def id_positions(labels, ids):
    """A Series of cluster ids (-1 kept) as positions in the ascending ``ids``."""
    values = labels.to_numpy()
    out = np.where(values >= 0, np.searchsorted(ids, np.maximum(values, 0)), -1)
    return labels.__class__(out.astype(values.dtype), index=labels.index, name=labels.name)


def permuted_model(model, order, position):
    """A shallow copy of a fitted ``GeoKMeans`` whose cluster ``j`` is ``model``'s
    cluster ``order[j]`` (``position`` = the inverse permutation): every array indexed
    by cluster, and the labels, follow."""
    new = copy.copy(model)
    new.cluster_centers_ = model.cluster_centers_[order]
    new.cluster_centers_m_ = model.cluster_centers_m_[order]
    centroids = model.centroids_.iloc[order].reset_index(drop=True)
    centroids["cluster"] = np.arange(len(order))
    new.centroids_ = centroids
    if getattr(model, "size_prices_", None) is not None:
        new.size_prices_ = np.asarray(model.size_prices_)[order]
    labels = model.labels_
    if hasattr(labels, "map_partitions"):
        new.labels_ = labels.map_partitions(renumbered, position, meta=labels._meta)
    else:
        new.labels_ = renumbered(labels, position)
    return new


def with_ids(result, ids):
    """A copy of ``result`` numbering its cluster ``j`` (model order) ``ids[j]``."""
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")  # the model's new cluster j is the old order[j]
    new_ids = ids[order]
    position = np.argsort(order).astype(np.int32)  # new position of each old cluster
    dense = bool(np.array_equal(new_ids, np.arange(len(ids))))
    model = (permuted_model(result.model, order, position) if result.models is None
             else result._fitted.permuted(order, position))
    centroids = result.centroids.iloc[order].reset_index(drop=True)
    centroids["cluster"] = new_ids
    label = result.label_column
    labels = model.labels_  # the model's positions: the ids when dense
    if not dense:
        as_ids = new_ids.astype(np.int32)
        labels = (labels.map_partitions(renumbered, as_ids, meta=labels._meta)
                  if result.is_dask else renumbered(labels, as_ids))
    if result.is_dask:
        points = result.points.assign(**{label: labels})
    elif isinstance(result._rows, io.PointTable):  # its geometry still unbuilt
        points = copy.copy(result._rows)
        points.table, points._frame = result._rows.table.copy(), None
        points[label] = labels
    else:
        points = result.points.copy()
        points[label] = labels
    new = dataclasses.replace(result, points=points, centroids=centroids, model=model,
                              cluster_ids=None if dense else new_ids)
    if "hulls" in result.__dict__:  # computed already: the same polygons, renumbered
        hulls = result.__dict__["hulls"].iloc[order].reset_index(drop=True)
        hulls["cluster"] = new_ids
        new.__dict__["hulls"] = hulls
    return new


def positional(result):
    """``result`` with ids ``0 .. k - 1`` in its points (the model's positions) when
    ``cluster_ids`` are not those (the centroid table keeps the ids); for the
    computations that index clusters by their labels (dask hulls, map samples)."""
    if result.cluster_ids is None or not result.is_dask:
        return result
    label = result.label_column
    ids = result.cluster_ids
    points = result.points.assign(**{label: result.points[label].map_partitions(
        id_positions, ids, meta=result.points[label]._meta)})
    return dataclasses.replace(result, points=points, cluster_ids=None)
