"""Writers of tables with a geometry: GeoJSON (RFC 7946), GeoPackage, GeoParquet, CSV, text.

Every writer prepares its whole output in memory first (so a bad column fails before any
file exists), then writes it through an ``OutputSet``: its own, or the caller's when
``outputs=`` is given, so that several outputs appear together or not at all. A lazy
(dask) table (``is_lazy``) goes to ``_dask_writers`` (through ``_output``), one partition
at a time and writes each with the per-chunk encoders here (``feature_strings``,
``gpkg_frame``, ``csv_table``; ``parquet_table`` from ``_geoparquet``) into the one temporary
file (a bad value then fails mid-way, and the temporary file is removed).

What each format holds:

- **GeoJSON** (``.geojson``, ``.json``): one FeatureCollection in lon/lat WGS84 (no ``crs``
  member), coordinates rounded to 1e-7° (about 1 cm), polygons wound as RFC 7946 says
  (exterior rings counter-clockwise, holes clockwise), ``"geometry": null`` for missing,
  empty or non-finite geometries. Each feature names its layer in the foreign member
  ``"geokmeans:layer"`` (never in ``properties``, which hold only the table's columns);
  run facts go in the collection's ``"geokmeans"`` member. Property values are exact:
  floats in the shortest text that reads back as the same float64, integers digit for
  digit, times ISO 8601 with every digit (``_tables.json_records``). Binary cells are
  base64 text.
- **GeoPackage** (``.gpkg``): one layer per table, all in one CRS (``crs=``, by default
  the first layer's); binary cells stay binary; intervals, periods, durations, times of
  day and decimals are text. A value it cannot hold exactly (integers beyond int64,
  times finer than a millisecond, text with a NUL) is an ``InputError`` naming the column.
- **GeoParquet** (``.parquet``, ``.geoparquet``): one table, EPSG:4326; run facts under
  the ``geokmeans`` key of the schema metadata; other geometry columns kept as geometry.
- **CSV** (``.csv``): one table (RFC 4180, CRLF line ends); point coordinates as two
  columns, other geometries as a ``wkt`` column. Text cells that a spreadsheet would run
  as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, numbers
  excepted) get a leading ``'`` unless ``raw=True``. Binary cells are base64 text.

A geometry column besides the table's own is WKT with 17 significant digits (every
coordinate reads back as itself) in GeoJSON and CSV (in lon/lat when it has a CRS) and
in GeoPackage (in the layer's CRS).
A named index is written as column(s) (unless a column already has that name).
"""

import contextlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ._atomic import _as_path, atomic_path
from ._geoparquet import dictionary_columns, parquet_table
from ._point_table import PointTable, as_geodataframe
from ._tables import (
    WKT_DIGITS,
    check_gpkg_values,
    defuse_formulas,
    json_default,
    json_records,
    lonlat,
    portable,
    user_table,
)
from .errors import InputError

__all__ = [
    "OUTPUT_FORMATS",
    "PARQUET_DATASET",
    "SINGLE_TABLE_FORMATS",
    "check_csv_columns",
    "defuse_formulas",
    "dictionary_columns",
    "output_format",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_parquet",
    "write_text",
]

OUTPUT_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
                  ".parquet": "GeoParquet", ".geoparquet": "GeoParquet", ".csv": "CSV"}
PARQUET_DATASET = "GeoParquet dataset"  # a directory, a file per partition of a dask table
SINGLE_TABLE_FORMATS = ("GeoParquet", "CSV", PARQUET_DATASET)

_NOT_WRITTEN = {
    ".shp": "Shapefiles are not written (10-character column names, several files); use .gpkg",
    ".zip": "zipped Shapefiles are not written; use .gpkg",
}
_PRECISION_DECIMALS = 7  # 1e-7 degrees, about 1 cm
_RANGE_SLACK = 1e-6      # degrees of round-off beyond ±180/±90 clipped back into range


