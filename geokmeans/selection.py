"""Choosing k: inertia, silhouette and Calinski–Harabasz over a range of k, in metres."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, silhouette_score

from ._validation import check_int
from .core._estimator import make_rng
from .errors import InputError
from .io import read_points
from .model import GeoKMeans

__all__ = ["KChoice", "choose_k", "parse_k_range"]

#: Silhouette is O(n²): above this many points it is computed on a random sample.
DEFAULT_SILHOUETTE_SAMPLE = 10_000

RULE = "highest silhouette (smallest k on ties)"


def parse_k_range(text):
    """Parse ``"2..20"``, ``"2-20"`` or ``"3,5,8"`` into a sorted list of ks >= 1."""
    try:
        if ".." in text or "-" in text.strip("-"):
            lo, hi = (text.split("..") if ".." in text else text.split("-"))
            ks = list(range(int(lo), int(hi) + 1))
        else:
            ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"k range {text!r} is not valid; use A..B (e.g. 2..20) or a list 3,5,8.") from None
    if not ks or min(ks) < 1:
        raise InputError(f"k range {text!r} is empty or has k < 1; use A..B with 1 <= A <= B.")
    return sorted(set(ks))


@dataclass
class KChoice:
    """Metrics per k and the recommended k.

    ``table`` has one row per k: ``k, inertia_m2, silhouette`` (mean silhouette with
    distances in metres; NaN for k = 1), ``calinski_harabasz``. ``recommended_k`` follows
    ``rule``; ``silhouette_sample`` is the number of points the silhouette used.
    """

    table: pd.DataFrame
    recommended_k: int
    rule: str
    silhouette_sample: int
    crs: str

    def plot(self, path=None):
        """Elbow (inertia) and silhouette against k; saved as PNG when ``path`` is given.

        Returns the matplotlib Figure (matplotlib is imported here, only when plotting).
        """
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
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

            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=100)
            plt.close(fig)
        return fig


def choose_k(data, k_range, *, weight=None, lat=None, lon=None, crs="auto", init="k-means++",
             random_state=None, silhouette_sample=DEFAULT_SILHOUETTE_SAMPLE, dropna=False,
             progress=None):
    """Fit each k of ``k_range`` and report inertia, silhouette and Calinski–Harabasz.

    Parameters
    ----------
    data : any input ``geokmeans.cluster`` accepts
    k_range : iterable of int or str ("2..20")
    weight : str or array-like, optional
        Weights for the fits (the silhouette and Calinski–Harabasz scores are unweighted).
    silhouette_sample : int, default 10,000
        Silhouette on a random sample of this many points when there are more.
    progress : callable(done, total), optional
        Called after each k (the command-line tool draws a progress bar with it).

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
    ks = parse_k_range(k_range) if isinstance(k_range, str) else sorted(
        {check_int("k", k, minimum=1) for k in k_range})
    if not ks:
        raise InputError("k_range is empty.")
    points = read_points(data, lat=lat, lon=lon, weight=weight, dropna=dropna, keep_frame=False)
    n = len(points.lon)
    if ks[-1] > n:
        raise InputError(f"n_samples={n} should be >= the largest k={ks[-1]}.")
    sample_size = check_int("silhouette_sample", silhouette_sample, minimum=2)
    rng = make_rng(random_state)
    sample = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else np.arange(n)
    rows, X, crs_name = [], None, None
    for i, k in enumerate(ks):
        model = GeoKMeans(k, init=init, crs=crs, random_state=rng)
        model._fit_read(points)
        if X is None:
            X = model.projection_.forward(points.lon, points.lat)
            crs_name = model.crs_
        labels = model.labels_[points.valid]
        n_labels = np.unique(labels).size
        sil = ch = np.nan
        if 1 < n_labels < n:
            ch = calinski_harabasz_score(X, labels)
            if 1 < np.unique(labels[sample]).size < sample.size:
                sil = silhouette_score(X[sample], labels[sample])
        rows.append({"k": k, "inertia_m2": model.inertia_, "silhouette": sil,
                     "calinski_harabasz": ch})
        if progress is not None:
            progress(i + 1, len(ks))
    table = pd.DataFrame(rows)
    scored = table.dropna(subset=["silhouette"])
    best = int(scored.k.iloc[int(np.argmax(scored.silhouette.to_numpy()))]) if len(scored) else ks[0]
    return KChoice(table, best, RULE, int(sample.size), crs_name)
