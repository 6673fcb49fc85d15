"""``KMeans``: Euclidean k-means on (n, d) arrays, a scikit-learn compatible estimator."""

import logging
import warnings

import numpy as np

from .._params import Estimator, check_fitted
from .._validation import (
    as_real_array,
    check_finite_rows,
    check_magnitudes,
    check_param,
    check_params,
    check_sample_weight,
    power_of_two_scale,
)
from ..errors import DataTypeError, InputError, convergence_warning
from . import _kernels
from ._constrained import (
    constrained_run,
    constraints_for,
    unscaled_prices,
    warn_outside_limits,
)
from ._driver import assign, best_of, final_labels, tolerance
from ._plans import seed_centres
from ._source import ArraySource

__all__ = ["KMeans", "make_rng", "resolve_algorithm", "resolve_local_search", "resolve_n_init"]

logger = logging.getLogger("geokmeans")

INIT_METHODS = ("k-means++", "bbox", "random")
ALGORITHMS = ("auto", "lloyd", "hamerly")


def resolve_n_init(n_init, init):
    """Number of seedings for ``n_init`` ("auto" or an int in [1, 10,000]) and ``init``:
    "auto" is 10 for "bbox" and "random", 1 for "k-means++" and explicit centres."""
    n_init = check_param("n_init", n_init)
    if isinstance(n_init, str):
        return 10 if isinstance(init, str) and init in ("bbox", "random") else 1
    return n_init


def resolve_local_search(local_search, init, n_clusters):
    """Number of LocalSearch++ steps for ``local_search`` ("auto" or an int >= 0)."""
    local_search = check_param("local_search", local_search)
    if isinstance(local_search, str):
        return n_clusters if isinstance(init, str) and init == "k-means++" else 0
    return local_search


def resolve_algorithm(algorithm, n_clusters):
    """``"auto"``: Hamerly's bounds when there is more than one cluster."""
    if algorithm == "auto":
        return "hamerly" if n_clusters > 1 else "lloyd"
    return algorithm