def output_format(path):
    """The format name of an output path from its extension (any case).

    Returns ``"GeoJSON"``, ``"GeoPackage"``, ``"GeoParquet"`` or ``"CSV"``; an unknown
    extension is an ``InputError`` listing the known ones.

    Examples
    --------
    >>> output_format("out/Points.GeoJSON")
    'GeoJSON'
    """
    suffix = _as_path(path, None).suffix.lower()
    if suffix in OUTPUT_FORMATS:
        return OUTPUT_FORMATS[suffix]
    why = f" ({_NOT_WRITTEN[suffix]})" if suffix in _NOT_WRITTEN else ""
    raise InputError(f"output '{path}' has an unknown extension {suffix!r}{why}; use "
                     f"{', '.join(OUTPUT_FORMATS)}.")


@contextlib.contextmanager
def _writing(path, protected, outputs, label=None, directory=False):
    """A temporary path for ``path``: reserved in ``outputs``, or in a set of its own."""
    if outputs is None:
        with atomic_path(path, protected, directory=directory) as tmp:
            yield tmp
    else:
        yield outputs.reserve(path, label=label, directory=directory, protected=protected)


def is_lazy(frame):
    """True for a lazy (dask) table, written partition by partition by ``_dask_writers``."""
    return hasattr(frame, "to_delayed")


# -- GeoJSON --------------------------------------------------------------------------------


def _orient(geoms):
    """Polygons wound as RFC 7946 says: exterior rings counter-clockwise, holes clockwise."""
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.orient_polygons(geoms, exterior_cw=False)
    from shapely.geometry.polygon import orient

    def one(geom):
        if geom.geom_type == "Polygon":
            return orient(geom, 1.0)
        if geom.geom_type == "MultiPolygon":
            return shapely.MultiPolygon([orient(p, 1.0) for p in geom.geoms])
        if geom.geom_type == "GeometryCollection":
            return shapely.GeometryCollection([one(g) for g in geom.geoms])
        return geom

    return np.array([one(g) for g in geoms], dtype=object)


