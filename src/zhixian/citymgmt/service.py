"""One case hub: intake from every channel, photos, near-duplicates, scoped reads, configuration.

State changes after intake live in ``workflow``; indicators in ``evaluation``.
"""

from __future__ import annotations

import hashlib
import io
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from zhixian.citymgmt import geo
from zhixian.citymgmt.classes import class_table, get_class
from zhixian.citymgmt.models import Case, CaseClass, CaseEvent, CasePhoto, Component, ConfigValue, Grid, Task
from zhixian.citymgmt.schemas import CaseCreated, CaseIntake, CaseRead, DuplicateRead, PhotoRef
from zhixian.citymgmt.standards import DEFAULT_CONFIG, SOURCES, STATUS_LABELS
from zhixian.db import utcnow
from zhixian.errors import FieldError, Invalid, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

# Which permission lets an actor bring in a case from each channel.
SOURCE_PERMISSIONS: dict[str, str] = {
    "inspector": "citymgmt.report",
    "hotline": "citymgmt.accept",
    "open311": "citymgmt.intake",
    "sensor": "citymgmt.intake",
    "video": "citymgmt.intake",
    "referral": "citymgmt.intake",
    "leader": "citymgmt.intake",
}

CaseHook = Callable[[Session, Case, dict[str, Any]], None]
PHOTO_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


# --- configuration


def config(session: Session) -> dict[str, Any]:
    values = dict(DEFAULT_CONFIG)
    for row in session.execute(select(ConfigValue)).scalars():
        values[row.key] = row.value
    return values


