"""Cases on the map: a heat layer binned in the database and case points for the visible extent.

Both start from the scoped case query (``cases.queries.case_query``), so a map shows exactly the cases
the list would show to the same person with the same filters, and both are bounded: a period of at
most a year, a fixed number of heat cells, and a few hundred points per extent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.filters import href
from zhixian.citymgmt.cases.queries import CaseFilter, case_query, light
from zhixian.citymgmt.config.classes import class_table
from zhixian.citymgmt.config.standards import STATUS_LABELS
from zhixian.citymgmt.models import Address, Case
from zhixian.clock import LOCAL_TZ, local_today
from zhixian.errors import FieldError, Invalid
from zhixian.platform.actor import Actor

MAX_DAYS = 366
DEFAULT_DAYS = 30
HEAT_BIN_DEG = 0.0005  # about 50 m: finer than a 万米 grid, coarse enough to bound the answer
HEAT_MAX_CELLS = 20_000
POINTS_MAX = 500
ADDRESSES_MAX = 300
MAX_EXTENT_DEG = 2.0  # a county fits; a request for the whole country is refused
STATUSES = {"all": "全部案件", "open": "在办（含挂账）", "closed": "已结案"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    status: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def case_filter(self, **extra: Any) -> CaseFilter:
        """Reported in the period; "open" here is every unfinished case, 挂账缓办 included."""
        return CaseFilter(
            status=None if self.status == "all" else self.status,
            on_hold="include" if self.status == "open" else None,
            reported_from=self.start,
            reported_to=self.end,
            **extra,
        )

    def list_url(self) -> str:
        """The case list with the same filter: its total equals the map's."""
        return href(self.case_filter())

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "status": self.status,
            "status_label": STATUSES[self.status],
            "days": self.days,
            "list_url": self.list_url(),
        }


def period(start: date | None, end: date | None, status: str | None) -> Period:
    """The asked period, or the last 30 days up to today; refused when reversed or over a year."""
    status = status or "all"
    if status not in STATUSES:
        raise Invalid("案件状态只能是 all、open 或 closed", field="status")
    end = end or local_today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("开始日期不能晚于结束日期", [FieldError("开始日期不能晚于结束日期", field="from")])
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid("时间范围过长", [FieldError(f"时间范围最长 {MAX_DAYS} 天，请缩短", field="from")])
    return Period(start, end, status)


def extent(text: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in degrees, checked; None when not given."""
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise Invalid("范围格式应为 西,南,东,北（经纬度）", field="bbox") from None
    values = (west, south, east, north)
    if not all(math.isfinite(v) for v in values) or not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise Invalid("范围无效：应为 西,南,东,北，且西小于东、南小于北", field="bbox")
    if east - west > MAX_EXTENT_DEG or north - south > MAX_EXTENT_DEG:
        raise Invalid(f"范围过大：经纬度跨度均不能超过 {MAX_EXTENT_DEG:g} 度，请放大地图", field="bbox")
    return values


def required_extent(text: str | None) -> tuple[float, float, float, float]:
    found = extent(text)
    if found is None:
        raise Invalid("请提供地图范围", field="bbox")
    return found


def heat(session: Session, *, actor: Actor, span: Period) -> dict[str, Any]:
    """Case counts per ~50 m cell: [lat, lon, n], the busiest cells first."""
    lat_bin = func.round(Case.lat / HEAT_BIN_DEG)
    lon_bin = func.round(Case.lon / HEAT_BIN_DEG)
    query = (
        case_query(actor, span.case_filter())
        .with_only_columns(lat_bin, lon_bin, func.count())
        .group_by(lat_bin, lon_bin)
        .order_by(func.count().desc())
        .limit(HEAT_MAX_CELLS + 1)
    )
    rows = session.execute(query).all()
    total_q = case_query(actor, span.case_filter()).with_only_columns(func.count())
    total = int(session.execute(total_q).scalar_one())
    cells = [[round(float(r[0]) * HEAT_BIN_DEG, 6), round(float(r[1]) * HEAT_BIN_DEG, 6), int(r[2])] for r in rows]
    return {
        **span.as_dict(),
        "total": total,
        "cells": cells[:HEAT_MAX_CELLS],
        "cells_truncated": len(cells) > HEAT_MAX_CELLS,
        "max": max((c[2] for c in cells), default=0),
        "bin_m": round(HEAT_BIN_DEG * 110_540),
    }


def points(session: Session, *, actor: Actor, span: Period, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """The newest cases inside the extent (at most POINTS_MAX), with how many there are in all."""
    west, south, east, north = bbox
    query = case_query(actor, span.case_filter()).where(Case.lon.between(west, east), Case.lat.between(south, north))
    total = int(session.execute(query.with_only_columns(func.count())).scalar_one())
    rows = session.execute(query.order_by(Case.reported_at.desc(), Case.id.desc()).limit(POINTS_MAX)).scalars()
    classes = class_table(session)
    items = []
    for case in rows:
        cls = classes.get(case.class_code)
        items.append(
            {
                "id": case.id,
                "number": case.number,
                "lat": round(case.lat, 6),
                "lon": round(case.lon, 6),
                "status": case.status,
                "status_label": STATUS_LABELS.get(case.status, case.status),
                "class_name": cls.name if cls else case.class_code,
                "light": light(case),
                "reported_at": case.reported_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
                "href": f"/citymgmt/cases/{case.id}",
            }
        )
    return {**span.as_dict(), "total": total, "items": items, "truncated": total > len(items)}


def addresses(session: Session, *, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """Standard addresses (地名地址) inside the extent, for the gazetteer layer."""
    west, south, east, north = bbox
    where = (Address.lon.between(west, east), Address.lat.between(south, north))
    total = int(session.execute(select(func.count()).select_from(Address).where(*where)).scalar_one())
    rows = session.execute(
        select(Address.id, Address.text, Address.lon, Address.lat)
        .where(*where)
        .order_by(Address.id)
        .limit(ADDRESSES_MAX)
    ).all()
    items = [{"id": r[0], "text": r[1], "lon": round(r[2], 6), "lat": round(r[3], 6)} for r in rows]
    return {"total": total, "items": items, "truncated": total > len(items)}