def _geojson_geometries(geoms, layer, row_offset=0):
    """GeoJSON text (n,) of lon/lat geometries: rounded to 1e-7°, polygons oriented,
    ``null`` for missing, empty or non-finite ones. Coordinates beyond the lon/lat range by
    more than round-off are an error (naming the row, plus ``row_offset``)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), "null", dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return out
    rows = np.flatnonzero(present)
    shapes = shapely.force_2d(geoms[present])
    coords, index = shapely.get_coordinates(shapes, return_index=True)
    finite = np.isfinite(coords).all(axis=1)
    broken = np.zeros(len(shapes), dtype=bool)
    np.logical_or.at(broken, index, ~finite)
    limit = np.array([180.0, 90.0])
    outside = finite & (np.abs(coords) > limit + _RANGE_SLACK).any(axis=1)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        lon, lat = coords[first]
        raise InputError(f"cannot write the {layer} as GeoJSON: row "
                         f"{rows[index[first]] + row_offset} has "
                         f"lon={lon}, lat={lat}, outside longitude [-180, 180] and latitude "
                         "[-90, 90].")

    def snap(xy):
        return np.clip(np.round(xy, _PRECISION_DECIMALS), -limit, limit)

    shapes = _orient(shapely.transform(shapes, snap))
    text = shapely.to_geojson(shapes).astype(object)
    text[broken] = "null"
    out[present] = text
    return out


def feature_strings(frame, layer, row_offset=0):
    """The GeoJSON Feature texts of ``frame``'s rows, tagged with ``layer``; ``frame`` may
    be a chunk of a larger table whose first row is row ``row_offset``."""
    frame = lonlat(as_geodataframe(frame))
    geometries = _geojson_geometries(frame.geometry.to_numpy(), layer, row_offset)
    records = json_records(portable(user_table(frame), "json", crs="EPSG:4326"))
    head = '{"type":"Feature","geokmeans:layer":' + json.dumps(layer) + ',"properties":'
    return [f'{head}{p},"geometry":{g}}}' for p, g in zip(records, geometries, strict=True)]


def collection_head(metadata):
    """The text opening a FeatureCollection (with the ``"geokmeans"`` member) up to its
    first feature; ``COLLECTION_TAIL`` closes it."""
    head = '{"type":"FeatureCollection",'
    if metadata:
        member = json.dumps(metadata, allow_nan=False, separators=(",", ":"),
                            default=json_default)
        head += f'"geokmeans":{member},'
    return head + '"features":['


COLLECTION_TAIL = "]}\n"


def write_features(handle, features, first):
    """Write ready ``features`` texts to an open file, after others unless ``first``;
    returns whether the next feature is still the first."""
    step = 10_000
    for start in range(0, len(features), step):
        handle.write(("" if first else ",") + ",".join(features[start:start + step]))
        first = False
    return first


def write_geojson(path, layers, metadata=None, protected=(), *, outputs=None, label=None,
                  coordinate_columns=None):
    """Write ``layers`` ({name: GeoDataFrame}) as one RFC 7946 FeatureCollection.

    Parameters
    ----------
    path : str or path
        The output file.
    layers : dict of str to GeoDataFrame
        Tables in any CRS (converted to lon/lat WGS84); each feature names its table in
        the foreign member ``"geokmeans:layer"``, outside ``properties``.
    metadata : dict, optional
        Written as the collection's ``"geokmeans"`` member.
    protected : iterable of path
        Files never to be written (the input).
    outputs : OutputSet, optional
        Write as part of this set (renamed when the set commits).
    label : str, optional
        Name of this output in messages.
    coordinate_columns : (str, str), optional
        The ``(lon, lat)`` columns of a lazy (dask) table without a geometry.

    Lazy (dask) tables are written by ``_output``, which hands them to ``_dask_writers``.
    """
    features = []
    for name, frame in layers.items():
        features.extend(feature_strings(frame, name))
    with _writing(path, protected, outputs, label) as tmp, \
            open(tmp, "w", encoding="utf-8") as handle:
        handle.write(collection_head(metadata))
        write_features(handle, features, True)
        handle.write(COLLECTION_TAIL)


# -- GeoPackage -----------------------------------------------------------------------------


def _free_name(preferred, taken):
    taken = {str(t).lower() for t in taken}
    name, i = preferred, 0
    while name.lower() in taken:
        i += 1
        name = f"geokmeans_{preferred}" if i == 1 else f"geokmeans_{preferred}_{i}"
    return name


def gpkg_frame(frame, crs, layer, row_offset=0):
    """(GeoDataFrame ready for GDAL, layer options) of one GeoPackage layer, or of a chunk
    of one whose first row is row ``row_offset``."""
    frame = as_geodataframe(frame)
    if frame.crs is not None and not frame.crs.equals(crs):
        frame = frame.to_crs(crs)
    table = portable(user_table(frame), "gpkg", crs=crs)
    check_gpkg_values(table, layer, row_offset)
    lower = {}
    for name in table.columns:
        if name.lower() in lower:
            raise InputError(f"columns {lower[name.lower()]!r} and {name!r} of the {layer} "
                             "differ only in case, which a GeoPackage cannot hold; rename one.")
        lower[name.lower()] = name
    options = {"FID": _free_name("fid", table.columns),
               "GEOMETRY_NAME": _free_name("geom", table.columns)}
    out = table.copy()
    geometry = _free_name("geometry", table.columns)
    out[geometry] = frame.geometry.to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=crs), options


def gpkg_metadata(metadata):
    """Run facts as GeoPackage layer metadata (text values), or None."""
    meta = {str(k): v if isinstance(v, str) else json.dumps(v, default=json_default)
            for k, v in (metadata or {}).items()}
    return meta or None


def gpkg_crs(layers, crs=None):
    """The one CRS of every layer: ``crs``, else the first layer's that has one."""
    if crs is not None:
        return crs
    return next((f.crs for f in layers.values() if getattr(f, "crs", None) is not None),
                "EPSG:4326")


