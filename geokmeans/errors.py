"""Exceptions and warnings raised by geokmeans."""

import functools

__all__ = [
    "GeoKMeansError",
    "InputError",
    "CRSError",
    "DataTypeError",
    "OptionalDependencyError",
    "GroupedResultError",
    "GeoKMeansWarning",
    "ConvergenceWarning",  # noqa: F822 (made on first use, by __getattr__ below)
]


class GeoKMeansError(Exception):
    """Base class of every error raised by geokmeans."""


class InputError(GeoKMeansError, ValueError):
    """Input data or a parameter is invalid (bad value, shape, column or file)."""


class DataTypeError(InputError, TypeError):
    """Input data are of a type that cannot be used (e.g. non-numeric coordinates).

    Both a ``ValueError`` (as every ``InputError``) and a ``TypeError``.
    """


class CRSError(GeoKMeansError, ValueError):
    """A coordinate reference system cannot be used (unknown, or geographic where metres are
    needed)."""


class OptionalDependencyError(GeoKMeansError, ImportError):
    """An optional package a feature needs is not installed; the message gives the
    ``pip install`` command. Also an ``ImportError``."""


class GroupedResultError(GeoKMeansError, AttributeError):
    """A grouped result (``cluster(..., by=...)``) was asked for what only a single fit
    has (``result.model``): it has one model per group, in ``result.models``. Also an
    ``AttributeError``, so ``hasattr(result, "model")`` is False."""


class GeoKMeansWarning(UserWarning):
    """Base class of every warning issued by geokmeans."""


@functools.cache
def convergence_warning():
    """The class ``ConvergenceWarning``, made on first use: it subclasses scikit-learn's
    ``ConvergenceWarning`` (so filters written for either apply), and scikit-learn takes
    1-2 s to import, paid only when the warning is issued or the name is looked up."""
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    class ConvergenceWarning(GeoKMeansWarning, SklearnConvergenceWarning):
        """Fewer distinct clusters than requested were found, or a fit did not converge.

        Subclasses scikit-learn's ``ConvergenceWarning`` so filters written for either
        apply.
        """

    ConvergenceWarning.__module__ = __name__
    ConvergenceWarning.__qualname__ = "ConvergenceWarning"
    return ConvergenceWarning


def __getattr__(name):
    if name == "ConvergenceWarning":
        return convergence_warning()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def first_line(exc):
    """The first line of an exception's message (its type's name when it has none), for
    one-line errors that name a failing reader."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
