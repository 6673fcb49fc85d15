"""Checks of cluster hulls shared by the tests: valid, counter-clockwise, covering."""

import numpy as np
import shapely

__all__ = ["assert_good_hull", "assert_good_hulls", "normalised_means", "uncovered", "unit"]


def unit(lon, lat):
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def normalised_means(lon, lat, labels, k):
    """Each cluster's mean direction (as spherical k-means takes its centres)."""
    xyz = unit(lon, lat)
    sums = np.stack([np.bincount(labels, weights=xyz[:, i], minlength=k) for i in range(3)], 1)
    return (np.degrees(np.arctan2(sums[:, 1], sums[:, 0])),
            np.degrees(np.arctan2(sums[:, 2], np.hypot(sums[:, 0], sums[:, 1]))))


def uncovered(geom, lon, lat):
    """Points not covered by ``geom`` (grown by 1e-9°); lon ±180 are the same meridian,
    and a pole is covered where the geometry reaches its latitude."""
    grown = shapely.buffer(geom, 1e-9)
    shapely.prepare(grown)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    twin = np.where(np.abs(lon) == 180.0, -lon, lon)
    inside = shapely.covers(grown, shapely.points(lon, lat)) | shapely.covers(
        grown, shapely.points(twin, lat))
    for pole in (90.0, -90.0):  # the pole is all of its latitude line
        if (lat == pole).any():
            inside[lat == pole] = shapely.intersects(grown, shapely.LineString(
                [(-180.0, pole), (180.0, pole)]))
    return np.flatnonzero(~inside)


def assert_good_hull(geom, lon, lat):
    """Valid, counter-clockwise, within lon/lat bounds, covering every point."""
    assert geom is not None
    assert geom.is_valid, shapely.is_valid_reason(geom)
    coords = shapely.get_coordinates(geom)
    assert (np.abs(coords) <= [180.0, 90.0]).all()
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "Polygon":
            assert part.exterior.is_ccw
            assert part.area > 0
    missed = uncovered(geom, lon, lat)
    assert missed.size == 0, list(zip(np.asarray(lon)[missed][:5],
                                         np.asarray(lat)[missed][:5], strict=True))


def assert_good_hulls(hulls, lon, lat, labels):
    lon, lat, labels = np.asarray(lon, float), np.asarray(lat, float), np.asarray(labels)
    for j, geom in enumerate(hulls):
        members = labels == j
        if not members.any():
            assert geom is None
            continue
        assert_good_hull(geom, lon[members], lat[members])
