"""The input's polygons on a map: the polygons of the rows drawn, in their clusters' colours.

Each polygon is simplified to the map's scale (``SIMPLIFY_FRACTION`` of the view's span,
about a pixel of a full-screen map) and drawn beside its point, as the points are: its
longitudes made continuous around the point (rejoining a polygon cut at the 180°
meridian), then moved with the point's display longitude. A polygon around a pole is
drawn over every longitude of the view. Beyond ``MAX_POLYGON_VERTICES`` vertices after
simplification no polygon is drawn (the page would be too heavy): the points stand for
them, and the legend says so.
"""

import numpy as np
import shapely

from ._polygons import POLYGON_TYPES
from .projection import wrap_longitude

__all__ = ["MAX_POLYGON_VERTICES", "SIMPLIFY_FRACTION", "polygon_collection"]

#: Most polygon vertices drawn on a map (about 4 MB of page).
MAX_POLYGON_VERTICES = 200_000
#: Polygons are simplified to this fraction of the view's largest span in degrees.
SIMPLIFY_FRACTION = 1 / 2000


def polygon_collection(geometry, labels, lon, shown_lon, colours, span_deg, place_polar):
    """A GeoJSON FeatureCollection (dict) of the polygons among ``geometry``.

    ``geometry`` is a GeoSeries of the rows drawn (any CRS), ``labels`` their clusters,
    ``lon`` the longitudes of their points and ``shown_lon`` where the map draws them;
    ``colours`` the clusters' colours; ``span_deg`` the view's largest span;
    ``place_polar(shape)`` places a lon/lat polygon reaching a pole (which spans every
    longitude) on the map's longitudes, e.g. 180° either side of the view's middle. Returns
    ``(collection, note)``: the collection is None when no row is a polygon or when the
    polygons have more than ``MAX_POLYGON_VERTICES`` vertices (``note`` says so).
    """
    polygons = np.flatnonzero(geometry.geom_type.isin(POLYGON_TYPES).to_numpy())
    if not polygons.size:
        return None, ""
    shapes = geometry.iloc[polygons]
    if shapes.crs is not None and not shapes.crs.equals("EPSG:4326"):
        shapes = shapes.to_crs(4326)
    shapes = shapely.simplify(shapes.to_numpy(), span_deg * SIMPLIFY_FRACTION,
                              preserve_topology=True)
    n_vertices = int(shapely.get_num_coordinates(shapes).sum())
    if n_vertices > MAX_POLYGON_VERTICES:
        return None, (f"Polygons not drawn ({n_vertices:,} vertices at this scale, more than "
                      f"{MAX_POLYGON_VERTICES:,}): each is shown by its point.")
    shapes = _beside_points(shapes, lon[polygons], shown_lon[polygons], place_polar)
    features = [{"type": "Feature", "geometry": shape.__geo_interface__,
                 "properties": {"color": colours[int(label)]}}
                for shape, label in zip(shapes, labels[polygons], strict=True)]
    return {"type": "FeatureCollection", "features": features}, ""


def _beside_points(shapes, lon, shown_lon, place_polar):
    """``shapes`` (lon/lat) placed where their points (at ``lon``) are drawn (``shown_lon``):
    each vertex within 180° of its point's longitude, then moved with the point (to 1e-6°,
    as the points); a polygon reaching a pole is placed by ``place_polar``."""
    xy, owner = shapely.get_coordinates(shapes, return_index=True)
    polar = np.zeros(len(shapes), dtype=bool)
    np.logical_or.at(polar, owner, np.abs(xy[:, 1]) >= 90.0)
    xy[:, 0] = shown_lon[owner] + wrap_longitude(xy[:, 0] - lon[owner])
    placed = shapely.set_coordinates(shapes.copy(), xy)
    placed[polar] = [place_polar(shape) for shape in shapes[polar]]
    return shapely.transform(placed, lambda coordinates: np.round(coordinates, 6))
