"""Clusters with size limits and fixed centres: the limits checked against the data,
and the alternation of the size-limited assignment (``_balance``) with the M-step.

Private: ``resolve_limits`` is the edge check (it raises the public errors); the rest
assumes it passed.
"""

import warnings

import numpy as np

from .._formatting import format_limits, format_size
from .._validation import as_real_array, check_finite_rows
from ..errors import GeoKMeansWarning, InputError
from . import _chunks, _kernels
from ._balance import balanced_assign
from ._driver import lloyd, m_step

__all__ = [
    "Limits",
    "balanced_lloyd",
    "constrained_run",
    "constraints_for",
    "resolve_fixed",
    "resolve_limits",
    "unscaled_prices",
    "warn_outside_limits",
    "warn_outside_sizes",
]


class Limits:
    """Checked size limits: ``lower``/``upper`` (k,) floats (``upper`` at most the
    total), ``by_weight``, and ``given_upper`` (k,): the maxima as given (inf: none)."""

    __slots__ = ("lower", "upper", "by_weight", "given_upper")

    def __init__(self, lower, upper, by_weight, given_upper=None):
        self.lower, self.upper, self.by_weight = lower, upper, by_weight
        self.given_upper = upper if given_upper is None else given_upper

    def scaled(self, scale):
        """The limits for weights divided by ``scale``."""
        return Limits(self.lower / scale, self.upper / scale, self.by_weight,
                      self.given_upper / scale)

    def sizes(self, labels, weights):
        """Each cluster's size under these limits: its rows, or its summed weight."""
        k = len(self.lower)
        if self.by_weight:
            return np.bincount(labels, weights=weights, minlength=k)
        return np.bincount(labels, minlength=k).astype(np.float64)


def constraints_for(params, n_clusters, weights, weighted, init):
    """``(Limits or None, fixed mask or None)`` for checked ``params``; ``weights`` are
    the unscaled sample weights (None before the data are read: no feasibility check)
    and ``init`` the initial centres or a seeding's name."""
    explicit = not isinstance(init, str)
    if params.get("max_radius_m") is not None and (
            params["size_min"] is not None or params["size_max"] is not None):
        raise InputError("max_radius_m cannot be combined with size_min/size_max: splitting "
                         "wide clusters changes k, and the size limits are per cluster; use "
                         "one or the other.")
    if params.get("max_radius_m") is not None and params.get("fixed_centers") is not None:
        raise InputError("max_radius_m cannot be combined with fixed_centers: splitting a "
                         "wide cluster would move its centre; use one or the other.")
    limits = resolve_limits(params["size_min"], params["size_max"], params["size_by"],
                            n_clusters, weights, weighted, explicit)
    return limits, resolve_fixed(params["fixed_centers"], n_clusters, explicit)


def constrained_run(limits, fixed, max_iter, abs_tol, sphere_radius, algorithm):
    """The run function of ``_driver.best_of`` for size limits and/or fixed centres
    (None when there are neither: plain Lloyd)."""
    if limits is None and fixed is None:
        return None

    def run(source, seeds, callback):
        if limits is None:
            centres, n_iter = lloyd(source, seeds, max_iter, abs_tol,
                                    sphere_radius=sphere_radius, algorithm=algorithm,
                                    callback=callback, fixed=fixed)
            return centres, n_iter, None
        return balanced_lloyd(source, seeds, limits, max_iter, abs_tol,
                              sphere_radius=sphere_radius, fixed=fixed, callback=callback)

    return run


def unscaled_prices(prices, limits, weight_scale):
    """Prices for the caller's weights: by count a price is a row's cost (weight times
    squared distance), so it scales with the weights; by weight it is per unit of weight."""
    if limits is None or limits.by_weight:
        return prices
    return prices * weight_scale


def warn_outside_limits(labels, weights, limits):
    """Warn, naming them, about clusters whose size ended outside the limits (by weight
    rounding the split rows can overshoot by less than a row's weight)."""
    warn_outside_sizes(limits.sizes(labels, weights), limits)


