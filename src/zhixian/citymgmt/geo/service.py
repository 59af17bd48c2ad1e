"""地理编码 and grids, as the rest of citymgmt uses them: one import for the modules split by concern.

``index`` (point → grid → community → street, GCJ-02, versions), ``imports`` (GeoJSON and Shapefile
files), ``cover`` (grid covers, overlaps), ``basemap`` and ``tiles`` (the map's background).
"""

from __future__ import annotations

from zhixian.citymgmt.geo.cover import OverlapReport, geojson_feature, grid_cover, overlaps
from zhixian.citymgmt.geo.imports import GeoLimits, ImportedFeature, ImportResult, read_features
from zhixian.citymgmt.geo.index import (
    CLASSES,
    GEO,
    INDEX_MAX_VERTICES,
    GeoIndex,
    Location,
    area_m2,
    build_index,
    bump_version,
    current_version,
    gcj02_to_wgs84,
    index,
    load_geometries,
    locate,
    polygonal,
    versions,
    wgs84_to_gcj02,
)

__all__ = [
    "CLASSES",
    "GEO",
    "INDEX_MAX_VERTICES",
    "GeoIndex",
    "GeoLimits",
    "ImportResult",
    "ImportedFeature",
    "Location",
    "OverlapReport",
    "area_m2",
    "build_index",
    "bump_version",
    "current_version",
    "gcj02_to_wgs84",
    "geojson_feature",
    "grid_cover",
    "index",
    "load_geometries",
    "locate",
    "overlaps",
    "polygonal",
    "read_features",
    "versions",
    "wgs84_to_gcj02",
]