def gpkg_write(tmp, path, name, prepared, meta, append, geometry_type=None):
    """Write (or append) a ``gpkg_frame`` to layer ``name`` of the GeoPackage at ``tmp``
    (of ``geometry_type``: a Multi type promotes single rows); a GDAL refusal is an
    ``InputError`` naming the layer and ``path``."""
    import pyogrio

    frame, options = prepared
    extra = {} if geometry_type is None else {
        "geometry_type": geometry_type, "promote_to_multi": geometry_type.startswith("Multi")}
    try:
        pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=append,
                                layer_metadata=meta, use_arrow=True, layer_options=options,
                                **extra)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
            NotImplementedError, ValueError, TypeError, OverflowError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise InputError(f"cannot write the {name} layer of '{path}': {first}") from None


def write_gpkg(path, layers, metadata=None, protected=(), *, crs=None, outputs=None, label=None,
               coordinate_columns=None):
    """Write each of ``layers`` ({name: GeoDataFrame}) as a layer of one GeoPackage.

    Every layer is written in one CRS: ``crs``, by default that of the first layer that
    has one (EPSG:4326 when none has). ``metadata`` goes in each layer's metadata. A
    column named ``fid`` or ``geom`` is kept as an ordinary column (the table's own key
    and geometry column take other names). A lazy (dask) table is appended partition by
    partition (``_dask_writers``; ``coordinate_columns``: its ``(lon, lat)`` columns when
    it has no geometry). Lazy (dask) tables are written by ``_output``.
    """
    layers = dict(layers)
    crs = gpkg_crs(layers, crs)
    meta = gpkg_metadata(metadata)
    prepared = {name: gpkg_frame(frame, crs, name) for name, frame in layers.items()}
    with _writing(path, protected, outputs, label) as tmp:
        for i, (name, frame) in enumerate(prepared.items()):
            gpkg_write(tmp, path, name, frame, meta, append=i > 0)


# -- GeoParquet -----------------------------------------------------------------------------


def _one_table(frame):
    if isinstance(frame, dict):
        if len(frame) != 1:
            raise InputError(f"a Parquet file holds one table; got {len(frame)} "
                             f"({', '.join(frame)}).")
        (frame,) = frame.values()
    return frame


def write_parquet(path, frame, metadata=None, protected=(), *, outputs=None, label=None,
                  coordinate_columns=None):
    """Write one table to GeoParquet (EPSG:4326).

    ``frame`` is a GeoDataFrame or a ``PointTable`` (or a dict holding exactly one);
    ``metadata`` is stored as JSON under the ``geokmeans`` key of the schema metadata.
    Points read from the ``coordinate_columns`` (``(lon, lat)``, or a ``PointTable``) are
    written in GeoArrow ``point`` encoding (see ``parquet_table``), other geometries as
    WKB. Lazy (dask) tables are written by ``_output`` (one file, or a partitioned
    dataset).
    """
    import pyarrow.parquet as pq

    frame = _one_table(frame)
    arrow = parquet_table(frame, metadata, geoarrow=coordinate_columns is not None
                          or isinstance(frame, PointTable))
    with _writing(path, protected, outputs, label) as tmp:
        pq.write_table(arrow, tmp, use_dictionary=dictionary_columns(arrow.schema))


# -- CSV and text ---------------------------------------------------------------------------


