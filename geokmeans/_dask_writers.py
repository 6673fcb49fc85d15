"""Dask tables written partition by partition, all-or-nothing.

One file (GeoJSON, GeoPackage, GeoParquet, CSV): the partitions are computed one at a
time, each encoded by the same per-chunk encoders as an in-memory table (``_writers``)
and appended to one temporary file, renamed into place by the ``OutputSet`` when every
output is complete; the whole frame is never in memory. The file is the one the
computed frame would give (GeoParquet: one or more row groups per partition, with the
``geo`` metadata of the whole table, its bounding box and geometry types).

A partitioned GeoParquet dataset: a new directory holding ``part.N.parquet`` for each
partition, written by the workers (one task per partition) into a temporary directory
renamed once all are written.

A dask frame without a geometry (a table of lon/lat columns) gets, in each partition,
the lon/lat Point geometry ``read_points`` gives an in-memory table
(``io.as_points_frame``). dask is imported here only through the frames' own methods and
inside functions.
"""

import base64
import contextlib
import json
import math
import os

import numpy as np
import pandas as pd

from ._tables import user_table
from ._writers import (
    COLLECTION_TAIL,
    _writing,
    collection_head,
    csv_table,
    feature_strings,
    gpkg_frame,
    gpkg_metadata,
    gpkg_write,
    is_lazy,
    parquet_table,
    write_csv_rows,
    write_features,
)
from .errors import InputError
from .io import as_geodataframe, as_points_frame

__all__ = ["partitions", "write_csv", "write_geojson", "write_gpkg", "write_parquet",
           "write_partitioned"]


def partitions(frame, coordinate_columns=None):
    """Yield ``(row_offset, GeoDataFrame)`` for each partition of a dask frame, computed
    one at a time; an in-memory GeoDataFrame is one chunk at offset 0 (and so is the
    empty frame of a dask frame without partitions)."""
    if not is_lazy(frame):
        yield 0, frame
        return
    offset = 0
    for part in frame.to_delayed():
        chunk = part.compute()
        yield offset, as_points_frame(chunk, coordinate_columns, offset)
        offset += len(chunk)
    if not frame.npartitions:  # pragma: no cover - dask frames have one at least
        yield 0, as_points_frame(frame._meta, coordinate_columns)


# -- GeoJSON, GeoPackage, CSV: one temporary file, appended to ------------------------------


def write_geojson(path, layers, metadata=None, protected=(), *, outputs=None, label=None,
                  coordinate_columns=None):
    """``_writers.write_geojson`` for layers that may be dask frames: one FeatureCollection
    whose features are written partition by partition, in the order of the rows."""
    with _writing(path, protected, outputs, label) as tmp, \
            open(tmp, "w", encoding="utf-8") as handle:
        handle.write(collection_head(metadata))
        first = True
        for name, frame in layers.items():
            for offset, chunk in partitions(frame, coordinate_columns):
                first = write_features(handle, feature_strings(chunk, name, offset), first)
        handle.write(COLLECTION_TAIL)


class _Widen(Exception):
    """A partition needs a wider form of a table than the earlier partitions were written
    in (a GeoPackage layer's geometry type, or CSV coordinates as WKT text): the file is
    written again from the start in that form (only tables whose partitions differ in
    geometry types, such as Polygons then MultiPolygons, pay for it)."""

    def __init__(self, layer, form):
        super().__init__(layer, form)
        self.layer, self.form = layer, form


def _geometry_types(chunk):
    """The geometry types of a chunk's present (not None, not empty) geometries."""
    geoms = as_geodataframe(chunk).geometry
    return set(geoms[geoms.notna() & ~geoms.is_empty].geom_type)


def _layer_type(types):
    """The GeoPackage layer type of rows of ``types``, as GDAL infers it for an in-memory
    table: the one type, ``MultiX`` for X and MultiX together, else ``Unknown``; a layer
    without any geometry is ``Point`` (the later chunks hold the points)."""
    if len(types) <= 1:
        return next(iter(types), "Point")
    bases = {t.removeprefix("Multi") for t in types}
    return f"Multi{bases.pop()}" if len(bases) == 1 else "Unknown"


def write_gpkg(path, layers, metadata=None, protected=(), *, crs, outputs=None, label=None,
               coordinate_columns=None):
    """``_writers.write_gpkg`` for layers that may be dask frames: each partition is
    appended to its layer of the one GeoPackage (in ``crs``), of the geometry type the
    whole layer needs."""
    meta = gpkg_metadata(metadata)
    with _writing(path, protected, outputs, label) as tmp:
        kinds = {}
        while True:
            try:
                return _gpkg_layers(tmp, path, layers, meta, crs, coordinate_columns, kinds)
            except _Widen as widen:
                kinds[widen.layer] = widen.form
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)


