"""Checks applied once at the public edge; private code assumes they passed.

Every public parameter of ``KMeans``, ``GeoKMeans``, ``cluster`` and ``choose_k`` (and
the command-line options that feed them) is declared once, in ``PARAMETERS``: the types
and ranges it accepts. ``check_param``/``check_params`` check values against that table
with one message form, ``name=value should be <what the table accepts>.``, raising
``DataTypeError`` (also a ``TypeError``) when the value has none of the accepted types
and ``InputError`` when it has one but is out of range or not among the choices.
Checks that need the data (``n_clusters <= n_samples``, the shape of ``init``) are made
where the data are known, in the same form.
"""

import math
import numbers
import os
import re
from collections.abc import Mapping

import numpy as np

from .errors import DataTypeError, InputError

__all__ = [
    "MAX_N_INIT",
    "MAX_LOCAL_SEARCH",
    "MAX_SEED",
    "MIN_RADIUS_M",
    "MAX_RADIUS_CLUSTERS",
    "PARAMETERS",
    "as_real_array",
    "check_choice",
    "check_finite_rows",
    "check_int",
    "check_magnitudes",
    "check_param",
    "check_params",
    "check_positive_float",
    "check_radius_clusters",
    "ALL_ZERO_WEIGHTS",
    "check_sample_weight",
    "describe_value",
    "expectation",
    "power_of_two_scale",
]

#: More seedings than this are refused: each is a full fit, and 10 is the usual number.
MAX_N_INIT = 10_000

#: More LocalSearch++ steps than this are refused (about ``n_clusters`` steps pay off).
MAX_LOCAL_SEARCH = 100_000

#: Largest integer seed, numpy's rule for ``RandomState`` (seeds are 32-bit).
MAX_SEED = 2**32 - 1

#: Smallest ``max_radius_m``: below a millimetre the projections' round trip (about a
#: nanometre) is no longer negligible and output coordinates are rounded to ~1 cm anyway.
MIN_RADIUS_M = 1e-3

#: Most clusters ``max_radius_m`` may split into: each split round refits all points
#: with every centre, so a radius far below the data's spacing would otherwise run for
#: hours (50,000 AIS positions at 100 m give about 4,000 clusters in a minute).
MAX_RADIUS_CLUSTERS = 10_000


# -- constraints ----------------------------------------------------------------------------


class _Constraint:
    """One accepted form of a parameter: ``type_ok`` (the kind of value) and ``ok``
    (the kind and its range); ``texts`` describe it for messages."""

    texts = ()

    def type_ok(self, value):
        raise NotImplementedError

    def ok(self, value):
        return self.type_ok(value)

    def convert(self, value):
        return value


class _Interval(_Constraint):
    """An integer (``kind="int"``, bools excluded) or finite real in ``[low, high]``."""

    def __init__(self, kind, low=None, high=None, *, low_open=False, unit=None):
        self.kind, self.low, self.high, self.low_open = kind, low, high, low_open
        noun = "an integer" if kind == "int" else "a finite number"
        if unit:
            noun += f" of {unit}"
        if low is not None and high is not None:
            self.texts = (f"{noun} in [{low}, {high}]",)
        elif low is not None:
            self.texts = (f"{noun} {'>' if low_open else '>='} {low}",)
        else:
            self.texts = (noun,)

    def type_ok(self, value):
        if isinstance(value, (bool, np.bool_)):
            return False
        base = numbers.Integral if self.kind == "int" else numbers.Real
        return isinstance(value, base)

    def ok(self, value):
        if not self.type_ok(value):
            return False
        if self.kind == "real" and not math.isfinite(float(value)):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def convert(self, value):
        return int(value) if self.kind == "int" else float(value)


class _Options(_Constraint):
    """One of a closed set of strings."""

    def __init__(self, *choices):
        self.choices = choices
        self.texts = tuple(repr(c) for c in choices)

    def type_ok(self, value):
        return isinstance(value, str)

    def ok(self, value):
        return isinstance(value, str) and value in self.choices


class _Kind(_Constraint):
    """Any value for which ``test`` is true, described by ``texts``."""

    def __init__(self, test, *texts):
        self.test = test
        self.texts = texts

    def type_ok(self, value):
        return bool(self.test(value))


def _is_array_like(value):
    return (not isinstance(value, (str, bytes, dict))
            and (hasattr(value, "__array__") or isinstance(value, (list, tuple))))


def _is_crs_like(value):
    # what pyproj.CRS.from_user_input takes; the projection module parses it
    return (isinstance(value, (str, dict, tuple, list))
            or (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)))
            or hasattr(value, "to_wkt") or hasattr(value, "sphere_radius_m"))


def _is_region(value):
    # a shapely geometry, or a GeoDataFrame/GeoSeries (territories.check_boundary looks
    # at what is inside)
    return hasattr(value, "geom_type") or (hasattr(value, "geometry") and hasattr(value, "crs"))


def _is_reference(value):
    # a result (or centroids already read back), a path, or a table of centroids
    return (isinstance(value, (str, os.PathLike)) or hasattr(value, "columns")
            or (hasattr(value, "centroids") and hasattr(value, "model"))
            or (hasattr(value, "ids") and hasattr(value, "crs_used")))


def _is_column_name(value):
    return isinstance(value, str) or (isinstance(value, numbers.Integral)
                                      and not isinstance(value, (bool, np.bool_)))


def _is_k_range(value):
    return isinstance(value, (str, range)) or _is_array_like(value)


_NONE = _Kind(lambda v: v is None, "None")
_BOOLEAN = _Kind(lambda v: isinstance(v, (bool, np.bool_)), "True", "False")
_COLUMN = _Kind(_is_column_name, "a column name")
_CALLABLE = _Kind(callable, "a callable")
_NEW_COLUMN = _Kind(lambda v: isinstance(v, str) and v != "", "a non-empty column name")


def _array(text):
    return _Kind(_is_array_like, text)


#: Every public parameter: the forms it may take. Same name, same rule, in every API.
PARAMETERS = {
    "n_clusters": (_Interval("int", 1),),
    "init": (_Options("k-means++", "bbox", "random"), _array("an array of centres")),
    "n_init": (_Options("auto"), _Interval("int", 1, MAX_N_INIT)),
    "local_search": (_Options("auto"), _Interval("int", 0, MAX_LOCAL_SEARCH)),
    "max_iter": (_Interval("int", 1),),
    "tol": (_Interval("real", 0),),
    "random_state": (
        _NONE,
        _Interval("int", 0, MAX_SEED),
        _Kind(lambda v: isinstance(v, np.random.Generator), "a numpy Generator"),
        _Kind(lambda v: isinstance(v, np.random.RandomState), "a numpy RandomState"),
    ),
    "algorithm": (_Options("auto", "lloyd", "hamerly"),),
    "bbox": (_NONE, _Kind(lambda v: _is_array_like(v) or hasattr(v, "west_lon_deg"),
                          "a box (a sequence of numbers)")),
    "sphere_radius": (_NONE, _Interval("real", 0, low_open=True)),
    "verbose": (_BOOLEAN, _Interval("int", 0)),
    "crs": (_Kind(_is_crs_like, "'auto', 'sphere' or a projected CRS (e.g. 'EPSG:32618', "
                                "an EPSG code or a pyproj.CRS)"),),
    "lat": (_NONE, _COLUMN),
    "lon": (_NONE, _COLUMN),
    "weight": (_NONE, _COLUMN, _array("an array of weights")),
    "sample_weight": (_NONE, _COLUMN, _array("an array of weights")),
    "dropna": (_BOOLEAN,),
    "max_radius_m": (_NONE, _Interval("real", MIN_RADIUS_M, unit="metres")),
    "size_min": (_NONE, _Interval("real", 0), _array("an array of one limit per cluster")),
    "size_max": (_NONE, _Interval("real", 0), _array("an array of one limit per cluster")),
    "size_by": (_Options("count", "weight"),),
    "fixed_centers": (_NONE, _array("a boolean mask over the initial centres")),
    "silhouette_sample": (_Interval("int", 2),),
    # a bar (tqdm.auto) or not; a callable(done, total) is called after each step instead
    "progress": (_BOOLEAN, _CALLABLE),
    "k_range": (_Kind(_is_k_range, "a range of k such as '2..10', a list such as '3,5,8', "
                                   "or integers (a list or range)"),),
    # cluster(): added columns and outputs
    "label_column": (_NEW_COLUMN,),
    "distance_column": (_NEW_COLUMN,),
    "csv_raw": (_BOOLEAN,),
    "partitioned": (_NONE, _BOOLEAN),
    "write": (_NONE, _Kind(lambda v: isinstance(v, Mapping),
                           "a dict of output kind ('points', 'centroids', 'hulls', "
                           "'territories', 'map') to path")),
    "outputs": (_NONE, _Kind(lambda v: hasattr(v, "commit") and hasattr(v, "check"),
                             "an io.OutputSet")),
    "boundary": (_NONE, _Kind(_is_region, "a shapely Polygon or MultiPolygon (lon/lat)",
                              "a GeoDataFrame or GeoSeries of polygons")),
    "by": (_NONE, _Kind(lambda v: _is_column_name(v) and v != "",
                        "a non-empty column name")),  # cluster(): the group column
    "relabel_like": (_NONE, _Kind(_is_reference, "a ClusterResult", "a centroids file path",
                                  "a GeoDataFrame of centroids with a 'cluster' column")),
    # explore(): maps
    "max_points": (_Interval("int", 1),),
    "radius": (_Interval("real", 0, low_open=True, unit="pixels"),),
    "hulls": (_BOOLEAN,),
    "centroids": (_BOOLEAN,),
    "legend": (_BOOLEAN,),
    "layer_control": (_BOOLEAN,),
    "tooltip": (_NONE, _COLUMN, _array("a list of column names")),
}


