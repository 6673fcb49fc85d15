"""Checks applied once at the public edge; private code assumes they passed."""

import numbers

import numpy as np

from .errors import InputError

__all__ = [
    "check_choice",
    "check_finite_rows",
    "check_int",
    "check_positive_float",
    "check_sample_weight",
]


def _describe(value):
    return repr(value) if isinstance(value, str) else str(value)


def check_choice(name, value, choices, extra=None):
    """Raise ``InputError`` unless ``value`` is one of ``choices`` (strings).

    ``extra`` names an accepted non-string alternative for the message, e.g.
    ``"an array of centres"``.
    """
    if isinstance(value, str) and value in choices:
        return value
    listed = [repr(c) for c in choices] + ([extra] if extra else [])
    options = ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else listed[0]
    raise InputError(f"{name}={_describe(value)} is not valid; choose one of {options}.")


def check_int(name, value, minimum=None, maximum=None):
    """Return ``value`` as int, raising ``InputError`` if not an integer in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name}={_describe(value)} should be an integer.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name}={value} should be >= {minimum}.")
    if maximum is not None and value > maximum:
        raise InputError(f"{name}={value} should be <= {maximum}.")
    return value


def check_positive_float(name, value, allow_zero=True):
    """Return ``value`` as float, raising ``InputError`` unless finite and >= 0 (> 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name}={_describe(value)} should be a number.")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name}={value} should be a finite number {bound}.")
    return value


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


def check_sample_weight(sample_weight, n_samples):
    """Return weights as a new float64 array of shape (n_samples,).

    ``None`` gives a read-only view of a single 1.0 (no memory per sample). Raises
    ``InputError`` for a wrong shape, non-numeric, NaN or infinite, negative or all-zero
    weights, naming the first bad row.
    """
    if sample_weight is None:
        return np.broadcast_to(np.float64(1.0), (n_samples,))
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        weights = np.full(n_samples, float(sample_weight))
    else:
        try:
            weights = np.array(sample_weight, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"sample_weight should be numeric: {exc}.") from None
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
    if n_samples and not (weights > 0).any():
        raise InputError("sample_weight is zero for every sample; at least one must be > 0.")
    return weights
