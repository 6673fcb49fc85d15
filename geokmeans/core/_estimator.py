"""``KMeans``: Euclidean k-means on (n, d) arrays, a scikit-learn compatible estimator."""

import logging
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import (
    check_choice,
    check_finite_rows,
    check_int,
    check_positive_float,
    check_sample_weight,
)
from ..errors import ConvergenceWarning, DataTypeError, InputError
from . import _kernels
from ._lloyd import assign, hamerly, lloyd, project_to_sphere
from ._seeding import init_bbox, init_kmeanspp, init_random, local_search

__all__ = ["KMeans", "log_restart", "make_rng", "resolve_local_search", "resolve_n_init"]

logger = logging.getLogger("geokmeans")

INIT_METHODS = ("k-means++", "bbox", "random")
ALGORITHMS = ("auto", "lloyd", "hamerly")


def log_restart(done, total, inertia):
    """Report a finished seeding run at DEBUG level with ``progress=(done, total)``
    attached, so a front end (the command-line tool) can draw a progress bar."""
    if total > 1:
        logger.debug("run %d of %d done, inertia %.6g", done, total, inertia,
                     extra={"progress": (done, total)})


def resolve_n_init(n_init, init):
    """Number of seedings for ``n_init`` ("auto" or an int >= 1) and ``init``: "auto" is
    10 for "bbox" and "random", 1 for "k-means++" and explicit centres."""
    if isinstance(n_init, str):
        check_choice("n_init", n_init, ("auto",), "a positive integer")
        return 10 if isinstance(init, str) and init in ("bbox", "random") else 1
    return check_int("n_init", n_init, minimum=1)


def resolve_local_search(local_search, init, n_clusters):
    """Number of LocalSearch++ steps for ``local_search`` ("auto" or an int >= 0)."""
    if isinstance(local_search, str):
        check_choice("local_search", local_search, ("auto",), "a non-negative integer")
        return n_clusters if isinstance(init, str) and init == "k-means++" else 0
    if isinstance(local_search, bool) or not isinstance(local_search, numbers.Integral):
        check_choice("local_search", local_search, ("auto",), "a non-negative integer")
    return check_int("local_search", local_search, minimum=0)