def warn_outside_sizes(sizes, limits):
    """``warn_outside_limits`` for the clusters' sizes (k,)."""
    slack = 1e-9 * max(float(np.abs(sizes).max()), 1.0)
    outside = np.flatnonzero((sizes < limits.lower - slack) | (sizes > limits.upper + slack))
    if outside.size:
        listed = ", ".join(f"{j} ({format_size(sizes[j])} for "
                           f"{format_limits(limits.lower[j], limits.upper[j])})"
                           for j in outside[:10])
        more = f" and {outside.size - 10} more" if outside.size > 10 else ""
        warnings.warn(f"{outside.size} cluster(s) ended outside their size limits after "
                      f"rounding rows split by the weight limits: {listed}{more}.",
                      GeoKMeansWarning, stacklevel=4)


def _limit_array(value, name, n_clusters, explicit_centres, by_weight, default):
    if value is None:
        return np.full(n_clusters, default)
    if np.ndim(value) == 0:
        limits = np.full(n_clusters, float(as_real_array(value, name, "numbers")))
    else:
        if any(item is None for item in np.asarray(value, dtype=object).ravel()):
            raise InputError(f"{name} holds None; give a number for every cluster (0 for no "
                             "minimum, inf for no maximum).")
        if not explicit_centres:
            raise InputError(f"{name} as an array of {np.size(value)} limits needs explicit "
                             "initial centres (init=array) to match them to, in order; with "
                             "a random seeding give one number for every cluster.")
        limits = np.asarray(as_real_array(value, name, "numbers"), dtype=np.float64)
        if limits.shape != (n_clusters,):
            raise InputError(f"{name} has shape {limits.shape}; expected (n_clusters,) = "
                             f"({n_clusters},): one limit per initial centre.")
    if not np.isfinite(limits).all() and not (name == "size_max" and (limits > 0).all()):
        bad = limits[~np.isfinite(limits)][0]
        raise InputError(f"{name} holds {bad}; limits should be finite numbers >= 0.")
    if (limits < 0).any():
        raise InputError(f"{name} holds {limits[limits < 0][0]:g}; limits should be >= 0.")
    fractional = np.isfinite(limits) & (limits != np.round(limits))
    if not by_weight and fractional.any():
        bad = limits[fractional][0]
        raise InputError(f"{name} holds {bad:g}; limits by count should be whole numbers "
                         "(use size_by='weight' for limits on summed weights).")
    return limits


def resolve_limits(size_min, size_max, size_by, n_clusters, weights, weighted,
                   explicit_centres):
    """``Limits`` for the parameters (already checked against ``PARAMETERS``), or None
    when there are none; refuses limits that no assignment can meet, with the feasible
    range (that check only when ``weights`` (n,) are given: the data are read)."""
    if size_min is None and size_max is None:
        return None
    by_weight = size_by == "weight"
    if by_weight and not weighted:
        raise InputError("size_by='weight' needs sample weights (the limits are sums of "
                         "them); give sample_weight, or use size_by='count'.")
    lower = _limit_array(size_min, "size_min", n_clusters, explicit_centres, by_weight, 0.0)
    upper = _limit_array(size_max, "size_max", n_clusters, explicit_centres, by_weight, np.inf)
    if (lower > upper).any():
        j = int(np.flatnonzero(lower > upper)[0])
        raise InputError(f"size_min={lower[j]:g} > size_max={upper[j]:g} for cluster {j}.")
    if weights is None:
        return Limits(lower, upper, by_weight)
    total = float(weights.sum()) if by_weight else float(len(weights))
    unit = "total weight" if by_weight else "number of points"
    with np.errstate(over="ignore"):  # huge finite maxima: their sum is inf, as meant
        low, high = float(lower.sum()), float(upper.sum())
    if low > total * (1 + 1e-12) or high < total * (1 - 1e-12):
        most = f"{high:g} (sum of size_max)" if np.isfinite(high) else "any size (no size_max)"
        raise InputError(
            f"size limits cannot be met: the {unit} is {total:g}, and the clusters' limits "
            f"allow from {low:g} (sum of size_min) to {most}; with {n_clusters} equal "
            f"limits, size_min <= {total / n_clusters:g} <= size_max is needed.")
    return Limits(lower, np.minimum(upper, total), by_weight, upper)  # inf: no maximum


