"""``GeoDataFrame.geokmeans``: clustering as a GeoPandas accessor."""

import pandas as pd

__all__ = ["GeoKMeansAccessor"]


@pd.api.extensions.register_dataframe_accessor("geokmeans")
class GeoKMeansAccessor:
    """``gdf.geokmeans.cluster(k, **options)`` is ``geokmeans.cluster(gdf, k, **options)``.

    Registered on DataFrames, so tables with lat/lon columns get it too.
    """

    def __init__(self, frame):
        self._frame = frame

    def cluster(self, n_clusters, **options):
        """Cluster this frame's points; see ``geokmeans.cluster``."""
        from .result import cluster

        return cluster(self._frame, n_clusters, **options)
