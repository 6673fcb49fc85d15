"""Run metadata: every parameter that shaped a result, as JSON, in every output.

``ClusterResult.metadata`` is written into every file a result writes (the GeoJSON
collection's ``"geokmeans"`` member, each GeoPackage layer's metadata, the Parquet schema
metadata under ``geokmeans``). Besides the run's facts (``crs_used``, ``n_clusters``,
``n_points``, ``inertia_m2``, ``n_iter``, ``geokmeans_version``) it holds
``"parameters"``: the ``cluster()`` keyword arguments of the run, so that

>>> import geokmeans as gk
>>> first = gk.cluster("data/dc_places.csv", 4, weight="population", random_state=0)
>>> again = gk.cluster("data/dc_places.csv", **cluster_options(first.metadata))
>>> bool((again.model.labels_ == first.model.labels_).all())
True

and ``"reproducible"``: False when something that shaped the result is not recorded
(``"notes"`` says what: a ``random_state`` that is None, a numpy Generator or
RandomState; weights or a ``relabel_like`` reference given as data rather than by name).
``read_metadata(path)`` reads it back from any output file.

Values that JSON cannot hold are written as JSON: arrays (explicit initial centres, size
limits per cluster, ``fixed_centers``) as lists, infinite limits as ``"inf"``, a
``pyproj.CRS`` as its authority code (``"EPSG:32618"``) or WKT, a box as
``[west, south, east, north]``, a ``{group: k}`` mapping whose keys are not all text as a
list of ``[group, k]`` pairs (JSON keys are text; the pairs keep numbers and booleans,
and ``cluster_options`` makes the mapping again).
"""

import json
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._validation import describe_value
from .errors import DataTypeError, InputError

__all__ = ["cluster_options", "model_parameters", "read_metadata", "reference_text",
           "run_metadata", "weights_parameter"]

#: ``GeoKMeans`` parameters that do not shape the result (display only).
NOT_RECORDED = ("verbose", "progress")

#: Text standing for a non-finite number in a list of size limits.
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf}


def _number(value):
    value = float(value)
    if math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf" if value < 0 else None


def _json(value):
    """``value`` as JSON-ready data: arrays and tuples as lists, numpy scalars as Python
    numbers, non-finite floats as ``"inf"``/``"-inf"`` (NaN as None)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _number(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if hasattr(value, "west_lon_deg"):  # model.LonLatBox
        return [value.west_lon_deg, value.south_lat_deg, value.east_lon_deg,
                value.north_lat_deg]
    if isinstance(value, (list, tuple, np.ndarray)) or hasattr(value, "__array__"):
        return [_json(v) for v in np.asarray(value, dtype=object).tolist()]
    return str(value)


def _crs(value):
    """The requested CRS as JSON: names and codes as given, a ``pyproj.CRS`` as its
    authority code or WKT, a projection object by its name."""
    if value is None or isinstance(value, (str, numbers.Integral, dict, list, tuple)):
        return _json(value)
    if hasattr(value, "to_authority"):  # pyproj.CRS
        authority = value.to_authority()
        return f"{authority[0]}:{authority[1]}" if authority else value.to_wkt()
    if hasattr(value, "sphere_radius_m"):  # projection.Projection
        return value.name
    return str(value)


def _random_state(value, notes):
    if value is None:
        notes.append("random_state=None: the seeds came from the operating system's "
                     "entropy; the run cannot be reproduced (give an integer seed).")
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    kind = type(value).__name__
    notes.append(f"random_state was a numpy {kind}, whose state is not recorded; the run "
                 "cannot be reproduced (give an integer seed).")
    return f"a numpy {kind} (not recorded)"


def model_parameters(model, notes):
    """The parameters of a ``GeoKMeans`` that shape its result, as JSON-ready data;
    what keeps the run from being reproduced is appended to ``notes``."""
    params = {name: value for name, value in model.get_params().items()
              if name not in NOT_RECORDED}
    out = {name: _json(value) for name, value in params.items()}
    out["crs"] = _crs(params["crs"])
    # explicit initial centres draw nothing: then the seed does not matter
    seeded = isinstance(params["init"], str)
    out["random_state"] = _random_state(params["random_state"], notes if seeded else [])
    ks = params.get("n_clusters")
    if isinstance(ks, Mapping) and not all(isinstance(group, str) for group in ks):
        # JSON keys are text: [value, k] pairs keep numbers and booleans as they are
        out["n_clusters"] = [[_json(group), _json(k)] for group, k in ks.items()]
        if not all(_json_keeps(group) for group in ks):
            notes.append("n_clusters maps group values that JSON cannot hold as they are "
                         "(dates, ...), stored as text: turn them back into the group "
                         "column's values to reuse it.")
    return out


def _json_keeps(value):
    """Whether JSON holds ``value`` as it is (text, a boolean, an integer, a finite
    number)."""
    if isinstance(value, (str, bool, np.bool_)):
        return True
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and math.isfinite(value)


def weights_parameter(weights, notes):
    """The ``weight`` argument of a run: a column name as it is; weights given as data
    are not recorded (noted)."""
    if weights is None or isinstance(weights, str) or (
            isinstance(weights, numbers.Integral) and not isinstance(weights, bool)):
        return _json(weights)
    kind = "a Series" if hasattr(weights, "index") else "an array"
    notes.append(f"the weights were {kind}, not a column: they are not recorded.")
    return f"{kind} (not recorded)"


def reference_text(reference, notes):
    """A ``relabel_like`` reference as recorded: a file's path; data are noted."""
    if isinstance(reference, (str, os.PathLike)):
        return os.fspath(reference)
    notes.append("the cluster ids were matched to a reference given as data "
                 f"({type(reference).__name__}), not a file: it is not recorded.")
    return f"a {type(reference).__name__} (not recorded)"