# -- the checker ----------------------------------------------------------------------------


def describe_value(value):
    """A short text for ``value`` in messages: repr for strings, shape for arrays."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, np.ndarray):
        return f"array of shape {value.shape}" if value.size > 4 else repr(value.tolist())
    elif isinstance(value, (bool, int, float, complex, np.bool_, np.number)) or value is None:
        return str(value)  # other numbers (Decimal, Fraction) show their type: repr
    elif hasattr(value, "shape") and hasattr(value, "__len__"):
        return f"a {type(value).__name__} of shape {tuple(value.shape)}"  # Series, frames
    else:
        text = " ".join(repr(value).split())  # one line, whatever the repr
    return text if len(text) <= 60 else text[:57] + "..."


def _join(texts):
    texts = list(texts)
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]


def expectation(name, like=None):
    """What ``PARAMETERS[name]`` accepts, as text; with ``like`` (a list of sample
    values), only the forms of the same kind as one of them (e.g. ``[0]``: integers)."""
    constraints = PARAMETERS[name]
    if like is not None:
        constraints = [c for c in constraints if any(c.type_ok(v) for v in like)] or constraints
    return _join(t for c in constraints for t in c.texts)


def check_param(name, value):
    """Return ``value`` (ints as ``int``, reals as ``float``) if ``PARAMETERS[name]``
    accepts it; else raise ``DataTypeError`` (no accepted kind) or ``InputError``."""
    constraints = PARAMETERS[name]
    for constraint in constraints:
        if constraint.ok(value):
            return constraint.convert(value)
    error = InputError if any(c.type_ok(value) for c in constraints) else DataTypeError
    raise error(f"{name}={describe_value(value)} should be {expectation(name)}.")


def check_params(values):
    """``check_param`` for each ``name: value`` of ``values``; returns the converted dict."""
    return {name: check_param(name, value) for name, value in values.items()}


# -- single checks, in the same message form, for parameters outside the table ----------


def check_radius_clusters(n_clusters, max_radius_m, n_rounds):
    """Refuse a ``max_radius_m`` split that has grown past ``MAX_RADIUS_CLUSTERS``."""
    if n_clusters > MAX_RADIUS_CLUSTERS:
        raise InputError(
            f"max_radius_m={max_radius_m:g} needs more than {MAX_RADIUS_CLUSTERS:,} clusters "
            f"({n_clusters:,} after {n_rounds} split round{'s' if n_rounds != 1 else ''} and "
            "not done): use a larger radius."
        )


def check_choice(name, value, choices, extra=None):
    """Raise ``InputError`` unless ``value`` is one of ``choices`` (strings).

    ``extra`` names an accepted non-string alternative for the message, e.g.
    ``"an array of centres"``.
    """
    if isinstance(value, str) and value in choices:
        return value
    listed = [repr(c) for c in choices] + ([extra] if extra else [])
    raise InputError(f"{name}={describe_value(value)} should be {_join(listed)}.")


def check_int(name, value, minimum=None, maximum=None):
    """Return ``value`` as int, raising unless an integer (bools excluded) in range."""
    constraint = _Interval("int", minimum, maximum)
    if constraint.ok(value):
        return int(value)
    error = InputError if constraint.type_ok(value) else DataTypeError
    raise error(f"{name}={describe_value(value)} should be {constraint.texts[0]}.")


def check_positive_float(name, value, allow_zero=True):
    """Return ``value`` as float, raising unless finite and >= 0 (> 0)."""
    constraint = _Interval("real", 0, low_open=not allow_zero)
    if constraint.ok(value):
        return float(value)
    error = InputError if constraint.type_ok(value) else DataTypeError
    raise error(f"{name}={describe_value(value)} should be {constraint.texts[0]}.")


# -- arrays -----------------------------------------------------------------------------------


_NOT_REAL = (bool, np.bool_, complex, np.complexfloating, str, bytes)


def as_real_array(value, name, what="numbers"):
    """``value`` as a float64 array, refusing booleans, complex numbers and text.

    ``numpy`` would turn ``True`` into 1.0 and drop imaginary parts with a warning;
    here either raises ``DataTypeError`` naming ``name``.
    """
    # Python sequences are looked at element by element: np.asarray would quietly make
    # [True, 2] an integer array and [("-77.0", "38.9")] a text array that parses
    array = np.asarray(value, dtype=object) if isinstance(value, (list, tuple)) else (
        np.asarray(value))
    nouns = {"b": "booleans", "c": "complex numbers", "U": "text", "S": "text", "V": "text"}
    kind = array.dtype.kind
    if kind in nouns:
        raise DataTypeError(f"{name} holds {nouns[kind]}; it should hold real {what}.")
    if kind == "O" and array.size:
        odd = next((v for v in array.ravel() if isinstance(v, _NOT_REAL)), None)
        if odd is not None:
            noun = ("booleans" if isinstance(odd, (bool, np.bool_)) else "text"
                    if isinstance(odd, (str, bytes)) else "complex numbers")
            raise DataTypeError(f"{name} holds {noun} (such as {odd!r}); it should hold real "
                                f"{what}.")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        reason = re.sub(r"np\.str_\((.*)\)", r"\1", str(exc))
        raise DataTypeError(f"{name} should hold {what}: {reason}.") from None


def check_finite_rows(array, name="X"):
    """Raise ``InputError`` naming the first row of ``array`` with NaN or infinity."""
    finite = np.isfinite(array)
    if finite.all():
        return
    if finite.ndim > 1:
        finite = finite.all(axis=tuple(range(1, finite.ndim)))
    row = int(np.flatnonzero(~finite)[0])
    kind = "NaN" if np.isnan(array[row]).any() else "infinity"
    n_bad = int((~finite).sum())
    raise InputError(
        f"{name} contains NaN or infinity: row {row} is {kind} "
        f"({n_bad} bad row{'s' if n_bad != 1 else ''} in all); values must be finite."
    )


def check_magnitudes(X, name="X", others=()):
    """Raise ``InputError`` when squared distances or sums over ``X`` (n, d) overflow.

    k-means sums weighted squared distances (up to ``n * span**2`` with weights scaled
    to at most 2) and weighted coordinates (up to ``n * max|x|``); when either is not
    representable in float64 the results would be infinite. ``others`` are further
    (m, d) arrays (e.g. centres) that distances are taken to.
    """
    if X.size == 0:
        return
    # column by column: numpy reduces a C-ordered (n, d) array along axis 0 about ten
    # times slower than each strided column on its own
    lo = np.array([X[:, f].min() for f in range(X.shape[1])])
    hi = np.array([X[:, f].max() for f in range(X.shape[1])])
    for other in others:
        lo, hi = np.minimum(lo, other.min(axis=0)), np.maximum(hi, other.max(axis=0))
    n = 2.0 * max(X.shape[0], 1)
    with np.errstate(over="ignore", invalid="ignore"):
        span = hi - lo
        total = n * float((span**2).sum())
        magnitude = n * float(np.maximum(np.abs(lo), np.abs(hi)).max())
    if not (math.isfinite(total) and math.isfinite(magnitude)):
        f = int(np.argmax(np.where(np.isfinite(span), np.abs(span), np.inf)))
        raise InputError(
            f"{name} is too large for float64: feature {f} spans [{lo[f]:.3g}, {hi[f]:.3g}], "
            "so squared distances overflow; rescale the data (e.g. divide by a power of 10)."
        )


def power_of_two_scale(weights):
    """The power of two ``s`` with ``max(weights) / s`` in [1, 2).

    Dividing weights by it is exact (only the exponent changes), so results are the
    same bit for bit while sums of weighted squares cannot overflow.
    """
    top = float(np.max(weights)) if np.size(weights) else 1.0
    if not top > 0 or not math.isfinite(top):
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1] - 1)


#: The refusal of weights that are all zero (also raised for a whole dask input).
ALL_ZERO_WEIGHTS = "sample_weight is zero for every sample; at least one must be > 0."


def check_sample_weight(sample_weight, n_samples, *, all_zero=False):
    """Return weights as a new float64 array of shape (n_samples,).

    ``None`` gives a read-only view of a single 1.0 (no memory per sample). Raises
    ``InputError`` for a wrong shape, non-numeric (booleans and complex numbers
    included), NaN or infinite, negative or all-zero weights (allowed with ``all_zero``:
    a part of a larger input, whose total is the caller's check), naming the first bad
    row.
    """
    if sample_weight is None:
        return np.broadcast_to(np.float64(1.0), (n_samples,))
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, (bool, np.bool_)):
        weights = np.full(n_samples, float(sample_weight))
    else:
        weights = np.array(as_real_array(sample_weight, "sample_weight"), dtype=np.float64)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise InputError(
            f"sample_weight has shape {weights.shape}; expected ({n_samples},), "
            "one weight per sample."
        )
    check_finite_rows(weights, "sample_weight")
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        row = int(negative[0])
        raise InputError(
            f"sample_weight must be >= 0: row {row} is {float(weights[row])!r} "
            f"({negative.size} negative weight{'s' if negative.size != 1 else ''})."
        )
    if n_samples and not all_zero and not (weights > 0).any():
        raise InputError(ALL_ZERO_WEIGHTS)
    return weights
