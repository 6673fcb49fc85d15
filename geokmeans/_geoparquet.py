"""GeoParquet's Arrow tables: a table, or a chunk of one, encoded as geopandas writes it
(WKB, or GeoArrow points straight from lon/lat arrays) with the run facts in its schema
metadata; and the columns worth Parquet's dictionary encoding."""

import json
from io import BytesIO

import geopandas as gpd
import numpy as np
import shapely

from ._point_table import GEOMETRY_NAME, PointTable, as_geodataframe
from ._tables import json_default, lonlat, portable, user_table, with_geometry
from .errors import InputError

__all__ = ["dictionary_columns", "parquet_table"]


def _arrow_table(frame, geoarrow=False):
    """The Arrow table geopandas writes for ``frame`` (``geoarrow``: with its geometry in
    GeoArrow encoding, when every geometry is a Point; else WKB); a column Arrow cannot
    hold is an ``InputError`` naming it."""
    import pyarrow as pa

    try:
        from geopandas.io.arrow import _geopandas_to_arrow
    except ImportError:  # pragma: no cover - private API moved: through a file in memory
        import pyarrow.parquet as pq

        def _geopandas_to_arrow(frame, index, geometry_encoding="WKB"):
            buffer = BytesIO()
            frame.to_parquet(buffer, index=index, geometry_encoding=geometry_encoding)
            return pq.read_table(buffer)
    geoms = frame.geometry.to_numpy()
    points = geoarrow and bool((shapely.get_type_id(geoms) == 0).all())  # no None either
    try:
        return _geopandas_to_arrow(frame, index=False,
                                   geometry_encoding="geoarrow" if points else "WKB")
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        for name in frame.columns:
            if name == frame.geometry.name:
                continue
            try:
                pa.array(frame[name], from_pandas=True)
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as column_exc:
                raise InputError(f"column {name!r} cannot be written to Parquet "
                                 f"({column_exc}); convert it, e.g. with .astype(str).") from None
        raise InputError(f"cannot write Parquet: {exc}") from None


def _point_arrow(points):
    """The Arrow table geopandas writes (``to_parquet(geometry_encoding="geoarrow")``) for
    a ``PointTable``'s GeoDataFrame, built from its lon/lat arrays without shapely points:
    the columns as ``pyarrow.Table.from_pandas`` gives them, the native GeoArrow point
    column (a struct of ``x``, ``y``) last, the ``geo`` metadata (encoding ``point``,
    bounding box, CRS) geopandas writes for those points."""
    import pyarrow as pa
    from geopandas.io.arrow import _geopandas_to_arrow

    table = portable(user_table(points), "parquet")
    if GEOMETRY_NAME in table.columns:  # as with_geometry refuses it
        raise InputError(f"the table has a column {GEOMETRY_NAME!r} besides its geometry column "
                         "of that name; rename it.")
    finite = np.isfinite(points.lon) & np.isfinite(points.lat)
    corners = ([np.min(points.lon, where=finite, initial=np.inf),
                np.max(points.lon, where=finite, initial=-np.inf)],
               [np.min(points.lat, where=finite, initial=np.inf),
                np.max(points.lat, where=finite, initial=-np.inf)]) if finite.any() \
        else ([np.nan], [np.nan])  # (min and max of the rows with both, without copies)
    del finite
    # a frame of the bounding box's corners: geopandas gives the field and the geo metadata
    corner_frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*corners), crs=points.crs)
    geo = _geopandas_to_arrow(corner_frame, index=False, geometry_encoding="geoarrow")
    field = geo.schema.field(GEOMETRY_NAME)
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None  # the GeoDataFrame's way names the column
    coordinates = pa.StructArray.from_arrays(
        [pa.array(points.lon, type=pa.float64()), pa.array(points.lat, type=pa.float64())],
        fields=list(field.type))
    arrow = arrow.append_column(field, coordinates)
    schema_metadata = {**arrow.schema.metadata, b"geo": geo.schema.metadata[b"geo"],
                       b"pandas": _with_geometry_entry(arrow.schema.metadata[b"pandas"])}
    if table.attrs:
        schema_metadata[b"PANDAS_ATTRS"] = json.dumps(table.attrs).encode()
    return arrow.replace_schema_metadata(schema_metadata)


def _with_geometry_entry(pandas_metadata):
    """The pandas metadata of a table's attributes (JSON) with the entry geopandas's
    writer leaves for the geometry column last (the column of None it converts, then
    replaces): the entry pyarrow gives such a column, without a column of a None per row."""
    import pandas as pd
    import pyarrow as pa

    entry = json.loads(pa.Table.from_pandas(pd.DataFrame({GEOMETRY_NAME: [None]}),
                                            preserve_index=False).schema.metadata[b"pandas"])
    metadata = json.loads(pandas_metadata)
    metadata["columns"].append(entry["columns"][0])
    return json.dumps(metadata).encode()


def parquet_table(frame, metadata=None, geoarrow=None):
    """The Arrow table of a GeoParquet file of ``frame`` (a table or a chunk of one), in
    EPSG:4326, with the schema metadata geopandas writes (``geo``, ``pandas``) and the run
    facts ``metadata`` as JSON under the ``geokmeans`` key.

    The geometry is WKB, except for points from lon/lat columns (``geoarrow``, by default
    for a ``PointTable``): GeoParquet's native GeoArrow ``point`` encoding (two coordinate
    arrays), the file geopandas writes with ``geometry_encoding="geoarrow"``, read back as
    the same rows, columns and values as the WKB file. A ``PointTable`` is encoded from
    its lon/lat arrays (no shapely points); a GeoDataFrame (such a table once its points
    were built, or changed by the caller) by geopandas, in GeoArrow while every geometry
    is a Point.
    """
    geoarrow = isinstance(frame, PointTable) if geoarrow is None else geoarrow
    arrow = _point_arrow(frame) if geoarrow and isinstance(frame, PointTable) else None
    if arrow is None:
        frame = lonlat(as_geodataframe(frame))
        arrow = _arrow_table(with_geometry(portable(user_table(frame), "parquet"), frame),
                             geoarrow)
    if metadata:
        member = json.dumps(metadata, default=json_default).encode()
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                               b"geokmeans": member})
    return arrow


def dictionary_columns(schema):
    """The columns worth Parquet's dictionary encoding: categoricals and small integers
    (cluster labels). Others are written plain: a dictionary tried on a column of a
    million distinct values (names, coordinates) is dropped once it outgrows its page,
    after holding memory the size of the column (measured: a 1M-row table writes 1.5x
    faster with no memory above the table's; the file holds the same values)."""
    import pyarrow as pa

    def small(field):
        kind = field.type
        return (pa.types.is_dictionary(kind) or pa.types.is_boolean(kind)
                or (pa.types.is_integer(kind) and kind.bit_width <= 32))

    return [field.name for field in schema if small(field)]
