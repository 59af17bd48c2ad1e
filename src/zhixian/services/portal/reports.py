"""Public problem reporting on the portal (随手拍, FixMyStreet-style): the citizen pins a place, sees the open
public reports nearby first (and may say "me too" instead of filing a duplicate), picks a category in plain
words, describes it, adds photos and submits. The report enters citymgmt's case hub through the same
``intake`` as Open311, with source ``portal`` (public by default in ``open311_public_sources``).

Choices, written down once:
- **Who may report.** Signed-in citizens and anonymous visitors alike. A signed-in reporter is kept here by
  the blind index of their ID number and the case carries their name for the 受理员 only: nothing public
  (Open311, the public page) ever shows the reporter. Anonymous reports count against the Open311 cap per
  address (IPv6: per /64) per hour, stored in the database (``Case.reporter_ip``), so every worker agrees.
  Anonymous reporters follow their case by its token (the page address they are given) and cannot rate.
- **"Me too"** needs sign-in: one support per citizen per case, idempotent; the count is public.
- **Photos** go through citymgmt's photo checks and size limit and are stored with the case for the staff.
  They are never published (faces, number plates and door numbers appear in street photos and there is
  no redaction step yet), just as Open311 publishes no uploaded photo; the public page says how many there are.
- **Rating** (好差评): the signed-in reporter, once, after the case is closed and only if a department handled it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.schemas import CaseIntake
from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound, pydantic_errors_to_chinese
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.services.portal import notices
from zhixian.services.portal.report_models import PortalReport, PortalSupport
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import RatingIn
from zhixian.settings import Settings
from zhixian.subsystems import Registry

SOURCE = "portal"
NEARBY_M = 200.0
MAX_PHOTOS = 3

# Plain words a citizen understands → the demo county's 小类 (the 受理员 may reclassify on verifying).
CATEGORIES: dict[str, tuple[str, str]] = {
    "road": ("路面破损、塌陷", "S0402"),
    "cover": ("井盖缺失、破损", "B0102"),
    "garbage": ("垃圾堆放", "S0102"),
    "bin": ("垃圾箱满溢、破损", "B0302"),
    "dirty": ("路面脏污", "S0104"),
    "stall": ("占道经营", "S0502"),
    "hawker": ("流动摊贩", "S0501"),
    "lamp": ("路灯不亮", "B0201"),
    "flyer": ("违章小广告", "S0201"),
    "billboard": ("违规户外广告", "S0203"),
    "water": ("道路积水", "S0403"),
    "tree": ("树木倒伏、枯死", "B0401"),
    "guardrail": ("护栏损坏", "B0203"),
    "noise": ("施工噪声", "S0301"),
    "dust": ("工地扬尘", "S0303"),
    "toilet": ("公厕脏乱、损坏", "B0301"),
}

# Intake on behalf of the portal: the channel's permission, nothing else (no user, no department).
PORTAL = Actor(
    user_id=0,
    username="portal",
    full_name="市民（一网通享）",
    department_id=0,
    department_path="/",
    department_name="",
    permissions=frozenset({"citymgmt.intake"}),
    via="system",
)

LABELS = {
    "category": "问题类型",
    "description": "问题描述",
    "lat": "位置",
    "lon": "位置",
    "location": "位置",
    "crs": "坐标系",
    "address": "地点说明",
    "photo": "照片",
}


class ReportIn(BaseModel):
    """What the form sends; the place is required (the map pin or the phone's position)."""

    category: str = Field(min_length=1, max_length=20, title="问题类型")
    description: str = Field(min_length=2, max_length=1000, title="问题描述")
    lat: float = Field(ge=-90, le=90, title="位置")
    lon: float = Field(ge=-180, le=180, title="位置")
    crs: Literal["WGS84", "GCJ02"] = Field(default="WGS84", title="坐标系")
    address: str = Field(default="", max_length=200, title="地点说明")


@dataclass(frozen=True)
class Reporter:
    """Who submits: a signed-in citizen (id and blind index) or nobody (anonymous), and from where."""

    ip: str
    citizen_id: int | None = None
    id_index: str = ""
    name: str = ""


def parse(form: dict[str, Any]) -> ReportIn:
    """The form as a ``ReportIn``; a missing or unusable place is named ``location`` (the map), in Chinese."""
    raw = {k: v for k, v in form.items() if v not in (None, "")}
    try:
        data = ReportIn.model_validate(raw)
    except ValidationError as exc:
        errors: list[FieldError] = []
        for e in pydantic_errors_to_chinese(list(exc.errors()), located=False):
            if e.field not in ("lat", "lon"):
                errors.append(e)
            elif not any(x.field == "location" for x in errors):
                errors.append(FieldError("请在地图上点选问题位置，或使用“定位到我”", field="location"))
        raise Invalid(
            "上报内容不完整：" + "；".join(f"{LABELS.get(e.field or '', e.field)}：{e.message}" for e in errors), errors
        ) from exc
    if data.category not in CATEGORIES:
        raise Invalid("问题类型不在可选范围内", field="category")
    if not data.description.strip():
        raise Invalid("请描述问题", field="description")
    return data


def check_photos(session: Session, photos: list[citymgmt.PhotoIn]) -> None:
    """citymgmt's own checks and size limit, named by this form's field, before anything is stored."""
    if len(photos) > MAX_PHOTOS:
        raise Invalid(f"照片最多 {MAX_PHOTOS} 张", field="photo")
    max_bytes = photo_max_bytes(session)
    for p in photos:
        citymgmt.check_photo(p.content, max_bytes=max_bytes, field_name="photo")


def photo_max_bytes(session: Session) -> int:
    return int(citymgmt.config(session)["photo_max_bytes"])


def submit(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    registry: Registry,
    reporter: Reporter,
    data: ReportIn,
    photos: list[citymgmt.PhotoIn],
) -> tuple[PortalReport, int]:
    """A new case in the hub from the portal; returns the link and how many near-duplicates the hub found."""
    if not reporter.id_index:
        citymgmt.check_public_rate(session, reporter.ip)
    lon, lat = citymgmt.gcj02_to_wgs84(data.lon, data.lat) if data.crs == "GCJ02" else (data.lon, data.lat)
    try:
        citymgmt.locate(session, lon, lat)
    except Invalid as exc:
        raise Invalid("所选位置不在本县范围内", [FieldError("请在本县范围内选点", field="location")]) from exc
    check_photos(session, photos)
    class_code = CATEGORIES[data.category][1]
    intake = CaseIntake(
        source=SOURCE,
        class_code=class_code,
        lon=data.lon,
        lat=data.lat,
        crs=data.crs,  # intake converts GCJ-02 itself and marks the case's coordinates as converted
        description=data.description.strip(),
        address=data.address.strip(),
        reporter_name=reporter.name[:100],
    )
    options = citymgmt.intake_options(
        registry,
        settings=settings,
        cipher=cipher,
        photos=[citymgmt.PhotoIn(p.content, p.filename, "before") for p in photos],
    )
    case = citymgmt.intake(session, actor=PORTAL, data=intake, options=options)
    case.reporter_ip = reporter.ip  # the same column Open311's cap counts
    row = PortalReport(
        case_id=case.id,
        case_number=case.number,
        token=case.token or "",
        category=data.category,
        citizen_id=reporter.citizen_id,
        reporter_index=reporter.id_index,
        photos=len(photos),
    )
    session.add(row)
    session.flush()
    return row, len(citymgmt.duplicates(session, case))


# --- nearby and "me too"


@dataclass(frozen=True)
class Nearby:
    token: str
    class_name: str
    status_note: str
    description: str
    distance_m: float
    supporters: int
    reported_at: datetime
    supported: bool  # by the signed-in citizen asking (always False when signed out)
    own: bool  # reported by the signed-in citizen asking


def supporters(session: Session, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(PortalSupport.case_id, func.count())
        .where(PortalSupport.case_id.in_(case_ids))
        .group_by(PortalSupport.case_id)
    ).all()
    return {int(k): int(n) for k, n in rows}


def nearby(
    session: Session, *, lat: float, lon: float, crs: str = "WGS84", citizen_id: int | None = None
) -> list[Nearby]:
    """Open public reports within ``NEARBY_M`` of the pin, nearest first (tokens only, never numbers)."""
    if crs == "GCJ02":
        lon, lat = citymgmt.gcj02_to_wgs84(lon, lat)
    found = citymgmt.public_cases_near(session, lon=lon, lat=lat, radius_m=NEARBY_M)
    ids = [c.id for c, _ in found]
    counts = supporters(session, ids)
    mine: set[int] = set()
    backed: set[int] = set()
    if citizen_id is not None and ids:
        backed = set(
            session.execute(
                select(PortalSupport.case_id).where(
                    PortalSupport.case_id.in_(ids), PortalSupport.citizen_id == citizen_id
                )
            ).scalars()
        )
        mine = set(
            session.execute(
                select(PortalReport.case_id).where(PortalReport.case_id.in_(ids), PortalReport.citizen_id == citizen_id)
            ).scalars()
        )
    return [
        Nearby(
            c.token,
            c.class_name,
            c.status_note,
            c.description[:120],
            d,
            counts.get(c.id, 0),
            c.reported_at,
            supported=c.id in backed,
            own=c.id in mine,
        )
        for c, d in found
        if c.token
    ]


def support(session: Session, *, citizen_id: int, token: str) -> int:
    """“我也遇到了” on an open public case: recorded once per citizen (again is no change); returns the count."""
    case = citymgmt.public_case(session, token=token)
    if case is None:
        raise NotFound("该问题不存在或未公开")
    if case.closed:
        raise Conflict("该问题已办结，如仍存在请重新上报")
    exists = session.execute(
        select(PortalSupport.id).where(PortalSupport.case_id == case.id, PortalSupport.citizen_id == citizen_id)
    ).scalar()
    if exists is None:
        try:
            with session.begin_nested():
                session.add(PortalSupport(case_id=case.id, citizen_id=citizen_id))
        except IntegrityError:
            pass  # a second tap raced the first: the one row stands
    return supporters(session, [case.id]).get(case.id, 0)


# --- following a report


@dataclass(frozen=True)
class ReportView:
    """What a report's page shows: the public view, and for its own reporter the rating state too."""

    case: citymgmt.PublicCase
    supporters: int
    photos: int
    own: PortalReport | None
    rating: Any = None  # the Rating row once rated


def _own(session: Session, *, id_index: str, token: str) -> PortalReport | None:
    if not id_index or not token:
        return None
    return session.execute(
        select(PortalReport).where(PortalReport.token == token, PortalReport.reporter_index == id_index)
    ).scalar_one_or_none()


def view(session: Session, *, token: str, id_index: str = "") -> ReportView:
    """A report by token: public cases for anyone; a reporter also sees their own when it is not public."""
    own = _own(session, id_index=id_index, token=token)
    case = citymgmt.progress(session, case_ids=[own.case_id]).get(own.case_id) if own else None
    if case is None:
        case = citymgmt.public_case(session, token=token)
    if case is None:
        raise NotFound("该问题不存在或未公开")
    photos = own.photos if own else _photo_count(session, case.id)
    rating = ratings.rating_for_case(session, case_id=case.id) if own else None
    return ReportView(case, supporters(session, [case.id]).get(case.id, 0), photos, own, rating)


def _photo_count(session: Session, case_id: int) -> int:
    return int(session.execute(select(PortalReport.photos).where(PortalReport.case_id == case_id)).scalar() or 0)


def mine(session: Session, *, id_index: str) -> list[tuple[PortalReport, citymgmt.PublicCase]]:
    """The signed-in citizen's reports, newest first, each with its neutral public status."""
    rows = list(
        session.execute(
            select(PortalReport)
            .where(PortalReport.reporter_index == id_index, PortalReport.reporter_index != "")
            .order_by(PortalReport.created_at.desc(), PortalReport.id.desc())
            .limit(200)
        ).scalars()
    )
    cases = citymgmt.progress(session, case_ids=[r.case_id for r in rows])
    return [(r, cases[r.case_id]) for r in rows if r.case_id in cases]


def rate(session: Session, *, settings: Settings, reporter: Reporter, token: str, data: RatingIn) -> None:
    """好差评 by the reporter of a closed case, once; anyone else's token answers 404."""
    own = _own(session, id_index=reporter.id_index, token=token)
    if own is None:
        raise NotFound("该问题不存在或未公开")
    case = citymgmt.progress(session, case_ids=[own.case_id]).get(own.case_id)
    if case is None:
        raise NotFound("该问题不存在或未公开")
    if not case.closed:
        raise Conflict("问题办结后才能评价")
    ctx = audit.AuditContext(username=f"citizen:{reporter.citizen_id}", ip=reporter.ip)
    ratings.rate_case(
        session,
        settings=settings,
        ctx=ctx,
        case_id=case.id,
        case_number=case.number,
        department_id=case.department_id,
        recorded_by=f"citizen:{reporter.citizen_id}",
        data=data,
    )


def notify_closed(session: Session) -> int:
    """A notice to each signed-in reporter whose case has closed since the last run (the job calls this)."""
    rows = list(
        session.execute(
            select(PortalReport)
            .where(PortalReport.closed_notified_at.is_(None), PortalReport.reporter_index != "")
            .order_by(PortalReport.id)
            .limit(500)
        ).scalars()
    )
    cases = citymgmt.progress(session, case_ids=[r.case_id for r in rows])
    n = 0
    for row in rows:
        case = cases.get(row.case_id)
        if case is None or not case.closed:
            continue
        notices.notify(
            session,
            recipient_index=row.reporter_index,
            kind="report",
            title=f"您反映的问题（{case.class_name}）已办结",
            body=f"{case.status_note}。欢迎对办理结果进行评价。",
            link=f"/portal/reports/{row.token}",
        )
        row.closed_notified_at = utcnow()
        n += 1
    session.flush()
    return n