def set_config(session: Session, *, actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    actor.require("citymgmt.config")
    if "weights" in changes and changes["weights"] is not None:
        weights = {**DEFAULT_CONFIG["weights"], **changes["weights"]}
        if abs(sum(weights.values()) - 1.0) > 1e-6 or min(weights.values()) < 0:
            raise Invalid("综合评价权重必须非负且合计为 1", field="weights")
        changes["weights"] = weights
    for key, value in changes.items():
        if value is None or key not in DEFAULT_CONFIG:
            continue
        row = session.get(ConfigValue, key) or ConfigValue(key=key)
        row.value = value
        session.add(row)
    audit.record(session, actor.audit, action="citymgmt.config", object_type="citymgmt_config", detail=changes)
    session.flush()
    return config(session)


# --- classes and departments


def suggest_department(session: Session, case: Case) -> int | None:
    """Component owner first, then the class's department; ``@属地`` → the street's government."""
    if case.component_code:
        comp = session.execute(select(Component).where(Component.code == case.component_code)).scalar_one_or_none()
        if comp is not None and (comp.maintainer_department_id or comp.owner_department_id):
            return comp.maintainer_department_id or comp.owner_department_id
    cls = class_table(session).get(case.class_code)
    code = cls.department_code if cls else None
    if code == "@属地":
        code = f"xz{case.street_code[6:9]}" if case.street_code else None
    if not code:
        return None
    dept = platform.department_by_code(session, code)
    return dept.id if dept is not None else None


# --- photos


@dataclass
class PhotoIn:
    content: bytes
    filename: str = ""
    stage: str = "before"


def check_photo(content: bytes, *, max_bytes: int, field_name: str = "photo") -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of a real image within the size limit."""
    if len(content) > max_bytes:
        raise Invalid(
            "照片过大",
            [
                FieldError(
                    f"照片不能超过 {max_bytes // 1024 // 1024} MB（收到 {len(content) / 1048576:.1f} MB）",
                    field=field_name,
                )
            ],
        )
    if not content:
        raise Invalid("照片为空", field=field_name)
    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt = img.format or ""
            width, height = img.size
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Invalid(
            "文件不是有效的图片", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)]
        ) from exc
    if fmt not in PHOTO_FORMATS:
        raise Invalid("不支持的图片格式", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)])
    if width * height > 60_000_000:
        raise Invalid("图片像素过多", field=field_name)
    ctype, ext = PHOTO_FORMATS[fmt]
    return ctype, ext, width, height


def store_photo(session: Session, *, settings: Settings, case: Case, photo: PhotoIn, actor: Actor) -> CasePhoto:
    max_bytes = int(config(session)["photo_max_bytes"])
    ctype, ext, width, height = check_photo(photo.content, max_bytes=max_bytes)
    digest = hashlib.sha256(photo.content).hexdigest()
    rel = Path("citymgmt") / digest[:2] / f"{digest}.{ext}"
    target = settings.data_dir / "uploads" / rel
    if not target.exists():  # content-addressed: a retried upload writes nothing new
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(photo.content)
        tmp.replace(target)
    row = CasePhoto(
        case_id=case.id,
        stage=photo.stage,
        sha256=digest,
        path=str(rel),
        content_type=ctype,
        size=len(photo.content),
        width=width,
        height=height,
        uploaded_by=actor.user_id or None,
        at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def photo_file(settings: Settings, photo: CasePhoto) -> Path:
    return settings.data_dir / "uploads" / photo.path


# --- intake


def add_event(
    session: Session,
    case: Case,
    *,
    actor: Actor,
    step: str,
    from_status: str | None,
    to_status: str | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    department_id: int | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        step=step,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.user_id or None,
        actor_name=actor.full_name or actor.username,
        note=note,
        data=data or {},
        at=at or utcnow(),
        department_id=department_id,
    )
    session.add(event)
    case.updated_at = event.at
    return event


@dataclass
class IntakeOptions:
    """Everything intake needs besides the report itself; hooks come from extensions."""

    settings: Settings
    cipher: FieldCipher
    photos: Sequence[PhotoIn] = ()
    hooks: Sequence[CaseHook] = ()
    context: dict[str, Any] = field(default_factory=dict)
    source_permissions: dict[str, str] = field(default_factory=dict)
    now: datetime | None = None
    stored: list[CasePhoto] = field(default_factory=list)  # filled by intake: the photos it saved


def intake(session: Session, *, actor: Actor, data: CaseIntake, options: IntakeOptions) -> Case:
    """A new case from any channel, located in a grid; self-disposed reports are closed at once."""
    permissions = {**SOURCE_PERMISSIONS, **options.source_permissions}
    needed = permissions.get(data.source)
    if needed is None or not (actor.can(needed) or actor.can("citymgmt.intake")):
        raise NotPermitted(f"无权以“{SOURCES.get(data.source, data.source)}”渠道上报案件")
    known = geo.versions(session)
    cls = get_class(session, data.class_code, known)
    lon, lat, note = data.lon, data.lat, "WGS84"
    if data.crs == "GCJ02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
        note = "GCJ-02→WGS84"
    where = geo.locate(session, lon, lat, known)
    if data.component_code:
        comp = session.execute(select(Component.id).where(Component.code == data.component_code)).first()
        if comp is None:
            raise Invalid("部件编码不存在", field="component_code")
    if data.self_disposed and not any(p.stage == "after" for p in options.photos):
        raise Invalid("自行处置须上传处置后照片", field="photo_after")
    now = options.now or utcnow()
    case = Case(
        number="T" + secrets.token_hex(8),
        source=data.source,
        kind=cls.kind,
        class_code=cls.code,
        status="reported",
        urgent=data.urgent,
        description=data.description,
        address=data.address,
        lon=lon,
        lat=lat,
        coord_note=note,
        grid_code=where.grid_code,
        community_code=where.community_code,
        street_code=where.street_code,
        component_code=data.component_code,
        reporter_id=actor.user_id or None,
        reporter_name=data.reporter_name or (actor.full_name if data.source == "inspector" else ""),
        reporter_contact_enc=options.cipher.encrypt(data.reporter_contact) if data.reporter_contact else None,
        external_ref=data.external_ref,
        token=secrets.token_hex(16) if data.source == "open311" else None,
        reported_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    case.number = f"{now.astimezone(platform_tz()).year}{case.id:08d}"
    add_event(
        session,
        case,
        actor=actor,
        step="上报",
        from_status=None,
        to_status="reported",
        note=data.description[:200],
        data={"source": data.source, "coord": note},
        at=now,
    )
    for photo in options.photos:
        options.stored.append(store_photo(session, settings=options.settings, case=case, photo=photo, actor=actor))
    if data.self_disposed:
        case.status, case.self_disposed, case.closed_at = "closed", True, now
        case.filed_at, case.completed_at, case.completed_on_time = now, now, True
        add_event(session, case, actor=actor, step="自行处置", from_status="reported", to_status="closed", at=now)
    session.flush()
    for hook in options.hooks:
        hook(session, case, options.context)
    # last: on PostgreSQL the audit chain holds a lock until commit, so nothing slow may follow it
    audit.record(
        session,
        actor.audit,
        action="citymgmt.case_create",
        object_type="cm_case",
        object_id=case.number,
        detail={"source": data.source, "class": cls.code, "grid": where.grid_code, "self_disposed": data.self_disposed},
    )
    return case


def created(case: Case, photos: Sequence[CasePhoto] = ()) -> CaseCreated:
    """The slim intake answer, built from what is already in memory (no further queries)."""
    return CaseCreated(
        id=case.id,
        number=case.number,
        source=case.source,
        kind=case.kind,
        class_code=case.class_code,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        urgent=case.urgent,
        self_disposed=case.self_disposed,
        lon=case.lon,
        lat=case.lat,
        coord_note=case.coord_note,
        grid_code=case.grid_code,
        community_code=case.community_code,
        street_code=case.street_code,
        reported_at=case.reported_at,
        deadline=case.deadline,
        closed_at=case.closed_at,
        photos=[PhotoRef(id=p.id, stage=p.stage, url=f"/api/v1/citymgmt/photos/{p.id}") for p in photos],
        links={"detail": f"/api/v1/citymgmt/cases/{case.id}", "page": f"/citymgmt/cases/{case.id}"},
    )


def platform_tz() -> Any:
    from zhixian.web.templating import LOCAL_TZ

    return LOCAL_TZ


# --- near-duplicates


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def duplicates(session: Session, case: Case) -> list[DuplicateRead]:
    """Open cases of the same class nearby and recent: the 受理员 decides whether to merge."""
    cfg = config(session)
    radius = float(cfg["duplicate_distance_m"])
    window = timedelta(hours=float(cfg["duplicate_hours"]))
    dlat = radius / 110_540.0
    dlon = radius / (111_320.0 * max(0.1, math.cos(math.radians(case.lat))))
    rows = session.execute(
        select(Case)
        .where(
            Case.id != case.id,
            Case.class_code == case.class_code,
            Case.status.in_(("reported", "verifying", "dispatching", "handling", "checking", "on_hold")),
            Case.lon.between(case.lon - dlon, case.lon + dlon),
            Case.lat.between(case.lat - dlat, case.lat + dlat),
            Case.reported_at.between(case.reported_at - window, case.reported_at + window),
        )
        .limit(20)
    ).scalars()
    out = []
    for other in rows:
        d = distance_m(case.lon, case.lat, other.lon, other.lat)
        if d <= radius:
            out.append(
                DuplicateRead(
                    id=other.id,
                    number=other.number,
                    status=other.status,
                    distance_m=round(d, 1),
                    reported_at=other.reported_at,
                )
            )
    return sorted(out, key=lambda r: r.distance_m)


# --- reading, scoped


def visible(actor: Actor) -> ColumnElement[bool]:
    """Cases an actor may see: the centre and leaders all; a department its own; an inspector their own."""
    if actor.can("citymgmt.view") or actor.county_scope:
        return Case.id.is_not(None)
    conditions: list[ColumnElement[bool]] = []
    if actor.can("citymgmt.handle"):
        conditions.append(actor.department_filter(Case.department_path))  # type: ignore[arg-type]
    if actor.can("citymgmt.report"):
        conditions.append(Case.reporter_id == actor.user_id)
        conditions.append(exists().where(Task.case_id == Case.id, Task.assignee_id == actor.user_id))
    if not conditions:
        raise NotPermitted("没有查看案件的权限")
    return or_(*conditions)


def get_case(session: Session, *, actor: Actor, case_id: int) -> Case:
    row = session.execute(select(Case).where(Case.id == case_id, visible(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("案件不存在或无权查看")
    return row


@dataclass
class CaseFilter:
    status: str | None = None
    light: str | None = None  # red / yellow
    source: str | None = None
    class_code: str | None = None
    department_id: int | None = None
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    q: str = ""
    open_only: bool = False
    closed: bool | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    dispatched_from: datetime | None = None
    dispatched_to: datetime | None = None
    mine: bool = False
    extra: list[ColumnElement[bool]] = field(default_factory=list)


def case_query(  # noqa: PLR0912 - one condition per filter field
    actor: Actor, flt: CaseFilter, *, now: datetime | None = None
) -> Select[Any]:
    now = now or utcnow()
    query = select(Case).where(visible(actor))
    conds: list[ColumnElement[bool]] = list(flt.extra)
    if flt.status == "open":
        conds.append(Case.status.in_(("reported", "verifying", "dispatching", "handling", "checking", "on_hold")))
    elif flt.status:
        conds.append(Case.status == flt.status)
    if flt.light == "red":
        conds += [Case.status == "handling", Case.deadline < now]
    elif flt.light == "yellow":
        conds += [Case.status == "handling", Case.deadline >= now, Case.warn_at <= now]
    elif flt.light == "overdue_closed":
        conds += [Case.status == "closed", Case.completed_on_time.is_(False)]
    for column, value in (
        (Case.source, flt.source),
        (Case.class_code, flt.class_code),
        (Case.department_id, flt.department_id),
        (Case.grid_code, flt.grid_code),
        (Case.community_code, flt.community_code),
        (Case.street_code, flt.street_code),
    ):
        if value:
            conds.append(column == value)
    if flt.q:
        like = f"%{flt.q.replace('%', '').replace('_', '')}%"
        conds.append(or_(Case.number.like(like), Case.description.like(like), Case.address.like(like)))
    if flt.reported_from:
        conds.append(Case.reported_at >= flt.reported_from)
    if flt.reported_to:
        conds.append(Case.reported_at < flt.reported_to)
    if flt.dispatched_from:
        conds.append(Case.dispatched_at >= flt.dispatched_from)
    if flt.dispatched_to:
        conds.append(Case.dispatched_at < flt.dispatched_to)
    if flt.mine:
        conds.append(
            or_(
                and_(
                    Case.department_path.is_not(None),
                    actor.department_filter(Case.department_path),  # type: ignore[arg-type]
                    Case.status == "handling",
                ),
                exists().where(Task.case_id == Case.id, Task.assignee_id == actor.user_id, Task.done_at.is_(None)),
            )
        )
    if conds:
        query = query.where(*conds)
    return query


def list_cases(
    session: Session, *, actor: Actor, flt: CaseFilter, offset: int = 0, limit: int = 50, order: str = "recent"
) -> tuple[list[Case], int]:
    query = case_query(actor, flt)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    ordering = (Case.deadline.asc(), Case.id) if order == "deadline" else (Case.reported_at.desc(), Case.id.desc())
    rows = session.execute(query.order_by(*ordering).offset(offset).limit(limit)).scalars().all()
    return list(rows), int(total)


def light(case: Case, now: datetime | None = None) -> Literal["green", "yellow", "red", "none"]:
    if case.status != "handling" or case.deadline is None:
        return "none"
    now = now or utcnow()
    if now > case.deadline:
        return "red"
    if case.warn_at is not None and now >= case.warn_at:
        return "yellow"
    return "green"


def case_read(
    session: Session, case: Case, *, names: dict[str, str] | None = None, now: datetime | None = None
) -> CaseRead:
    cls = session.get(CaseClass, case.class_code)  # identity map: one load per class per request
    dept = platform.get_department(session, case.department_id) if case.department_id else None
    return CaseRead(
        id=case.id,
        number=case.number,
        source=case.source,
        source_label=SOURCES.get(case.source, case.source),
        kind=case.kind,
        class_code=case.class_code,
        class_name=cls.name if cls else case.class_code,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        urgent=case.urgent,
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        coord_note=case.coord_note,
        grid_code=case.grid_code,
        community_code=case.community_code,
        street_code=case.street_code,
        component_code=case.component_code,
        department_id=case.department_id,
        department_name=dept.name if dept else None,
        merged_into_id=case.merged_into_id,
        reported_at=case.reported_at,
        filed_at=case.filed_at,
        dispatched_at=case.dispatched_at,
        deadline=case.deadline,
        completed_at=case.completed_at,
        closed_at=case.closed_at,
        light=light(case, now),
        self_disposed=case.self_disposed,
        rework_count=case.rework_count,
        return_count=case.return_count,
        postpone_count=case.postpone_count,
        hold_count=case.hold_count,
        supervise_count=case.supervise_count,
    )


def grid_inspector(session: Session, grid_code: str | None) -> int | None:
    if not grid_code:
        return None
    return session.execute(select(Grid.inspector_id).where(Grid.code == grid_code)).scalar_one_or_none()