def _gpkg_layers(tmp, path, layers, meta, crs, coordinate_columns, kinds):
    """Write ``layers`` into the GeoPackage ``tmp``, a lazy layer of the type ``kinds``
    gives (by default: that of its first partition); ``_Widen`` when a later partition
    needs another."""
    exists = False
    for name, frame in layers.items():
        lazy, seen, created = is_lazy(frame), set(), kinds.get(name)
        for i, (offset, chunk) in enumerate(partitions(frame, coordinate_columns)):
            if i and len(chunk) == 0:
                continue
            kind = None
            if lazy:
                seen |= _geometry_types(chunk)
                if i == 0 and created is None:
                    created = _layer_type(seen)
                    kind = None if seen else "Point"  # else inferred, as in memory
                elif i == 0:
                    kind = created
                elif _layer_type(seen) != created:
                    raise _Widen(name, _layer_type(seen))
            gpkg_write(tmp, path, name, gpkg_frame(chunk, crs, name, offset), meta,
                       append=exists, geometry_type=kind)
            exists = True


def write_csv(path, frame, protected=(), *, coordinate_columns=None, raw=False, outputs=None,
              label=None):
    """``_writers.write_csv`` for a dask frame: the header, then each partition's rows
    (coordinates as WKT text for every row when any partition has a geometry other than
    points, as in memory)."""
    with _writing(path, protected, outputs, label) as tmp:
        wkt = False
        while True:
            try:
                return _csv_rows(tmp, frame, coordinate_columns, raw, wkt)
            except _Widen:
                wkt = True


def _csv_rows(tmp, frame, coordinate_columns, raw, wkt):
    """Write the CSV rows of ``frame`` into ``tmp``; ``_Widen`` when a partition has other
    geometries than points after partitions written with lon/lat columns."""
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        for i, (_, chunk) in enumerate(partitions(frame, coordinate_columns)):
            if coordinate_columns is None and not wkt and _geometry_types(chunk) - {"Point"}:
                if i:
                    raise _Widen("points", "WKT")
                wkt = True
            write_csv_rows(handle, csv_table(chunk, coordinate_columns, raw, wkt), header=i == 0)


# -- GeoParquet ------------------------------------------------------------------------------


def _data_dependent(frame, coordinate_columns):
    """Whether the Arrow types of ``frame``'s columns depend on their values (object or
    categorical columns), so that partitions may give different types."""
    meta = as_points_frame(frame._meta, coordinate_columns)
    dtypes = user_table(meta).dtypes
    return any((isinstance(d, np.dtype) and d.kind == "O") or isinstance(d, pd.CategoricalDtype)
               for d in dtypes)


def _partition_schema(part, coordinate_columns):
    """The Arrow schema of one partition's GeoParquet table (a task run on a worker)."""
    return parquet_table(as_points_frame(part, coordinate_columns)).schema


def _incompatible(schemas):
    """The ``InputError`` naming the first column whose types cannot be unified."""
    import pyarrow as pa

    for name in schemas[0].names:
        types = [s.field(name).type for s in schemas if name in s.names]
        for other in types[1:]:
            try:
                pa.unify_schemas([pa.schema([(name, types[0])]), pa.schema([(name, other)])],
                                 promote_options="permissive")
            except (pa.ArrowException, TypeError, ValueError):
                return InputError(f"column {name!r} cannot be written to Parquet: it holds "
                                  f"{types[0]} in one partition and {other} in another; "
                                  "convert it, e.g. with .astype(str).")
    return InputError("the partitions have different columns; they cannot be written to "
                      "one Parquet file.")


def _pandas_metadata(schemas, unified):
    """The ``pandas`` schema metadata of the whole table from those of its partitions:
    a column's type is its first that is not ``empty`` (a partition of missing values),
    a decimal's precision and scale those of the ``unified`` schema."""
    metas = [json.loads(s.metadata[b"pandas"]) for s in schemas if b"pandas" in s.metadata]
    if not metas:
        return None
    merged = metas[0]
    for column in merged["columns"]:
        for meta in metas[1:]:
            if column["pandas_type"] != "empty":
                break
            other = next((c for c in meta["columns"] if c["name"] == column["name"]), None)
            if other is not None:
                column.update(other)
        name = column["field_name"]
        if column["pandas_type"] == "decimal" and name in unified.names:
            kind = unified.field(name).type
            column["metadata"] = {"precision": kind.precision, "scale": kind.scale}
    return json.dumps(merged).encode()


def _unified_schema(frame, coordinate_columns):
    """The Arrow schema of the whole of ``frame`` when its types depend on the values
    (see ``_data_dependent``): every partition's schema computed (on the workers; only
    the schemas travel) and unified as Arrow infers the types of the whole column.
    None when the types follow from the dtypes."""
    import dask
    import pyarrow as pa

    if not _data_dependent(frame, coordinate_columns):
        return None
    tasks = [dask.delayed(_partition_schema)(part, coordinate_columns)
             for part in frame.to_delayed()]
    schemas = list(dask.compute(*tasks))
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowException, TypeError, ValueError):
        raise _incompatible(schemas) from None
    meta = dict(schema.metadata or {})
    pandas_meta = _pandas_metadata(schemas, schema)
    if pandas_meta is not None:
        meta[b"pandas"] = pandas_meta
    return schema.with_metadata(meta)


def _conform(arrow, schema, offset=None):
    """The Arrow table of a partition (whose first row is row ``offset``, when known) in
    the types of ``schema`` (the file's)."""
    import pyarrow as pa

    if arrow.schema.equals(schema, check_metadata=False):
        return arrow
    try:
        return arrow.cast(schema.remove_metadata()).replace_schema_metadata(schema.metadata)
    except (pa.ArrowException, TypeError, ValueError):
        for field in arrow.schema:
            if field.name in schema.names and schema.field(field.name).type != field.type:
                where = "in one partition" if offset is None else f"from row {offset}"
                raise InputError(
                    f"column {field.name!r} cannot be written to Parquet: it holds "
                    f"{field.type} {where} and {schema.field(field.name).type} in "
                    "another; convert it, e.g. with .astype(str).") from None
        raise


def _merge_geo(geo, chunk_geo):
    """GeoParquet ``geo`` metadata of two chunks as geopandas writes it for both: the
    union of the geometry types (sorted), the bounding box of both (left out while no
    chunk has a finite one)."""
    chunk_geo = json.loads(chunk_geo)
    if geo is None:
        return chunk_geo
    for name, column in geo["columns"].items():
        other = chunk_geo["columns"][name]
        column["geometry_types"] = sorted(set(column["geometry_types"])
                                          | set(other["geometry_types"]))
        boxes = [box for box in (column.get("bbox"), other.get("bbox")) if box is not None]
        if boxes:
            column["bbox"] = [min(b[0] for b in boxes), min(b[1] for b in boxes),
                              max(b[2] for b in boxes), max(b[3] for b in boxes)]
            if not all(math.isfinite(v) for v in column["bbox"]):  # pragma: no cover
                del column["bbox"]
    return geo


def _finish(writer, schema, geo):
    """Put the whole table's ``geo`` metadata in the file's footer, in both the key-value
    metadata and the stored Arrow schema (``ARROW:schema``, which readers prefer)."""
    text = json.dumps(geo).encode()
    final = schema.with_metadata({**(schema.metadata or {}), b"geo": text})
    writer.add_key_value_metadata({
        "geo": text.decode(),
        "ARROW:schema": base64.b64encode(final.serialize()).decode("ascii"),
    })


def write_parquet(frame, path, metadata=None, protected=(), *, outputs=None, label=None,
                  coordinate_columns=None):
    """One GeoParquet file of a dask frame, row groups written partition by partition
    with pyarrow's ``ParquetWriter``; the same file content as ``_writers.write_parquet``
    of the computed frame (schema, ``geo``, ``pandas`` and ``geokmeans`` metadata)."""
    import pyarrow.parquet as pq

    schema = _unified_schema(frame, coordinate_columns)
    geo = None
    with _writing(path, protected, outputs, label) as tmp, contextlib.ExitStack() as stack:
        writer = None
        for offset, chunk in partitions(frame, coordinate_columns):
            arrow = parquet_table(chunk, metadata)
            geo = _merge_geo(geo, arrow.schema.metadata[b"geo"])
            if schema is None:
                schema = arrow.schema
            else:
                schema = schema.with_metadata({**arrow.schema.metadata,
                                               b"pandas": schema.metadata[b"pandas"]})
            if writer is None:
                writer = stack.enter_context(pq.ParquetWriter(tmp, schema))
            writer.write_table(_conform(arrow, schema, offset))
        _finish(writer, schema, geo)


# -- a partitioned GeoParquet dataset ------------------------------------------------------


def _write_part(part, path, coordinate_columns, metadata, schema):
    """Write one partition as a GeoParquet file (a task run on a worker)."""
    import pyarrow.parquet as pq

    arrow = parquet_table(as_points_frame(part, coordinate_columns), metadata)
    if schema is not None:
        schema = schema.with_metadata({**arrow.schema.metadata,
                                       b"pandas": schema.metadata[b"pandas"]})
        arrow = _conform(arrow, schema)
    pq.write_table(arrow, path)
    return len(part)


def write_partitioned(frame, path, metadata=None, protected=(), *, outputs=None, label=None,
                      coordinate_columns=None):
    """Write a dask (Geo)DataFrame as a new GeoParquet dataset directory, all-or-nothing.

    Each partition is written by a task (on the workers, which must see the folder) as
    ``part.N.parquet``: GeoParquet in EPSG:4326 with its own ``geo`` metadata and the
    run facts ``metadata``, the column types of the whole table. The files go to a
    temporary directory beside ``path``, renamed into place once all are written (with
    the other outputs of ``outputs``, an ``io.OutputSet``, when given). An existing
    ``path`` is refused, and so is a path over one of ``protected`` (the input's files
    and directories, see ``io.OutputSet``).
    """
    import dask

    schema = _unified_schema(frame, coordinate_columns)
    with _writing(path, protected, outputs, label, directory=True) as tmp:
        os.mkdir(tmp)
        tasks = [dask.delayed(_write_part)(part, os.path.join(tmp, f"part.{i}.parquet"),
                                           coordinate_columns, metadata, schema)
                 for i, part in enumerate(frame.to_delayed())]
        dask.compute(*tasks)

