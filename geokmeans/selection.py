"""Choosing k: inertia, silhouette and Calinski–Harabasz over a range of k, in metres."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._gps import warn_null_island
from ._progress import bar
from ._validation import check_param, check_params, describe_value
from .core._driver import best_of, final_labels, tolerance
from .core._estimator import _unscaled_inertia, make_rng, resolve_algorithm
from .core._silhouette import silhouette_sweep
from .errors import DataTypeError, InputError, OptionalDependencyError
from .io import read_points
from .model import GeoKMeans
from .projection import choose_projection
from .sources import MemoryPoints

__all__ = ["KChoice", "check_k_range", "choose_k", "parse_k_range"]

#: Silhouette is O(n²): above this many points it is computed on a random sample.
DEFAULT_SILHOUETTE_SAMPLE = 10_000

#: The sweep scores the silhouettes of this many ks together (their sample labels are
#: kept until then; ``core._silhouette`` shares the pairwise distances among them).
SILHOUETTE_BATCH = 32

RULE = "highest silhouette (smallest k on ties)"


K_RANGE_FORMS = "A..B with 1 <= A <= B (e.g. '2..10') or a list of integers >= 1 (e.g. '3,5,8')"


def parse_k_range(text):
    """Parse ``"2..20"``, ``"2-20"`` or ``"3,5,8"`` into ascending ks >= 1.

    A range ``A..B`` gives a ``range`` (nothing is allocated per k, so a bound such as
    ``2..1000000000`` costs nothing until it is checked against the number of points);
    a list gives a sorted list without repeats.
    """
    def invalid():
        return InputError(f"k_range={text!r} should be {K_RANGE_FORMS}.")

    try:
        if ".." in text or "-" in text.strip().lstrip("-"):
            lo, hi = (text.split("..") if ".." in text else text.strip().split("-"))
            ks = range(int(lo), int(hi) + 1)
        else:
            ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise invalid() from None
    if not ks or ks[0] < 1:  # not len(): a range may be longer than sys.maxsize
        raise invalid()
    return ks


def check_k_range(k_range):
    """The ks of ``k_range`` ascending, as a ``range`` or a sorted list, checked: a string
    (``parse_k_range``), a ``range`` (kept lazy) or integers >= 1."""
    check_param("k_range", k_range)
    if isinstance(k_range, str):
        return parse_k_range(k_range)
    if isinstance(k_range, range):
        ks = k_range if k_range.step > 0 else k_range[::-1]
    else:
        values = np.asarray(k_range, dtype=object).ravel().tolist()
        bad = [k for k in values if isinstance(k, (bool, np.bool_))
               or not isinstance(k, (int, np.integer))]
        if bad:
            raise DataTypeError(f"k_range={describe_value(k_range)} should be {K_RANGE_FORMS}: "
                                f"{bad[0]!r} is not an integer.")
        ks = sorted({int(k) for k in values})
    if not ks or ks[0] < 1:  # not len(): a range may be longer than sys.maxsize
        raise InputError(f"k_range={describe_value(k_range)} should be {K_RANGE_FORMS}.")
    return ks


@dataclass
class KChoice:
    """Metrics per k and the recommended k.

    ``table`` has one row per k: ``k, inertia_m2, silhouette`` (mean silhouette with
    distances in metres; NaN for k = 1), ``calinski_harabasz``. ``recommended_k`` follows
    ``rule``; ``silhouette_sample`` is the number of points the silhouette used.
    ``source`` is the input file (None for data in memory), never written over by
    ``plot``.
    """

    table: pd.DataFrame
    recommended_k: int
    rule: str
    silhouette_sample: int
    crs: str
    source: Path | None = field(default=None, repr=False)

    def plot(self, path=None):
        """Elbow (inertia) and silhouette against k; saved as PNG when ``path`` is given.

        The file is written atomically and never over the input (``source``). Returns
        the matplotlib Figure (matplotlib is imported here, only when plotting).
        """
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise OptionalDependencyError(
                'plotting needs matplotlib: pip install "geokmeans[plot]"') from None
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6, 6))
        top.plot(self.table.k, self.table.inertia_m2, "o-", color="#0067A5")
        top.set_ylabel("inertia (m²)")
        top.set_title(f"Choosing k ({self.crs}); recommended k = {self.recommended_k}")
        bottom.plot(self.table.k, self.table.silhouette, "o-", color="#BE0032")
        bottom.axvline(self.recommended_k, color="#848482", linestyle="--")
        bottom.set_ylabel("silhouette")
        bottom.set_xlabel("k")
        fig.tight_layout()
        if path is not None:
            from .io import atomic_path

            try:
                with atomic_path(path, [self.source]) as tmp:
                    fig.savefig(tmp, format="png", dpi=100)
            finally:
                plt.close(fig)
        return fig


def choose_k(data, k_range, *, weight=None, lat=None, lon=None, crs="auto", init="k-means++",
             random_state=None, silhouette_sample=DEFAULT_SILHOUETTE_SAMPLE, dropna=False,
             progress=False):
    """Fit each k of ``k_range`` and report inertia, silhouette and Calinski–Harabasz.

    What is exact and what is sampled: every k is fitted on all points, exactly as
    ``GeoKMeans(k)`` with the same parameters would fit it (each fit starts from its
    own seeding; no fit starts from another k's solution), in one projection chosen
    for all ks. ``inertia_m2`` and ``calinski_harabasz`` use all points. The
    silhouette uses one random sample of ``silhouette_sample`` rows, drawn once and
    shared by every k, labelled by the fit on all points; on that sample it is exact
    (every pairwise distance in metres, from coordinate differences in the projection,
    and the mean of the per-point silhouettes as ``sklearn.metrics.silhouette_score``
    defines them). Without a sample (n <= ``silhouette_sample``) it is exact outright.
    Shared across ks, with results identical to separate fits: the projected points, the
    weights' scale and the stopping tolerance (computed once), and the sample's
    pairwise distances (each computed once per pass over the sample; a pass scores
    several ks whose clusters line up, see ``core._silhouette``). The per-cluster
    geodesic statistics of ``GeoKMeans`` are not computed (the table does not show
    them).

    Parameters
    ----------
    data : any input ``geokmeans.cluster`` accepts
    k_range : str ("2..20", "3,5,8"), range or list of int
        The ks to fit, each >= 1; the largest must not exceed the number of points
        (checked before any fit, without building a list for a range).
    init, crs, lat, lon, dropna, random_state
        As for ``GeoKMeans``; every parameter is checked before the data are read.
    weight : str or array-like, optional
        Weights for the fits (the silhouette and Calinski–Harabasz scores are unweighted).
    silhouette_sample : int, default 10,000
        Silhouette on a random sample of this many points when there are more.
    progress : bool or callable(done, total), default False
        ``True`` shows a ``tqdm.auto`` bar of the ks (a widget in notebooks, stderr
        elsewhere); a callable is called after each k instead. The silhouettes are
        computed a few ks at a time, so a step can take longer than the others.
        Anything else (``"yes"``, ``1``, None) is refused.

    Returns
    -------
    KChoice
        ``recommended_k`` is the k with the highest silhouette (smallest on ties).

    Examples
    --------
    >>> import numpy as np, geokmeans as gk
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[-74.0, 40.7], [-73.5, 41.0], [-74.5, 41.2]])
    >>> lonlat = np.concatenate([c + rng.normal(scale=0.01, size=(100, 2)) for c in centres])
    >>> gk.choose_k(lonlat, "2..6", random_state=0).recommended_k
    3
    """
    ks, template, params, options = _checked(data, k_range, dict(
        init=init, crs=crs, lat=lat, lon=lon, dropna=dropna, random_state=random_state),
        silhouette_sample=silhouette_sample, progress=progress, weight=weight)
    points = read_points(data, lat=lat, lon=lon, weight=weight, dropna=params["dropna"],
                         keep_frame=False)  # read here: its warnings name the caller's line
    _check_points(points, ks)
    return _choice(data, points, ks, template, params, options["silhouette_sample"], progress)


def _checked(data, k_range, model_options, **options):
    """The ks, the model each k is fitted as and its parameters, and the sweep's own
    ``options``: all checked before the data are read."""
    ks = check_k_range(k_range)
    _check_sweep_input(data, model_options["init"])
    options = check_params(options)
    template = GeoKMeans(ks[0], **model_options)
    return ks, template, template._validated(), options


def _choice(data, points, ks, template, params, silhouette_sample, progress):
    """``choose_k`` once the points are read and checked: the silhouette sample drawn
    once, the projection chosen once, every k fitted and scored."""
    rng = make_rng(params["random_state"])
    sample = _silhouette_rows(len(points.lon), silhouette_sample, rng)
    # the projection is chosen (and a named CRS checked) once for every k
    params["crs"] = choose_projection(points.lon, points.lat, params["crs"])
    params["random_state"] = rng
    table = _sweep(points, ks, template, params, sample, progress)
    source = Path(os.path.abspath(data)) if isinstance(data, (str, os.PathLike)) else None
    return KChoice(table, _recommended(table, ks), RULE, int(sample.size), params["crs"].name,
                   source)


def _check_sweep_input(data, init):
    """Refuse what choose_k cannot sweep: a dask collection, explicit initial centres."""
    from .sources import is_lazy

    if is_lazy(data):
        raise InputError("choose_k fits every k in memory: pass a pandas/GeoPandas sample of "
                         "the dask collection (e.g. ddf.sample(frac=0.01).compute()).")
    if not isinstance(init, str):
        raise InputError(f"init={describe_value(init)} should be 'k-means++', 'bbox' or "
                         "'random' for choose_k (explicit centres fix k).")


def _check_points(points, ks):
    """The points read, before any fit: at least as many as the largest k (without building
    the list of ks); the fits' warning about points at (0, 0) (see ``GeoKMeans``), once for
    every k (``init="bbox"`` seeds in the data's extent here: no box to check)."""
    n = len(points.lon)
    if ks[-1] > n:
        raise InputError(f"n_samples={n} should be >= the largest k={ks[-1]} of k_range.")
    memory = MemoryPoints(points)
    warn_null_island(memory.n_null_island, memory.n_points, stacklevel=3)


def _silhouette_rows(n, sample_size, rng):
    """The rows the silhouette is computed on: all ``n``, or a sorted random sample of
    ``sample_size`` of them."""
    if n > sample_size:
        return np.sort(rng.choice(n, sample_size, replace=False))
    return np.arange(n)


def _sweep(points, ks, template, params, sample, progress):
    """The metrics table, a row per k of ``ks``: each k fitted as ``template`` would fit
    it (``params``: the projection and the Generator, drawn from in turn, shared),
    scored in the projection's metres; the silhouettes of up to ``SILHOUETTE_BATCH``
    ks at a time, on the ``sample`` rows. ``progress``: a bar (or callable) of the ks."""
    X, fit = _fitter(points, template, params)
    calinski_harabasz = _calinski_harabasz_of(X)
    rows, pending = [], []
    steps = bar(progress, len(ks), "k sweep", unit="k")
    try:
        for i, k in enumerate(ks):
            labels, inertia_m2 = fit(k)
            rows.append({"k": k, "inertia_m2": inertia_m2, "silhouette": np.nan,
                         "calinski_harabasz": calinski_harabasz(labels)})
            if _silhouette_defined(labels, sample):
                pending.append((rows[-1], labels[sample]))
            if pending and (len(pending) == SILHOUETTE_BATCH or i + 1 == len(ks)):
                scores = silhouette_sweep(X[sample], np.array([lab for _, lab in pending]))
                for (row, _), score in zip(pending, scores, strict=True):
                    row["silhouette"] = float(np.mean(score))
                pending = []
            steps.update(1)
    finally:
        steps.close()
    return pd.DataFrame(rows, columns=["k", "inertia_m2", "silhouette", "calinski_harabasz"])


def _fitter(points, template, params):
    """``(X, fit)``: the projected rows (n, d) in metres and ``fit(k) -> (labels (n,),
    inertia_m2)``, the fit ``template`` (a ``GeoKMeans``) makes of k clusters on
    ``points`` with ``params``, drawing from the Generator ``params["random_state"]``.

    The same seeding, iterations and result as ``GeoKMeans(k)`` with those parameters;
    what does not depend on k (the projected rows, the weights' scale, the stopping
    tolerance) is computed once, and the per-cluster geodesic statistics that the
    table does not show are not computed.
    """
    memory = MemoryPoints(points)
    extent = memory.extent()
    projection = params["crs"]
    scale = memory.weight_scale()
    source = memory.project(projection, scale)
    abs_tol = tolerance(source, params["tol"])

    def fit(k):
        k_params = {**params, "n_clusters": k}
        n_runs, seedings = template._seedings(k_params, source, projection, extent,
                                              params["random_state"])
        _, _, inertia, _ = best_of(source, seedings, n_runs, params["max_iter"], abs_tol,
                                   sphere_radius=projection.sphere_radius_m,
                                   algorithm=resolve_algorithm(params["algorithm"], k))
        return final_labels(source), _unscaled_inertia(inertia, scale)

    return source.rows()[0], fit


def _silhouette_defined(labels, sample):
    """Whether the silhouette of ``labels`` is defined (as scikit-learn defines it): more
    than one cluster and fewer clusters than rows, in all rows and in the sample."""
    def n_clusters(rows):
        return np.count_nonzero(np.bincount(rows))

    return 1 < n_clusters(labels) < labels.size and 1 < n_clusters(labels[sample]) < sample.size


def _calinski_harabasz_of(X):
    """A function ``labels (n,) -> Calinski–Harabasz score`` of ``X`` (n, d), unweighted
    (as ``sklearn.metrics.calinski_harabasz_score``; 1.0 when every cluster is one point
    repeated), NaN unless 1 < number of clusters < n.

    What does not depend on the labels is computed once: the centred coordinates (sums
    of metres far from the origin keep their precision) and their summed squares ``T``.
    A labelling then costs d weighted counts: with cluster means ``m_j`` of the centred
    rows, the within-cluster sum is ``T - sum_j n_j |m_j|²``, computed directly instead
    where that difference would cancel more than 6 digits.
    """
    centred = X - X.mean(axis=0)
    total = float(np.einsum("ij,ij->", centred, centred))
    grand_mean = centred.mean(axis=0)

    def score(labels):
        counts = np.bincount(labels)
        present = counts > 0
        n, n_labels = labels.size, int(present.sum())
        if not 1 < n_labels < n:
            return np.nan
        sums = np.column_stack([np.bincount(labels, weights=column, minlength=counts.size)
                                for column in centred.T])
        means = np.zeros_like(sums)
        means[present] = sums[present] / counts[present, None]
        between = float(np.sum(counts * (means**2).sum(axis=1)))
        extra = float(np.sum(counts[present] * ((means[present] - grand_mean) ** 2)
                             .sum(axis=1)))
        intra = total - between
        if intra <= 1e-6 * total:
            intra = float(np.sum((centred - means[labels]) ** 2))
        if intra == 0.0:
            return 1.0
        return extra * (n - n_labels) / (intra * (n_labels - 1.0))

    return score


def _recommended(table, ks):
    """The k of the highest silhouette (the smallest on ties), or the smallest k when no
    k has a silhouette."""
    scored = table.dropna(subset=["silhouette"])
    if not len(scored):
        return ks[0]
    return int(scored.k.iloc[int(np.argmax(scored.silhouette.to_numpy()))])
