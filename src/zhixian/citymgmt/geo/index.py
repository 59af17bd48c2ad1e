"""地理编码: point → grid → community → street in memory, GCJ-02 input, and the geometry helpers.

The index is an STRtree over grid polygons held per database; a version row bumped on every grid
or boundary change makes each worker rebuild it on its next lookup.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.models import Area, GeoVersion, Grid
from zhixian.errors import FieldError, Invalid

log = logging.getLogger(__name__)

# A stored geometry above this is never parsed for the lookup index or the map layer: the import
# refuses far smaller ones (settings.geo_max_vertices_per_feature, at most this), so only a row
# written around the import can be this big. WKT needs at least ~20 characters per vertex pair.
INDEX_MAX_VERTICES = 1_000_000
_WKT_MAX_CHARS = INDEX_MAX_VERTICES * 60

# --- GCJ-02 (the "Mars" datum of Chinese phone map SDKs) → WGS 84

_A = 6378245.0
_EE = 0.00669342162296594323


def _out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if _out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration: below a millimetre after a few rounds."""
    if _out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(6):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


def area_m2(geom: Any) -> float:
    """Planar area at the geometry's latitude: enough for 10,000 m² grids, not for surveying."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return float(geom.area * 111_320.0 * math.cos(math.radians(lat)) * 110_540.0)


def polygonal(geom: Any) -> Any:
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if isinstance(merged, Polygon | MultiPolygon) else None


# --- the in-memory index


@dataclass(frozen=True)
class Location:
    grid_code: str | None
    community_code: str
    street_code: str | None


@dataclass
class GeoIndex:
    version: int
    grid_codes: list[str]
    grid_communities: list[str]
    grid_streets: list[str]
    grid_tree: shapely.STRtree
    area_codes: list[str]
    area_parents: list[str | None]
    area_tree: shapely.STRtree
    extent: tuple[float, float, float, float] | None = None
    grid_geoms: list[Any] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # codes of stored geometries left out

    def locate(self, lon: float, lat: float) -> Location | None:
        point = shapely.points(lon, lat)
        hits = self.grid_tree.query(point, predicate="intersects")
        if len(hits):
            i = int(hits.min())
            return Location(self.grid_codes[i], self.grid_communities[i], self.grid_streets[i])
        # 属地兜底: inside a community but in no grid
        hits = self.area_tree.query(point, predicate="intersects")
        if len(hits):
            i = int(hits.min())
            return Location(None, self.area_codes[i], self.area_parents[i])
        return None

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid index per point (-1 outside every grid): one vectorised tree query for the lot."""
        points = shapely.points(lons, lats)
        found = np.full(len(points), -1, dtype=np.int64)
        if not len(self.grid_codes):
            return found
        src, dst = self.grid_tree.query(points, predicate="intersects")
        # a point on a shared edge hits two grids; keep the lower index, as locate() does
        order = np.lexsort((-dst, src))
        found[src[order]] = dst[order]
        return found


_LOCK = threading.Lock()
_CACHE: dict[str, GeoIndex] = {}


def _key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))


GEO = 1  # cm_geo_version row bumped when grids or areas change
CLASSES = 2  # row bumped when the class table changes


_VERSIONS = select(GeoVersion.id, GeoVersion.version)


def versions(session: Session) -> dict[int, int]:
    """Every reference-data version in one query, so a request validates all its caches at once."""
    return {int(i): int(v) for i, v in session.execute(_VERSIONS).all()}


def current_version(session: Session) -> int:
    return versions(session).get(GEO, 0)


def bump_version(session: Session, which: int = GEO) -> None:
    """A fresh random version rather than +1: a rolled-back bump can never be mistaken for a later one."""
    row = session.get(GeoVersion, which)
    new = secrets.randbelow(2**31 - 2) + 1
    if row is None:
        session.add(GeoVersion(id=which, version=new))
    else:
        row.version = new if new != row.version else new % (2**31 - 2) + 1
    session.flush()


