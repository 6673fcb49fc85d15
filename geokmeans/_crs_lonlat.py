"""Coordinates in a geometry's CRS to lon/lat, checked: a CRS that has no way to lon/lat
and coordinates outside a CRS's domain are errors that name the CRS or the row."""

import numpy as np

from .errors import InputError, first_line

__all__ = ["checked_lonlat", "is_lonlat", "lonlat_transformer"]


def is_lonlat(crs):
    """True when coordinates in ``crs`` are lon/lat of EPSG:4326 already (no conversion)."""
    return crs.equals("EPSG:4326")


def lonlat_transformer(crs):
    """A pyproj Transformer from ``crs`` to EPSG:4326, ``(x, y)`` in and ``(lon, lat)`` out.

    A CRS that cannot be converted (an engineering or local CRS, one without units or not
    tied to the Earth) is an ``InputError`` naming it, not pyproj's ``ProjError``.
    """
    from pyproj import Transformer
    from pyproj.exceptions import ProjError

    problem = None
    if crs.type_name.startswith("Engineering") or any(
            axis.unit_name in ("unknown", "") for axis in crs.axis_info):
        article = "an" if crs.type_name[:1] in "AEIOU" else "a"
        problem = f"{article} {crs.type_name} with axes in {_units(crs)}"
    else:
        try:
            return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        except ProjError as exc:
            problem = first_line(exc)
    name = crs.name if crs.name and crs.name.lower() != "unknown" else crs.to_string()
    raise InputError(
        f"the geometry's CRS {name!r} cannot be converted to longitude/latitude ({problem}): "
        "it is not tied to a place on the Earth. Set the CRS the coordinates are really in "
        "(gdf.set_crs(..., allow_override=True)), e.g. 'EPSG:4326' for lon/lat degrees."
    )


def _units(crs):
    names = sorted({axis.unit_name or "no unit" for axis in crs.axis_info})
    return " and ".join(repr(n) for n in names) if names else "no units"


def checked_lonlat(xy, crs, rows, name_row, transformer=None):
    """lon, lat (m,) of the (m, 2) coordinates ``xy`` in ``crs``.

    Any coordinate that does not come back to itself is refused: outside a projection's
    domain PROJ wraps silently (EPSG:3857 x = 3e7 m becomes lon -90.5) or gives infinity.
    ``rows`` (m,) are the row positions of the coordinates and ``name_row(position)``
    names one in messages. ``transformer``: ``lonlat_transformer(crs)`` when already built.
    """
    to_lonlat = transformer if transformer is not None else lonlat_transformer(crs)
    lon, lat = (np.asarray(a, dtype=np.float64) for a in to_lonlat.transform(xy[:, 0], xy[:, 1]))
    back_x, back_y = to_lonlat.transform(lon, lat, direction="INVERSE")
    given = np.isfinite(xy).all(axis=1)
    same = (np.isclose(back_x, xy[:, 0], rtol=1e-7, atol=1e-3)
            & np.isclose(back_y, xy[:, 1], rtol=1e-7, atol=1e-3))
    bad = np.flatnonzero(given & ~(same & np.isfinite(lon) & np.isfinite(lat)))
    if bad.size:
        i = int(bad[0])
        n_rows = np.unique(np.asarray(rows)[bad]).size
        raise InputError(
            f"{name_row(int(rows[i]))} at ({xy[i, 0]:.10g}, {xy[i, 1]:.10g}) is outside the valid "
            f"area of its CRS {crs.to_string()!r}: it does not convert to lon/lat and back "
            f"({n_rows} such row{'s' if n_rows != 1 else ''})."
        )
    return lon, lat
