"""Estimator parameters the scikit-learn way, without importing scikit-learn.

``KMeans`` and ``GeoKMeans`` follow scikit-learn's estimator API: the parameters are the
arguments of ``__init__``, stored unchanged as attributes; ``get_params``/``set_params``
read and write them, ``sklearn.base.clone`` copies an estimator through them, and
``repr`` shows those that differ from their defaults. This base gives that API while
scikit-learn itself (1-2 s to import, most of it SciPy's statistics) is imported only when
one of its own tools asks: the tags of its estimator checks, ``NotFittedError``, input
validation of the array estimator. ``import geokmeans`` and a ``cluster()`` run stay
free of it.
"""

import inspect
from collections import defaultdict

__all__ = ["Estimator", "check_fitted"]

#: characters of a repr before its middle is elided (scikit-learn's ``N_CHAR_MAX``)
_REPR_MAX = 700


def _same(value, default):
    """True when ``value`` is the default (a parameter not to show in the repr)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return repr(value) == repr(default)
    except Exception:  # noqa: BLE001 - a value without a usable repr counts as changed
        return False


class Estimator:
    """Parameters read from ``__init__``'s signature (scikit-learn's conventions)."""

    #: what the estimator is, for scikit-learn's ``is_clusterer`` and its checks
    _estimator_type = "clusterer"

    @classmethod
    def _get_param_names(cls):
        """The names of ``__init__``'s parameters, sorted (no ``*args`` allowed)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        params = [p for p in inspect.signature(init).parameters.values()
                  if p.name != "self" and p.kind != p.VAR_KEYWORD]
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__} should not take *{p.name}: estimator "
                                   "parameters are named arguments of __init__.")
        return sorted(p.name for p in params)

    def get_params(self, deep=True):
        """The estimator's parameters as a dict (``deep``: with those of nested
        estimators, as ``name__param``)."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set parameters (``name__param`` for a nested estimator's); returns self.

        An unknown name raises ``ValueError`` listing the valid ones.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = defaultdict(dict)
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. Valid parameters are: "
                    f"{sorted(self._get_param_names())!r}."
                )
            if delim:
                nested[name][sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self):
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        shown = [f"{name}={getattr(self, name)!r}" for name in self._get_param_names()
                 if not _same(getattr(self, name), defaults.get(name, inspect.Parameter.empty))]
        text = f"{type(self).__name__}({', '.join(shown)})"
        if len(text) > _REPR_MAX:
            half = _REPR_MAX // 2
            text = f"{text[:half]}...{text[-half:]}"
        return text

    def __sklearn_tags__(self):
        """scikit-learn's tags (imported here: only its own tools ask for them)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags() if hasattr(self, "transform") else None,
            input_tags=InputTags(),
        )


def check_fitted(estimator, attribute):
    """Raise scikit-learn's ``NotFittedError`` unless ``estimator`` has ``attribute``
    (scikit-learn is imported only to raise it)."""
    if not hasattr(estimator, attribute):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )
