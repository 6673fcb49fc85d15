"""Writing a ``ClusterResult``'s tables to files: the formats, the tables each holds, and a
set of outputs written all-or-nothing (the methods ``ClusterResult`` inherits)."""

import os
from pathlib import Path

from . import _output, io
from ._memory import release_freed
from ._output import plan_outputs
from ._protected import source_entries
from ._validation import check_choice, check_param
from .errors import InputError

__all__ = ["ResultWriting"]

_WHICH = {"points": ("points",), "centroids": ("centroids",), "hulls": ("hulls",),
          "both": ("points", "centroids"), "all": ("points", "centroids", "hulls")}


class ResultWriting:
    """``to_geojson``, ``to_file``, ``to_parquet`` and ``write`` of a ``ClusterResult``:
    they read its tables (``points``, ``centroids``, ``hulls``, ``territories``), its
    ``metadata``, ``source`` and ``explore``."""

    def to_geojson(self, path, *, which="points"):
        """Write an RFC 7946 GeoJSON FeatureCollection (lon/lat WGS84, 1e-7° precision).

        Parameters
        ----------
        path : str or path
        which : {"points", "centroids", "hulls", "both", "all"}, default "points"
            The table(s) written: "both" is points and centroids, "all" adds the hulls.
            Each feature names its table in the foreign member ``"geokmeans:layer"``
            (outside ``properties``, which hold only the table's columns, so a column of
            yours named ``kind`` or ``layer`` is kept as it is); run facts are in the
            collection's ``"geokmeans"`` member. Polygons are wound counter-clockwise
            (holes clockwise); missing geometries are ``null``; there is no ``crs``.

        The write is atomic (a temporary file renamed when complete) and never replaces
        the input file. For a result of a dask input the points are computed and written
        one partition at a time into that one file (the same file as in memory).
        """
        self._write(path, self._kinds(which, "GeoJSON", path), "GeoJSON")

    def to_file(self, path, *, which="points", csv_raw=False, partitioned=None):
        """Write by extension (any case): .geojson/.json, .gpkg, .parquet/.geoparquet, .csv.

        Parameters
        ----------
        path : str or path
        which : {"points", "centroids", "hulls", "both", "all"}, default "points"
            GeoJSON and GeoPackage hold several tables (a GeoPackage one layer each:
            ``points``, ``centroids``, ``hulls``). GeoParquet and CSV hold one, so
            "both" and "all" are refused there: write one file per table.
        csv_raw : bool, default False
            CSV only. ``False``: text cells a spreadsheet would run as a formula (they
            start with ``=``, ``+``, ``-``, ``@``, tab or carriage return and are not
            numbers) are written with a leading ``'``. ``True``: written as they are.
        partitioned : bool, optional
            Results of a dask input, ``which="points"`` only: ``True`` writes a
            partitioned GeoParquet dataset, a new directory holding one file per
            partition (``path`` without extension or ending in .parquet). By default a
            path without extension is such a dataset and any other path one file.

        Notes
        -----
        GeoJSON and CSV are in lon/lat (EPSG:4326), GeoParquet in EPSG:4326, and a
        GeoPackage holds every layer in the points' CRS (the input's; EPSG:4326 for
        tables of lat/lon). CSV writes point coordinates under the input's own
        coordinate column names (``lon``/``lat`` for geometry inputs), hulls as a ``wkt``
        column, and binary cells as base64 text (GeoJSON too; GeoParquet and GeoPackage
        keep them binary). Writes are atomic and never replace the input file.

        A result of a dask input writes the same files: its points are computed one
        partition at a time and streamed into the one (temporary) file, renamed when
        complete (GeoParquet: a row group or more per partition; GeoPackage: rows
        appended to the layer), so they are never all in memory.

        Examples
        --------
        >>> import geokmeans as gk, tempfile, pathlib
        >>> result = gk.cluster("data/dc_places.csv", 3, random_state=0)
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> result.to_file(folder / "centroids.csv", which="centroids")
        >>> result.to_file(folder / "clusters.gpkg", which="all")
        >>> import shutil; shutil.rmtree(folder)
        """
        fmt = self._format(path, which, partitioned)
        self._write(path, self._kinds(which, fmt, path), fmt, csv_raw=csv_raw)

    def to_parquet(self, path, *, which="points", partitioned=None):
        """Write one table as GeoParquet (see ``to_file``).

        For a result of a dask input, the points (``which="points"``) are written one
        partition at a time: as one file, row groups appended with pyarrow's
        ``ParquetWriter`` (the same schema and GeoParquet metadata as in memory), or, when
        ``path`` has no extension or ``partitioned=True``, as a partitioned dataset: a new
        directory holding ``part.N.parquet`` per partition, written by the workers and
        appearing only once complete.
        """
        fmt = self._format(path, which, partitioned, "GeoParquet")
        self._write(path, self._kinds(which, fmt, path), fmt)

    def _format(self, path, which, partitioned, fmt=None):
        """The format to write ``path`` in: ``fmt`` or that of its extension, or a
        partitioned GeoParquet dataset (``io.PARQUET_DATASET``) for the points of a dask
        result given ``partitioned=True`` or a path without extension."""
        check_param("partitioned", partitioned)
        bare = isinstance(path, (str, os.PathLike)) and Path(path).suffix == ""
        if partitioned is None:
            partitioned = self.is_dask and which == "points" and bare and fmt != "GeoJSON"
        if not partitioned:
            return fmt or io.output_format(path)
        if not self.is_dask or which != "points":
            raise InputError(f"'{path}': partitioned=True writes the points of a result of a "
                             "dask input, one file per partition; this table is written as "
                             "one file (leave partitioned out).")
        if not bare and io.output_format(path) != "GeoParquet":
            raise InputError(f"'{path}': a partitioned dataset is GeoParquet; give a path "
                             "without extension or ending in .parquet.")
        return io.PARQUET_DATASET

    def write(self, points=None, centroids=None, hulls=None, map=None, *, territories=None,
              boundary=None, csv_raw=False, map_options=None, outputs=None):
        """Write several outputs all-or-nothing: each is complete, or none appears.

        Parameters
        ----------
        points, centroids, hulls : str or path, optional
            A file for that table, in the format of its extension (see ``to_file``).
        map : str or path, optional
            An HTML map (``explore(**map_options)``).
        territories : str or path, optional
            A file for ``territories(boundary)`` (computed before anything is written).
        boundary : optional
            The territories' region (see ``territories``); only with ``territories``.
        csv_raw : bool, default False
            See ``to_file``.
        map_options : dict, optional
            Passed to ``explore``.
        outputs : io.OutputSet, optional
            Join this set instead of a set of its own: the files are written to their
            temporaries here and appear when the caller's set commits (so that more
            outputs, e.g. a report on stdout, succeed or fail with them).

        Every path is checked before anything is written (extension, folder, the same
        file given twice, the input file); each output is written to a temporary file
        beside it and the temporaries are renamed only when all are written. On an
        error or an interruption they are removed and existing files are left as they
        were. The points of a result of a dask input are written in any of these formats,
        one partition at a time (see ``to_file``); a ``points`` path without extension
        is a new partitioned GeoParquet dataset directory.
        """
        plan = plan_outputs({"points": points, "centroids": centroids, "hulls": hulls,
                             "territories": territories, "map": map}, source=self.source,
                             dask=self.is_dask, boundary=boundary)
        extra = {"territories": self.territories(boundary)} if territories is not None else {}
        if outputs is None:
            with io.OutputSet(protected=source_entries(self.source)) as own:
                return self._write_plan(plan, own, csv_raw, map_options, extra)
        return self._write_plan(plan, outputs, csv_raw, map_options, extra)

    def _write_plan(self, plan, outputs, csv_raw, map_options, extra):
        for kind, path, fmt in plan:
            if kind == "map":
                page = self.explore(**(map_options or {})).get_root().render()
                io.write_text(path, page, source_entries(self.source), outputs=outputs,
                              label="map")
            else:
                self._write(path, (kind,), fmt, outputs=outputs, label=kind, csv_raw=csv_raw,
                            extra=extra)

    def _kinds(self, which, fmt, path):
        """The tables ``which`` names; several are refused for one-table formats."""
        kinds = _WHICH[check_choice("which", which, tuple(_WHICH))]
        if fmt in io.SINGLE_TABLE_FORMATS and len(kinds) > 1:
            p = Path(path)
            examples = " and ".join(
                f"to_file('{p.with_name(f'{p.stem}_{k}{p.suffix}')}', which='{k}')"
                for k in kinds)
            raise InputError(f"'{path}': {fmt} holds one table, and which={which!r} asks for "
                             f"{len(kinds)} ({', '.join(kinds)}); write one file each, e.g. "
                             f"{examples}, or use .gpkg or .geojson for several.")
        return kinds

    def _table(self, kind):
        """A table to write; the points as held (a ``PointTable`` is written from its
        lon/lat arrays where the format allows, without building its geometry)."""
        if kind == "points":
            return self._rows
        return self.hulls if kind == "hulls" else getattr(self, kind)

    def _output_crs(self):
        """The CRS every layer of a GeoPackage is written in: the points' (the input's)."""
        crs = getattr(self._rows, "crs", None)
        return crs if crs is not None else "EPSG:4326"

    def _write(self, path, kinds, fmt, *, outputs=None, label=None, csv_raw=False, extra=None):
        """Write the tables ``kinds`` (those in ``extra`` from there) to ``path`` in
        ``fmt``; the points of a dask result are computed partition by partition by the
        writers (``_dask_writers``)."""
        protected, extra = source_entries(self.source), extra or {}
        tables = {kind: extra[kind] if kind in extra else self._table(kind) for kind in kinds}
        release_freed()  # before the writers' own allocators (Arrow's) take more
        where = dict(outputs=outputs, label=label, coordinate_columns=self.coordinate_columns)
        if fmt == "GeoJSON":
            _output.write_geojson(path, tables, self.metadata, protected, **where)
        elif fmt == "GeoPackage":
            _output.write_gpkg(path, tables, self.metadata, protected,
                               crs=self._output_crs(), **where)
        elif fmt in ("GeoParquet", io.PARQUET_DATASET):
            if kinds[0] != "points":  # the coordinate columns are the points' only
                where["coordinate_columns"] = None
            _output.write_parquet(path, tables[kinds[0]], self.metadata, protected,
                                  partitioned=fmt == io.PARQUET_DATASET, **where)
        else:
            _output.write_csv(path, tables[kinds[0]], protected, raw=csv_raw, **where)
        release_freed()  # the encoded tables