def make_rng(random_state):
    """Turn ``random_state`` (None, int, Generator or RandomState) into one Generator."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator)):
        return np.random.default_rng(random_state)
    raise InputError(
        f"random_state={random_state!r} is not valid; use None, an integer or a "
        "numpy Generator."
    )


def _as_float_array(X, estimator, reset):
    """Validate ``X`` into a float64 C-contiguous (n, d) array; never modifies the input."""
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=np.float64,
            order="C",
            ensure_all_finite=False,
            accept_sparse=False,
            copy=False,
        )
    except TypeError as exc:
        if "sparse" in str(exc).lower():
            raise
        raise DataTypeError(f"X must be numeric: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        if "convert" in str(exc) or "dtype" in str(exc):
            raise DataTypeError(f"X must be numeric: {exc}") from None
        raise
    check_finite_rows(X, "X")
    return X


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """Euclidean k-means on ``(n_samples, n_features)`` arrays, optionally weighted.

    Lloyd's iterations over chunks of rows compiled with numba; results for a given
    ``random_state`` are bit-identical whatever the number of threads. Follows the
    conventions of ``sklearn.cluster.KMeans`` and passes scikit-learn's estimator checks.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (and centres) to form; ``1 <= n_clusters <= n_samples``.
    init : {"k-means++", "bbox", "random"} or array-like of shape (n_clusters, n_features)
        Seeding method. ``"k-means++"``: greedy k-means++ with ``2 + floor(ln k)``
        candidates per step, weighted (followed by ``local_search`` steps, see below).
        ``"bbox"``: centres uniform in ``bbox`` (default:
        the bounding box of the positive-weight samples). ``"random"``: ``n_clusters``
        distinct samples drawn with probability proportional to weight. An array: these
        initial centres.
    n_init : "auto" or int, default="auto"
        Number of seedings; the run with the lowest inertia is kept. ``"auto"`` is 1 for
        ``"k-means++"`` or an array and 10 for ``"bbox"`` and ``"random"``.
    local_search : "auto" or int, default="auto"
        Number of LocalSearch++ steps (Lattanzi & Sohler, 2019) that refine each seeding
        before Lloyd's iterations: a step draws a sample with probability proportional to
        ``weight * D^2`` (D: distance to the nearest centre) and swaps it in for the
        centre whose replacement lowers the weighted potential most, if any does.
        ``"auto"``: ``n_clusters`` steps after ``"k-means++"``, none after the other
        methods. ``0``: plain greedy k-means++, the seeding of scikit-learn's ``KMeans``.
        A positive integer refines any seeding, explicit centres included.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence tolerance relative to the data: a run stops when the summed squared
        shift of the centres is at most ``tol * mean(var(X, axis=0))``. It also stops as
        soon as the labels no longer change.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the single random generator used for all seedings.
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        Iteration scheme. ``"lloyd"`` examines every distance each iteration;
        ``"hamerly"`` keeps distance bounds per sample (Hamerly, 2010) and skips most of
        them, with the same result. ``"auto"``: ``"hamerly"`` when ``n_clusters > 1``.
    bbox : array-like of shape (2, n_features), default=None
        ``[mins, maxs]`` box for ``init="bbox"``; ignored by the other methods.
    sphere_radius : float, default=None
        If given, centres are constrained to the sphere of this radius around the origin
        (spherical k-means with chord distances): seeds and each M-step's means are
        scaled onto it. Used for Earth-centred coordinates; data should lie on that sphere.
    verbose : int, default=0
        If positive, log each iteration's inertia on the ``"geokmeans"`` logger (INFO).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        Sum of weighted squared distances of the samples to their centre.
    n_iter_ : int
        Lloyd iterations run by the kept seeding.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from geokmeans import KMeans
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[0.0, 0.5], [10.0, 0.5]]
    >>> float(km.inertia_)
    1.0
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        local_search="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        algorithm="auto",
        bbox=None,
        sphere_radius=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.local_search = local_search
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm
        self.bbox = bbox
        self.sphere_radius = sphere_radius
        self.verbose = verbose

    # -- validation -------------------------------------------------------------------
    def _check_params(self, X):
        n_samples, n_features = X.shape
        n_clusters = check_int("n_clusters", self.n_clusters, minimum=1)
        if n_samples < n_clusters:
            raise InputError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
        if isinstance(self.init, str):
            init = check_choice("init", self.init, INIT_METHODS, "an array of centres")
        elif hasattr(self.init, "__array__") or isinstance(self.init, (list, tuple)):
            init = self._check_init_array(self.init, n_clusters, n_features)
        else:
            check_choice("init", self.init, INIT_METHODS, "an array of centres")
        n_init = resolve_n_init(self.n_init, init)
        if not isinstance(init, str) and n_init != 1:  # "auto" gives 1 here
            warnings.warn(
                f"Explicit initial centres given: n_init={n_init} ignored, 1 run done.",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        local_steps = resolve_local_search(self.local_search, init, n_clusters)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        tol = check_positive_float("tol", self.tol)
        algorithm = check_choice("algorithm", self.algorithm, ALGORITHMS)
        if algorithm == "auto":
            algorithm = "hamerly" if n_clusters > 1 else "lloyd"
        bbox = None if self.bbox is None else self._check_bbox(self.bbox, n_features)
        if self.sphere_radius is not None:
            check_positive_float("sphere_radius", self.sphere_radius, allow_zero=False)
        return n_clusters, init, n_init, local_steps, max_iter, tol, bbox, algorithm

    @staticmethod
    def _check_init_array(init, n_clusters, n_features):
        try:
            centers = np.array(init, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("init array must be numeric.") from None
        if centers.shape != (n_clusters, n_features):
            raise InputError(
                f"init array has shape {centers.shape}; expected (n_clusters, n_features) "
                f"= ({n_clusters}, {n_features})."
            )
        check_finite_rows(centers, "init")
        return np.ascontiguousarray(centers)

    @staticmethod
    def _check_bbox(bbox, n_features):
        try:
            box = np.array(bbox, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("bbox must be numeric: [mins, maxs].") from None
        if box.shape != (2, n_features):
            raise InputError(
                f"bbox has shape {box.shape}; expected (2, n_features) = (2, {n_features}): "
                "a row of minimums then a row of maximums."
            )
        check_finite_rows(box.T, "bbox")
        if (box[0] > box[1]).any():
            f = int(np.flatnonzero(box[0] > box[1])[0])
            raise InputError(f"bbox minimum {box[0, f]} > maximum {box[1, f]} in feature {f}.")
        return box

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; never modified.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, not all zero. ``None`` weighs every sample 1.

        Returns
        -------
        self : KMeans
        """
        X = _as_float_array(X, self, reset=True)
        if X.shape[0] == 0:
            raise InputError("X is empty: at least one sample is required.")
        weights = check_sample_weight(sample_weight, X.shape[0])
        n_clusters, init, n_init, local_steps, max_iter, tol, bbox, algorithm = (
            self._check_params(X))
        iterate = hamerly if algorithm == "hamerly" else lloyd
        rng = make_rng(self.random_state)
        starts = _kernels.chunk_starts(X.shape[0])
        abs_tol = _kernels.mean_column_variance(X, starts) * tol

        best = None
        for run in range(n_init):
            centers = self._seed(X, weights, n_clusters, init, bbox, rng, local_steps)
            callback = self._log_iteration(run) if self.verbose else None
            result = iterate(X, weights, centers, max_iter, abs_tol, starts, callback,
                           sphere_radius=self.sphere_radius)
            if best is None or result[1] < best[1]:
                best = result
            log_restart(run + 1, n_init, result[1])
        labels, inertia, centers, n_iter = best

        n_distinct = int(np.count_nonzero(np.bincount(labels, minlength=n_clusters)))
        if n_distinct < n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = int(n_iter)
        return self

    def _seed(self, X, weights, n_clusters, init, bbox, rng, local_steps):
        if isinstance(init, str) and init == "k-means++":
            centers = init_kmeanspp(X, weights, n_clusters, rng, local_steps)
            local_steps = 0
        elif not isinstance(init, str):
            centers = init.copy()
        elif init == "bbox":
            centers = init_bbox(X, weights, n_clusters, rng, bbox)
        else:
            centers = init_random(X, weights, n_clusters, rng)
        if self.sphere_radius is not None:
            project_to_sphere(centers, float(self.sphere_radius))
        if local_steps:
            centers = local_search(X, weights, centers, local_steps, rng)
        return centers

    @staticmethod
    def _log_iteration(run):
        def callback(iteration, inertia):
            logger.info("run %d, iteration %d, inertia %.6g", run, iteration, inertia)

        return callback

    # -- using a fitted model --------------------------------------------------------------
    def _check_test_data(self, X):
        check_is_fitted(self)
        return _as_float_array(X, self, reset=False)

    def predict(self, X):
        """Index of the nearest centre of each sample, (n_samples,) int32."""
        return assign(self._check_test_data(X), self.cluster_centers_)[0]

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distance of each sample to each centre, (n_samples, n_clusters)."""
        X = self._check_test_data(X)
        out = np.empty((X.shape[0], self.cluster_centers_.shape[0]))
        _kernels.pairwise_distances(X, self.cluster_centers_,
                                    _kernels.chunk_starts(X.shape[0]), out)
        return out

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return ``transform(X)``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of ``X`` against the fitted centres."""
        X = self._check_test_data(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        return -float(assign(X, self.cluster_centers_)[1] @ weights)