def make_rng(random_state):
    """Turn ``random_state`` (None, an int in [0, 2**32 - 1], a Generator or a
    RandomState) into one Generator; anything else raises ``InputError``."""
    random_state = check_param("random_state", random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def _as_float_array(X, estimator, reset):
    """Validate ``X`` into a float64 C-contiguous (n, d) array; never modifies the input.

    Booleans and complex numbers are refused (``DataTypeError``).
    """
    from sklearn.utils.validation import validate_data  # only the array estimator needs it

    _refuse_bool_complex(X)
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
        if "sparse" in str(exc).lower():  # scikit-learn's wording kept: its checks expect it
            raise DataTypeError(f"X must be a dense array: {exc}") from None
        raise DataTypeError(f"X must be numeric: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        if "convert" in str(exc) or "dtype" in str(exc):
            raise DataTypeError(f"X must be numeric: {exc}") from None
        # scikit-learn's own wording (empty, 1-D, wrong number of features), kept
        raise InputError(f"X is not valid: {exc}") from None
    check_finite_rows(X, "X")
    return X


def _refuse_bool_complex(X):
    """Raise ``DataTypeError`` for boolean or complex ``X`` (array or frame columns)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not isinstance(dtypes, np.dtype):  # a DataFrame
        kinds = [getattr(d, "kind", "O") for d in dtypes]
    else:
        dtype = getattr(X, "dtype", None)
        if dtype is None and isinstance(X, (list, tuple)):
            dtype = np.asarray(X).dtype
        kinds = [getattr(dtype, "kind", "O")]
    if "b" in kinds:
        raise DataTypeError("X holds booleans; it should hold real numbers.")
    if "c" in kinds:
        raise DataTypeError("Complex data not supported: X holds complex numbers; it should hold "
                            "real numbers.")


def _unscaled_inertia(inertia, weight_scale):
    """``inertia * weight_scale``, the inertia in the weights' own units; raises
    ``InputError`` rather than return infinity when that overflows float64."""
    if not np.isfinite(inertia):  # guarded against by check_magnitudes; kept as a backstop
        raise InputError("the inertia is not finite: squared distances overflow float64; "
                         "rescale X.")
    value = float(inertia) * weight_scale
    if not np.isfinite(value):
        raise InputError(
            f"the inertia overflows float64 (about {float(inertia):.3g} * {weight_scale:.3g}): "
            "sample_weight is too large for these distances; divide the weights by a "
            "constant (the clustering does not change)."
        )
    return value


def _warn_if_fewer_clusters(labels, weights, n_clusters):
    """``ConvergenceWarning`` (at the caller of ``fit``) when fewer than ``n_clusters``
    clusters have points, saying why: too few positively weighted samples, or duplicates."""
    n_distinct = int(np.count_nonzero(np.bincount(labels, minlength=n_clusters)))
    if n_distinct >= n_clusters:
        return
    n_weighted = int(np.count_nonzero(weights > 0))
    reason = (f"only {n_weighted} sample{'s have' if n_weighted != 1 else ' has'} a "
              "positive sample_weight"
              if n_weighted < n_clusters else "Possibly due to duplicate points in X")
    warnings.warn(
        f"Number of distinct clusters ({n_distinct}) found smaller than "
        f"n_clusters ({n_clusters}). {reason[0].upper()}{reason[1:]}.",
        convergence_warning(),
        stacklevel=3,  # _warn_if_fewer_clusters < fit < the caller of fit
    )


class KMeans(Estimator):
    """Euclidean k-means on ``(n_samples, n_features)`` arrays, optionally weighted.

    Lloyd's iterations over chunks of rows compiled with numba; results for a given
    ``random_state`` are bit-identical whatever the number of threads. Follows the
    conventions of ``sklearn.cluster.KMeans`` and passes scikit-learn's estimator checks.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (and centres) to form; ``1 <= n_clusters <= n_samples``
        (an integer: ``np.int64(3)`` is accepted, ``3.0`` is not).
    init : {"k-means++", "bbox", "random"} or array-like of shape (n_clusters, n_features)
        Seeding method. ``"k-means++"``: greedy k-means++ with ``2 + floor(ln k)``
        candidates per step, weighted (followed by ``local_search`` steps, see below).
        ``"bbox"``: centres uniform in ``bbox`` (default:
        the bounding box of the positive-weight samples). ``"random"``: ``n_clusters``
        distinct samples drawn with probability proportional to weight. An array: these
        initial centres.
    n_init : "auto" or int, default="auto"
        Number of seedings; the run with the lowest inertia is kept. ``"auto"`` is 1 for
        ``"k-means++"`` or an array and 10 for ``"bbox"`` and ``"random"``. At most
        10,000 (each seeding is a full fit; seeds are drawn one run at a time).
    local_search : "auto" or int, default="auto"
        Number of LocalSearch++ steps (Lattanzi & Sohler, 2019) that refine each seeding
        before Lloyd's iterations: a step draws a sample with probability proportional to
        ``weight * D^2`` (D: distance to the nearest centre) and swaps it in for the
        centre whose replacement lowers the weighted potential most, if any does.
        ``"auto"``: ``n_clusters`` steps after ``"k-means++"``, none after the other
        methods. ``0``: plain greedy k-means++, the seeding of scikit-learn's ``KMeans``.
        A positive integer refines any seeding, explicit centres included; at most
        100,000.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence tolerance relative to the data: a run stops when the summed squared
        shift of the centres is at most ``tol * mean(var(X, axis=0))``. It also stops as
        soon as the labels no longer change.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the single random generator used for all seedings; an integer seed is
        in [0, 2**32 - 1] (numpy's rule; booleans are refused).
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
    verbose : int or bool, default=0
        If positive, log each iteration's inertia on the ``"geokmeans"`` logger (INFO).

    Every parameter is checked when ``fit`` is called, against one table
    (``geokmeans._validation.PARAMETERS``): a value of the wrong type raises
    ``DataTypeError`` (also a ``TypeError``), one out of range ``InputError``, both
    naming the parameter and value. ``X`` must hold real numbers (booleans and complex
    numbers are refused) small enough that squared distances fit in float64. Weights
    are divided by a power of two (exactly, so the clustering is unchanged) before
    use, so even weights near the float64 limit give finite centres; ``inertia_`` is
    reported in the weights' own units, and a fit whose inertia would overflow float64
    raises ``InputError`` instead of returning infinity.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        Sum of weighted squared distances of the samples to their centre.
    n_iter_ : int
        Lloyd iterations run by the kept seeding (with size limits above 200,000
        samples: those on all samples, after a first run on every 8th one).
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
        size_min=None,
        size_max=None,
        size_by="count",
        fixed_centers=None,
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
        self.size_min = size_min
        self.size_max = size_max
        self.size_by = size_by
        self.fixed_centers = fixed_centers
        self.verbose = verbose

    # -- validation -------------------------------------------------------------------
    def _check_params(self, X, params):
        """Resolve ``params`` (checked against the ``PARAMETERS`` table) for ``X``,
        checking those that depend on it (n_clusters <= n_samples, shapes)."""
        n_samples, n_features = X.shape
        n_clusters = params["n_clusters"]
        if n_samples < n_clusters:
            raise InputError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
        init = params["init"]
        if not isinstance(init, str):
            init = self._check_init_array(init, n_clusters, n_features)
        n_init = resolve_n_init(params["n_init"], init)
        if not isinstance(init, str) and n_init != 1:  # "auto" gives 1 here
            warnings.warn(
                f"Explicit initial centres given: n_init={n_init} ignored, 1 run done.",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        local_steps = resolve_local_search(params["local_search"], init, n_clusters)
        algorithm = resolve_algorithm(params["algorithm"], n_clusters)
        bbox = None if params["bbox"] is None else self._check_bbox(params["bbox"], n_features)
        return (n_clusters, init, n_init, local_steps, params["max_iter"], params["tol"], bbox,
                algorithm)

    @staticmethod
    def _check_init_array(init, n_clusters, n_features):
        centers = np.array(as_real_array(init, "init", "centres (numbers)"), dtype=np.float64)
        if centers.shape != (n_clusters, n_features):
            raise InputError(
                f"init array has shape {centers.shape}; expected (n_clusters, n_features) "
                f"= ({n_clusters}, {n_features})."
            )
        check_finite_rows(centers, "init")
        return np.ascontiguousarray(centers)

    @staticmethod
    def _check_bbox(bbox, n_features):
        box = as_real_array(bbox, "bbox", "numbers: [mins, maxs]")
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
        params = check_params(self.get_params())  # every parameter, before the data
        X = _as_float_array(X, self, reset=True)
        if X.shape[0] == 0:
            raise InputError("X is empty: at least one sample is required.")
        weights = check_sample_weight(sample_weight, X.shape[0])
        n_clusters, init, n_init, local_steps, max_iter, tol, bbox, algorithm = (
            self._check_params(X, params))
        check_magnitudes(X, "X", [a for a in (init, bbox) if isinstance(a, np.ndarray)])
        self._check_sphere_radius(X.shape[0])
        # weights / 2**e (max in [1, 2)): exact, so the result is unchanged, and sums of
        # weighted squares stay finite whatever the weights' magnitude
        weight_scale = 1.0 if sample_weight is None else power_of_two_scale(weights)
        if weight_scale != 1.0:
            weights = weights / weight_scale
        limits, fixed = constraints_for(params, n_clusters, weights * weight_scale,
                                        sample_weight is not None, init)
        if limits is not None and limits.by_weight:
            limits = limits.scaled(weight_scale)
        rng = make_rng(self.random_state)
        source = ArraySource(X, weights)
        sphere = None if self.sphere_radius is None else float(self.sphere_radius)
        seedings = (seed_centres(source, init, n_clusters, rng, local_steps=local_steps,
                                 bbox=bbox, sphere_radius=sphere) for _ in range(n_init))
        abs_tol = tolerance(source, tol)
        centers, n_iter, inertia, prices = best_of(
            source, seedings, n_init, max_iter, abs_tol, sphere_radius=sphere,
            algorithm=algorithm, callbacks=self._log_iteration if self.verbose else None,
            run=constrained_run(limits, fixed, max_iter, abs_tol, sphere, algorithm))
        labels = final_labels(source)
        inertia = _unscaled_inertia(inertia, weight_scale)
        if limits is None:
            _warn_if_fewer_clusters(labels, weights, n_clusters)
        else:
            warn_outside_limits(labels, weights * weight_scale, limits.scaled(1 / weight_scale)
                                if limits.by_weight else limits)
        self.size_prices_ = None if prices is None else unscaled_prices(prices, limits,
                                                                        weight_scale)
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = int(n_iter)
        return self

    def _check_sphere_radius(self, n_samples):
        """Squared distances on a sphere of ``sphere_radius`` must stay finite in float64."""
        if self.sphere_radius is None:
            return
        with np.errstate(over="ignore"):
            radius_ok = np.isfinite(8.0 * n_samples * np.float64(self.sphere_radius) ** 2)
        if not radius_ok:
            raise InputError(f"sphere_radius={self.sphere_radius:g} is too large for "
                             "float64: squared distances on that sphere overflow.")

    @staticmethod
    def _log_iteration(run):
        def callback(iteration, inertia):
            logger.info("run %d, iteration %d, inertia %.6g", run, iteration, inertia)

        return callback

    # -- using a fitted model --------------------------------------------------------------
    def _check_test_data(self, X):
        check_fitted(self, "cluster_centers_")
        X = _as_float_array(X, self, reset=False)
        check_magnitudes(X, "X", [self.cluster_centers_])
        return X

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
        scale = 1.0 if sample_weight is None else power_of_two_scale(weights)
        return -_unscaled_inertia(float(assign(X, self.cluster_centers_)[1] @ (weights / scale)),
                                  scale)