def load_geometries(codes: Sequence[str], wkts: Sequence[str]) -> tuple[list[Any], list[str]]:
    """(geometry or None per row, quarantined codes): one bad row never takes the others down.

    Each WKT is parsed on its own: a list of strings handed to numpy at once becomes a fixed-width
    array as wide as the longest string times the row count (one 57 MB grid asked for 546 GiB).
    """
    geoms: list[Any] = []
    quarantined: list[str] = []
    for code, wkt in zip(codes, wkts, strict=True):
        geom = None
        if len(wkt) <= _WKT_MAX_CHARS:
            try:
                geom = shapely.from_wkt(wkt)
            except (shapely.errors.GEOSException, ValueError, TypeError):
                geom = None
        if (
            geom is None
            or geom.is_empty
            or not isinstance(geom, Polygon | MultiPolygon)
            or shapely.get_num_coordinates(geom) > INDEX_MAX_VERTICES
        ):
            quarantined.append(code)
            geoms.append(None)
            continue
        geoms.append(geom)
    if quarantined:
        log.warning("geometry quarantined (unparsable, empty, not polygonal or too large): %s", quarantined[:20])
    return geoms, quarantined


def build_index(
    version: int,
    grids: Iterable[tuple[str, str, str, str]],
    areas: Iterable[tuple[str, str | None, str]],
) -> GeoIndex:
    """The index of every sound geometry; quarantined ones are logged and left out, never fatal."""
    grid_all = list(grids)
    area_all = list(areas)
    grid_geoms, bad_grids = load_geometries([g[0] for g in grid_all], [g[3] for g in grid_all])
    area_geoms, bad_areas = load_geometries([a[0] for a in area_all], [a[2] for a in area_all])
    grid_rows = [g for g, geom in zip(grid_all, grid_geoms, strict=True) if geom is not None]
    area_rows = [a for a, geom in zip(area_all, area_geoms, strict=True) if geom is not None]
    geoms = [g for g in grid_geoms if g is not None]
    area_kept = [a for a in area_geoms if a is not None]
    extent = None
    everything = geoms + area_kept
    if everything:
        bounds = shapely.total_bounds(np.array(everything, dtype=object))
        extent = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
    return GeoIndex(
        version=version,
        grid_codes=[g[0] for g in grid_rows],
        grid_communities=[g[1] for g in grid_rows],
        grid_streets=[g[2] for g in grid_rows],
        grid_tree=shapely.STRtree(geoms),
        area_codes=[a[0] for a in area_rows],
        area_parents=[a[1] for a in area_rows],
        area_tree=shapely.STRtree(area_kept),
        extent=extent,
        grid_geoms=geoms,
        quarantined=bad_grids + bad_areas,
    )


def index(session: Session, known: dict[int, int] | None = None) -> GeoIndex:
    """The current index for this database, rebuilt if another request changed the grids."""
    version = (known if known is not None else versions(session)).get(GEO, 0)
    key = _key(session)
    cached = _CACHE.get(key)
    if cached is not None and cached.version == version:
        return cached
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached.version == version:
            return cached
        grids = session.execute(
            select(Grid.code, Grid.community_code, Grid.street_code, Grid.wkt).order_by(Grid.code)
        ).all()
        areas = session.execute(
            select(Area.division_code, Area.parent_code, Area.wkt).where(Area.level == "village")
        ).all()
        built = build_index(version, [tuple(g) for g in grids], [tuple(a) for a in areas])  # type: ignore[misc]
        _CACHE[key] = built
        return built


def locate(session: Session, lon: float, lat: float, known: dict[int, int] | None = None) -> Location:
    """Where a report is, or a clear refusal: NaN, off the globe, or outside the county."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Invalid("坐标必须是有效数字", [FieldError("经纬度不能为空值或非数字", field="lon")])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid("坐标超出经纬度范围", [FieldError("经度应在 -180～180，纬度应在 -90～90", field="lon")])
    found = index(session, known).locate(lon, lat)
    if found is None:
        raise Invalid(
            "位置不在本县管理范围内",
            [FieldError(f"坐标（{lon:.6f}, {lat:.6f}）不在本县任何社区或单元网格内", field="lon")],
        )
    return found