#: How a ``cluster()`` option beyond the model's is recorded (others: as JSON).
_RECORDERS = {"weight": weights_parameter, "relabel_like": reference_text}


def run_metadata(facts, model, run_parameters):
    """The metadata of a result: its ``facts``, then ``parameters`` (the model's, and
    ``run_parameters``: the ``cluster()`` options beyond the model's, as given; a dict
    the caller may extend, e.g. with ``by``), ``reproducible`` and ``notes``."""
    notes = []
    parameters = model_parameters(model, notes)
    for name, value in run_parameters.items():
        record = _RECORDERS.get(name)
        parameters[name] = _json(value) if record is None else record(value, notes)
    meta = {**facts, "parameters": parameters, "reproducible": not notes}
    if notes:
        meta["notes"] = notes
    return meta


# -- reading back ---------------------------------------------------------------------


def read_metadata(path, layer=None):
    """The metadata a geokmeans output holds (``{}`` when it holds none).

    ``path``: a GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``; its ``layer``,
    by default the first), GeoParquet file (``.parquet``/``.geoparquet``) or
    partitioned GeoParquet directory (its first part). GeoPackage values are text:
    JSON ones are decoded.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"'{path}' does not exist.")
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        if not parts:
            raise InputError(f"'{path}' is a directory without Parquet files.")
        path = parts[0]
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        with open(path, encoding="utf-8") as handle:
            member = json.load(handle).get("geokmeans")
        return member if isinstance(member, dict) else {}
    if suffix == ".gpkg":
        import pyogrio

        if layer is None:
            layer = str(pyogrio.list_layers(path)[0, 0])
        meta = pyogrio.read_info(path, layer=layer).get("layer_metadata") or {}
        return {key: _decoded(value) for key, value in meta.items()}
    if suffix in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        member = (pq.read_schema(path).metadata or {}).get(b"geokmeans")
        return json.loads(member) if member else {}
    raise InputError(f"'{path}': no metadata is written in this format (.csv); use "
                     ".geojson, .gpkg or .parquet.")


def _decoded(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def cluster_options(metadata):
    """The ``cluster()`` keyword arguments that redo the run ``metadata`` records (as
    ``result.metadata`` or ``read_metadata`` give it): ``gk.cluster(data,
    **cluster_options(metadata))``.

    Raises ``InputError`` when the metadata hold no parameters or the run cannot be
    reproduced from them (their ``notes`` say why).
    """
    if not isinstance(metadata, dict):
        raise DataTypeError(f"metadata={describe_value(metadata)} should be a dict, as "
                            "result.metadata or read_metadata(path) give it.")
    parameters = metadata.get("parameters")
    if isinstance(parameters, str):
        parameters = _decoded(parameters)
    if not isinstance(parameters, dict):
        raise InputError("the metadata hold no 'parameters': not written by geokmeans, or "
                         "by a version that did not record them.")
    if metadata.get("reproducible") is False:
        notes = metadata.get("notes") or ["not recorded"]
        raise InputError(f"the run cannot be reproduced from its metadata: {' '.join(notes)}")
    options = dict(parameters)
    ks = options.get("n_clusters")
    if isinstance(ks, list) and all(isinstance(p, list) and len(p) == 2 for p in ks):
        options["n_clusters"] = {group: k for group, k in ks}  # {group: k}, keys as written
    for name in ("size_min", "size_max"):
        value = options.get(name)
        if isinstance(value, list):
            options[name] = [_NON_FINITE.get(v, v) if isinstance(v, str) else v
                             for v in value]
    return options