def resolve_fixed(fixed_centers, n_clusters, explicit_centres):
    """A boolean mask (k,) of the initial centres that never move, or None."""
    if fixed_centers is None:
        return None
    if not explicit_centres:
        raise InputError("fixed_centers needs explicit initial centres (init=array): it "
                         "says which of them stay where they are.")
    mask = np.asarray(fixed_centers)
    if mask.dtype != bool:
        raise InputError(f"fixed_centers should be booleans (a mask over the initial "
                         f"centres); got values of type {mask.dtype}.")
    if mask.shape != (n_clusters,):
        raise InputError(f"fixed_centers has shape {mask.shape}; expected (n_clusters,) = "
                         f"({n_clusters},).")
    return mask if mask.any() else None


def check_fixed_rows(centres, fixed):
    """Fixed centres must be finite rows (the others may be anything the seeding draws)."""
    if fixed is not None:
        check_finite_rows(centres[fixed], "init")


def _weighted_cost(X, weights, centres, labels, starts):
    return float(_kernels.weighted_inertia(X, weights, centres, labels, starts))


#: A fit on more rows than this first converges on every ``COARSE_STRIDE``-th row (in
#: the Z-order, so spread evenly over space), with the limits scaled to that sample;
#: the whole data then start from its centres and prices, near their own answer.
COARSE_ROWS = 200_000
COARSE_STRIDE = 8


def balanced_lloyd(source, centres, limits, max_iter, abs_tol, *, sphere_radius=None,
                   fixed=None, callback=None, state="run"):
    """Alternate the size-limited assignment and the M-step from ``centres`` (k, d);
    returns ``(centres, n_iter, prices)``; the labels are kept in the source's ``state``.

    Stops when no label changes, when the summed squared centre shift is ``<= abs_tol``
    or after ``max_iter`` iterations; the labels always belong to the returned centres.
    By count each assignment is optimal for its centres, so the inertia never rises; by
    weight the rounded assignment is kept only when it is no worse than the previous
    labels against the same centres. Fixed centres (``fixed`` mask) never move; empty
    clusters (possible with ``size_min`` 0) keep their centre. Above ``COARSE_ROWS``
    rows the alternation first runs on a sample (``_coarse_start``); ``n_iter`` counts
    the iterations on all rows.
    """
    X, weights = source.rows()
    # rows in a Z-order of space: the assignment reads each cluster's rows, the cells of
    # its grid and every 8th row as a sample; in this order they lie together in memory
    # (3.5x faster at 1M rows, k = 100) and the sample is spread evenly over space
    order = spatial_order(X)
    X = np.take(X, order, axis=0)
    weights = np.take(np.asarray(weights, dtype=np.float64), order)
    centres = np.array(centres, dtype=np.float64, order="C")
    warm = {}
    if X.shape[0] > COARSE_ROWS:
        centres, warm = _coarse_start(X, weights, centres, limits, max_iter, abs_tol,
                                      sphere_radius, fixed)
    centres, labels, outcome, iteration = _alternate(X, weights, centres, limits, max_iter,
                                                     abs_tol, sphere_radius, fixed, callback,
                                                     warm)
    in_order = np.empty_like(labels)
    in_order[order] = labels
    source.update(state, _labels_state(in_order))
    return centres, iteration, outcome.prices


def _coarse_start(X, weights, centres, limits, max_iter, abs_tol, sphere_radius, fixed):
    """Centres and a warm start (prices, list length) from the alternation run to its
    end on every ``COARSE_STRIDE``-th row, with the limits scaled to that sample
    (rounded outwards by count, so they stay feasible)."""
    sample = slice(None, None, COARSE_STRIDE)
    X_s, weights_s = np.ascontiguousarray(X[sample]), weights[sample]
    if limits.by_weight:
        share = weights_s.sum() / max(weights.sum(), np.finfo(float).tiny)
        lower, upper = limits.lower * share, limits.upper * share
    else:
        share = len(weights_s) / len(weights)
        lower, upper = np.floor(limits.lower * share), np.ceil(limits.upper * share)
    if not share > 0:
        return centres, {}
    centres, _, outcome, _ = _alternate(X_s, weights_s, centres,
                                        Limits(lower, upper, limits.by_weight), max_iter,
                                        abs_tol, sphere_radius, fixed, None, {})
    return centres, {"potentials": outcome.potentials, "list_length": outcome.list_length}


