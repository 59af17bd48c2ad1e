"""Where a case is, in words people use: community and street names, the grid, the nearest standard address.

Coordinates and 15-digit grid codes mean nothing to a dispatcher or an inspector; the gazetteer
(地名地址, ``cm_address``) and the division names do. Codes stay beside the names for the record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Address, Area, Case, Grid
from zhixian.errors import Invalid
from zhixian.platform import service as platform

__all__ = [
    "NEAREST_MAX_M",
    "Nearest",
    "Place",
    "division_names",
    "map_shapes",
    "nearest_address",
    "place",
    "places",
    "where",
]

# Beyond this the nearest gazetteer entry says nothing useful about where a case is.
NEAREST_MAX_M = 1000.0
_NAMES_KEY = "citymgmt.division_names"


@dataclass(frozen=True)
class Nearest:
    text: str
    distance_m: float
    lon: float
    lat: float


@dataclass(frozen=True)
class Place:
    """A case's position as shown on pages and in lists."""

    grid_code: str | None
    grid_name: str
    community_code: str | None
    community_name: str
    street_code: str | None
    street_name: str
    nearest: Nearest | None

    @property
    def area_label(self) -> str:
        """ "城东社区 · 城关街道", or a plain statement when the point is outside every community."""
        parts = [p for p in (self.community_name, self.street_name) if p]
        return " · ".join(parts) if parts else "不在本县网格范围内"


def division_names(session: Session) -> dict[str, str]:
    """Division code → name, loaded once per session (a list page needs it for every row)."""
    cached = session.info.get(_NAMES_KEY)
    if cached is None:
        cached = {d.code: d.name for d in platform.list_divisions(session)}
        session.info[_NAMES_KEY] = cached
    return dict(cached)


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def nearest_address(session: Session, lon: float, lat: float, *, max_m: float = NEAREST_MAX_M) -> Nearest | None:
    """The closest gazetteer entry within ``max_m``: a box query on the (lon, lat) index, exact distance after."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    dlat = max_m / 110_540.0
    dlon = max_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    rows = session.execute(
        select(Address.text, Address.lon, Address.lat)
        .where(Address.lon.between(lon - dlon, lon + dlon), Address.lat.between(lat - dlat, lat + dlat))
        .order_by(func.abs(Address.lon - lon) + func.abs(Address.lat - lat))
        .limit(8)
    ).all()
    best: Nearest | None = None
    for text, alon, alat in rows:
        d = _distance_m(lon, lat, alon, alat)
        if d <= max_m and (best is None or d < best.distance_m):
            best = Nearest(text, round(d), alon, alat)
    return best


def place(session: Session, case: Case, *, names: dict[str, str] | None = None) -> Place:
    names = names if names is not None else division_names(session)
    grid_name = ""
    if case.grid_code:
        grid_name = session.execute(select(Grid.name).where(Grid.code == case.grid_code)).scalar_one_or_none() or ""
    return Place(
        grid_code=case.grid_code,
        grid_name=grid_name,
        community_code=case.community_code,
        community_name=names.get(case.community_code or "", ""),
        street_code=case.street_code,
        street_name=names.get(case.street_code or "", ""),
        nearest=nearest_address(session, case.lon, case.lat),
    )


def places(session: Session, cases: Iterable[Case]) -> dict[int, Place]:
    """Places of one page of cases (names loaded once; one indexed box query per row for the address)."""
    names = division_names(session)
    return {c.id: place(session, c, names=names) for c in cases}


def where(session: Session, lon: float, lat: float) -> dict[str, Any]:
    """For the phone report: what the platform will record for a point, before the report is sent.

    A point outside the county is an answer here, not an error: the inspector is told while still on site.
    """
    names = division_names(session)
    try:
        loc = geo.locate(session, lon, lat)
    except Invalid as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        return {"inside": False, "message": message}
    near = nearest_address(session, lon, lat)
    return {
        "inside": True,
        "grid_code": loc.grid_code,
        "community_code": loc.community_code or None,
        "community_name": names.get(loc.community_code or "", ""),
        "street_code": loc.street_code,
        "street_name": names.get(loc.street_code or "", ""),
        "nearest": asdict(near) if near else None,
        "grid": _grid_geojson(session, loc.grid_code),
    }


def _grid_geojson(session: Session, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    wkt = session.execute(select(Grid.wkt).where(Grid.code == code)).scalar_one_or_none()
    return _simplified_geojson(wkt, 0) if wkt and len(wkt) < 200_000 else None


def _simplified_geojson(wkt: str, tolerance_deg: float) -> dict[str, Any] | None:
    try:
        geom = shapely.from_wkt(wkt)
    except shapely.errors.GEOSException:
        return None
    if geom is None or geom.is_empty:
        return None
    if tolerance_deg:
        geom = geom.simplify(tolerance_deg, preserve_topology=True)
    return json.loads(shapely.to_geojson(geom))  # type: ignore[no-any-return]


def map_shapes(session: Session, case: Case) -> dict[str, Any]:
    """The case page's small map: the point, its grid and (simplified, ~5 m) community outline."""
    out: dict[str, Any] = {"point": [case.lon, case.lat], "grid": _grid_geojson(session, case.grid_code)}
    out["community"] = None
    if case.community_code:
        wkt = session.execute(select(Area.wkt).where(Area.division_code == case.community_code)).scalar_one_or_none()
        if wkt and len(wkt) < 2_000_000:
            out["community"] = _simplified_geojson(wkt, 0.00005)
    return out