def check_csv_columns(columns, coordinate_columns=None):
    """Refuse a CSV whose point coordinates would be added under a name ``columns`` has.

    ``coordinate_columns`` are the ``(lon, lat)`` columns the coordinates were read from
    (nothing is added when ``columns`` holds both), or None when they come from a
    geometry and are added as ``lon``/``lat``.
    """
    columns = [str(c) for c in columns]
    if coordinate_columns is not None and all(c in columns for c in coordinate_columns):
        return
    for name in coordinate_columns or ("lon", "lat"):
        if name in columns:
            raise InputError(
                f"cannot write the coordinates as CSV column {name!r}: the table already has "
                f"a column {name!r} that is not its coordinates (they come from its geometry). "
                "Use that column as the coordinates (lat=/lon=, --lat/--lon on the command "
                "line), rename it, or write .gpkg, .parquet or .geojson."
            )


def _csv_table(frame, coordinate_columns, wkt=False):
    """``frame`` as a plain table: coordinates as columns (point geometry) or WKT (any
    other geometry, or ``wkt``: a chunk of a table that has others)."""
    table = user_table(frame)
    if coordinate_columns is not None and all(c in table.columns for c in coordinate_columns):
        return table  # the input's own coordinate columns are already there
    lon_name, lat_name = coordinate_columns or ("lon", "lat")
    geoms = lonlat(as_geodataframe(frame)).geometry
    missing = (geoms.isna() | geoms.is_empty).to_numpy()
    if not wkt and (geoms.geom_type.to_numpy()[~missing] == "Point").all():
        check_csv_columns(table.columns, coordinate_columns)
        lon = np.full(len(table), np.nan)
        lat = np.full(len(table), np.nan)
        lon[~missing] = geoms[~missing].x.to_numpy()
        lat[~missing] = geoms[~missing].y.to_numpy()
        table[lon_name] = lon
        table[lat_name] = lat
        return table
    if "wkt" in table.columns:
        raise InputError("cannot write the geometry as CSV column 'wkt': the table already has a "
                         "column 'wkt'; rename it, or write .gpkg, .parquet or .geojson.")
    table["wkt"] = shapely.to_wkt(geoms.to_numpy(), rounding_precision=WKT_DIGITS)
    return table


def csv_table(frame, coordinate_columns=None, raw=False, wkt=False):
    """The cells of the CSV of ``frame`` (a table or a chunk of one), ready for
    ``DataFrame.to_csv``: see ``write_csv``."""
    table = portable(_csv_table(frame, coordinate_columns, wkt), "text", crs="EPSG:4326")
    return table if raw else defuse_formulas(table)


def write_csv_rows(handle, table, header):
    """Write ``csv_table`` rows (with the header line when ``header``) to an open text
    file (``newline=""``): RFC 4180, CRLF line ends, so that a cell holding a carriage
    return is quoted too."""
    table.to_csv(handle, index=False, header=header, lineterminator="\r\n")


def write_csv(path, frame, protected=(), *, coordinate_columns=None, raw=False, outputs=None,
              label=None):
    """Write a table to CSV: the geometry becomes coordinate columns (or a ``wkt`` column).

    Parameters
    ----------
    coordinate_columns : (str, str), optional
        ``(lon, lat)`` column names: when ``frame`` has both, they are the coordinates
        and are written as they are; otherwise the point coordinates (EPSG:4326) are
        added under these names (default ``("lon", "lat")``). Adding a name the table
        already has is an ``InputError``.
    raw : bool, default False
        ``False``: text that a spreadsheet would run as a formula gets a leading ``'``
        (see ``defuse_formulas``). ``True``: every cell as it is.

    Lazy (dask) tables are written by ``_output``.
    """
    table = csv_table(frame, coordinate_columns, raw)
    with _writing(path, protected, outputs, label) as tmp, \
            open(tmp, "w", encoding="utf-8", newline="") as handle:
        write_csv_rows(handle, table, header=True)


def write_text(path, text, protected=(), *, outputs=None, label=None):
    """Write ``text`` (UTF-8) to ``path`` atomically (or as part of ``outputs``)."""
    with _writing(path, protected, outputs, label) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