def _alternate(X, weights, centres, limits, max_iter, abs_tol, sphere_radius, fixed,
               callback, warm):
    """The alternation on rows ``X`` from ``centres`` and a ``warm`` start of
    ``balanced_assign``; returns ``(centres, labels, outcome, n_iter)``."""
    k = centres.shape[0]
    starts = _kernels.chunk_starts(X.shape[0])
    labels, outcome = None, None
    strict, iteration = False, 0
    for iteration in range(1, max_iter + 1):
        outcome = balanced_assign(X, weights, centres, limits.lower, limits.upper,
                                  by_weight=limits.by_weight, **warm)
        new_labels = _keep_better(X, weights, centres, labels, outcome.labels, limits, starts)
        warm = {"potentials": outcome.potentials, "list_length": outcome.list_length}
        changed = labels is None or bool((new_labels != labels).any())
        labels = new_labels
        sums, totals = _chunks.cluster_sums(X, weights, labels, k, starts)
        if callback is not None:
            callback(iteration, _weighted_cost(X, weights, centres, labels, starts))
        new = m_step(centres, sums, totals, sphere_radius)
        if fixed is not None:
            new[fixed] = centres[fixed]
        moves = float(((new - centres) ** 2).sum())
        centres = new
        if not changed:
            strict = True
            break
        if moves <= abs_tol:
            break
    if not strict:
        outcome = balanced_assign(X, weights, centres, limits.lower, limits.upper,
                                  by_weight=limits.by_weight, **warm)
        labels = _keep_better(X, weights, centres, labels, outcome.labels, limits, starts)
    return centres, labels, outcome, iteration


# bit-interleaving steps (shift, mask) spreading 32 bits two apart, or 21 bits three apart
_SPREAD = {
    1: (),
    2: ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333), (1, 0x5555555555555555)),
    3: ((32, 0x001F00000000FFFF), (16, 0x001F0000FF0000FF), (8, 0x100F00F00F00F00F),
        (4, 0x10C30C30C30C30C3), (2, 0x1249249249249249)),
}


def _spread_bits(v, dims):
    """The bits of ``v`` (uint64, at most 64 // dims bits) spaced ``dims`` apart."""
    for shift, mask in _SPREAD[dims]:
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def spatial_order(X):
    """The rows of ``X`` (n, d) in Z-order (Morton order) of their first (up to) three
    coordinates: the order of the interleaved bits of the coordinates scaled to integers
    (64 // dims bits each); ties keep the rows' order."""
    dims = min(X.shape[1], 3)
    if X.shape[0] < 2 or dims == 0:
        return np.arange(X.shape[0])
    bits = 64 // dims
    low, high = X[:, :dims].min(axis=0), X[:, :dims].max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    top = float(2 ** bits - 1)
    key = np.zeros(X.shape[0], dtype=np.uint64)
    for f in range(dims):
        scaled = np.clip((X[:, f] - low[f]) / span[f] * top, 0.0, top).astype(np.uint64)
        key |= _spread_bits(scaled, dims) << np.uint64(f)
    return np.argsort(key, kind="stable")


def _keep_better(X, weights, centres, previous, labels, limits, starts):
    """By weight, the previous labels when the rounded new ones cost more (both within
    the rounding bound); by count the new labels, optimal for ``centres``."""
    if previous is None or not limits.by_weight:
        return labels
    if _weighted_cost(X, weights, centres, previous, starts) < _weighted_cost(
            X, weights, centres, labels, starts):
        return previous
    return labels


def _labels_state(labels):
    def keep(chunk, state):
        return (labels,), None

    return keep
