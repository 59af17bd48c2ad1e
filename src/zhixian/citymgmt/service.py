"""The case hub's service: intake from every channel, near-duplicates, and where a case goes next.

This is citymgmt's public surface (other features use it only through ``service`` and ``schemas``),
so it re-exports the parts kept in their own modules: scoped reads and filters in ``queries``,
photos in ``photos``, run parameters in ``parameters``. State changes after intake live in
``workflow``; indicators in ``evaluation``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases import routing
from zhixian.citymgmt.cases.photos import (
    PHOTO_FORMATS,
    PhotoIn,
    check_photo,
    photo_file,
    read_upload,
    readable_photo,
    store_photo,
)
from zhixian.citymgmt.cases.queries import CaseFilter, case_query, case_read, get_case, light, list_cases, visible
from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.config.classes import class_table, get_class
from zhixian.citymgmt.config.parameters import config, set_config, shown_config
from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.citymgmt.geo import basemap
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Case, CaseClass, CaseEvent, CasePhoto, Component, Grid
from zhixian.citymgmt.open311.service import (
    PUBLIC_NOTES,
    PublicCase,
    check_public_rate,
    progress,
    public_case,
    public_cases_near,
)
from zhixian.citymgmt.schemas import CaseCreated, CaseIntake, CaseRead, ClassRead, DuplicateRead, PhotoRef
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import Invalid, NotPermitted
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings
from zhixian.subsystems import CaseCategory, CaseHook, Registry

__all__ = [
    "BASEMAP_TICKET",
    "LOCAL_EPOCH",
    "PHOTO_FORMATS",
    "PUBLIC_NOTES",
    "SOURCE_PERMISSIONS",
    "CaseFilter",
    "CaseHook",
    "ComponentRef",
    "IntakeOptions",
    "PhotoIn",
    "PublicCase",
    "add_case_classes",
    "add_event",
    "area_layer",
    "case_classes",
    "case_query",
    "case_read",
    "case_reads",
    "changed_since",
    "check_photo",
    "check_public_rate",
    "class_names",
    "component",
    "components",
    "config",
    "created",
    "distance_m",
    "duplicates",
    "gcj02_to_wgs84",
    "get_case",
    "grid_inspector",
    "grid_outlines",
    "intake",
    "intake_options",
    "light",
    "list_cases",
    "locate",
    "photo_file",
    "platform_tz",
    "progress",
    "public_basemap",
    "public_case",
    "public_cases_near",
    "read_upload",
    "readable_photo",
    "set_config",
    "shown_config",
    "store_photo",
    "suggest_department",
    "visible",
]


# Which permission lets an actor bring in a case from each channel.
SOURCE_PERMISSIONS: dict[str, str] = {
    "inspector": "citymgmt.report",
    "hotline": "citymgmt.accept",
    "open311": "citymgmt.intake",
    "portal": "citymgmt.intake",
    "sensor": "citymgmt.intake",
    "video": "citymgmt.intake",
    "referral": "citymgmt.intake",
    "leader": "citymgmt.intake",
}


area_layer = catalogue.area_layer  # street/community outlines: public administrative boundaries
gcj02_to_wgs84 = geo.gcj02_to_wgs84  # phone map SDKs' coordinates, converted on entry

# Citizen channels: their cases carry a random token, the only handle the public uses to follow them.
TOKEN_SOURCES = ("open311", "portal")


# --- who acts next: the handling department and the grid's inspector


def suggest_department(session: Session, case: Case) -> int | None:
    """Component owner first, then the class's department; ``@属地`` → the street's government.

    The rule and the words that explain it to the 派遣员 are in ``cases.routing.suggest``.
    """
    return routing.suggest(session, case).department_id


def grid_inspector(session: Session, grid_code: str | None) -> int | None:
    """The grid's inspector gets its verify and check tasks; ``None`` leaves them to any inspector."""
    if not grid_code:
        return None
    return session.execute(select(Grid.inspector_id).where(Grid.code == grid_code)).scalar_one_or_none()


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


def intake_options(
    registry: Registry,
    *,
    settings: Settings,
    cipher: FieldCipher,
    photos: Sequence[PhotoIn] = (),
    context: dict[str, Any] | None = None,
) -> IntakeOptions:
    """Options for intake on this node: the case hooks and intake channels its enabled subsystems contribute."""
    return IntakeOptions(
        settings=settings,
        cipher=cipher,
        photos=photos,
        hooks=registry.contributed("case_hooks"),
        context=context if context is not None else {},
        source_permissions={s.code: s.permission for s in registry.contributed("intake_sources")},
    )


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
        token=secrets.token_hex(16) if data.source in TOKEN_SOURCES else None,
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


LOCAL_EPOCH = datetime(2000, 1, 1, tzinfo=LOCAL_TZ)  # before any case: the exchange feed's first "since"


def changed_since(session: Session, *, since: datetime, limit: int) -> list[Case]:
    """The exchange feed (上报上级平台): cases updated after ``since``, oldest change first, at most ``limit``."""
    stmt = select(Case).where(Case.updated_at > since).order_by(Case.updated_at, Case.id).limit(limit)
    return list(session.execute(stmt).scalars())


# --- for subsystems that link their own records to the case hub (e.g. storefronts)


def locate(session: Session, lon: float, lat: float) -> geo.Location:
    """The grid, community and street of a point, or ``Invalid`` when it is outside the county."""
    return geo.locate(session, lon, lat)


def grid_outlines(session: Session) -> list[tuple[str, str]]:
    """(grid code, WKT outline) of every unit grid, by code."""
    return [(str(code), str(wkt)) for code, wkt in session.execute(select(Grid.code, Grid.wkt).order_by(Grid.code))]


def add_case_classes(session: Session, categories: Sequence[CaseCategory]) -> int:
    """Seeds contributed 部件/事件 classes (and the code tables if still empty); edited rows are kept."""
    return catalogue.seed_classes(session, categories)


def case_classes(session: Session, *, source: str) -> list[ClassRead]:
    """The 小类 a subsystem contributed (``CaseClass.source``), by code."""
    rows = session.execute(
        select(CaseClass).where(CaseClass.source == source, CaseClass.parent_code.is_not(None)).order_by(CaseClass.code)
    ).scalars()
    return [ClassRead.model_validate(c) for c in rows]


def case_reads(session: Session, case_ids: Sequence[int]) -> list[CaseRead]:
    """Cases by id, newest first, as read models: for records another subsystem linked to cases."""
    if not case_ids:
        return []
    rows = session.execute(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id.desc())).scalars()
    return [case_read(session, c) for c in rows]


@dataclass(frozen=True)
class ComponentRef:
    """A 部件 as other subsystems see it (e.g. the manhole cover a sensor watches)."""

    code: str
    class_code: str
    name: str
    lon: float
    lat: float
    grid_code: str | None


def _ref(c: Component) -> ComponentRef:
    return ComponentRef(code=c.code, class_code=c.class_code, name=c.name, lon=c.lon, lat=c.lat, grid_code=c.grid_code)


def component(session: Session, code: str) -> ComponentRef | None:
    """The 部件 with this 16-digit code, or ``None``."""
    row = session.execute(select(Component).where(Component.code == code)).scalar_one_or_none()
    return _ref(row) if row is not None else None


def components(session: Session, *, class_codes: Sequence[str], limit: int = 100) -> list[ComponentRef]:
    """部件 of these classes, by code (demo seeds place sensors on them)."""
    stmt = select(Component).where(Component.class_code.in_(class_codes)).order_by(Component.code).limit(limit)
    return [_ref(c) for c in session.execute(stmt).scalars()]


def class_names(session: Session) -> dict[str, str]:
    """Active 小类 code → name, for pickers in other subsystems."""
    return {c.code: c.name for c in class_table(session).values() if c.active and c.parent_code is not None}


def public_basemap(
    session: Session, *, cipher: FieldCipher, settings: Settings
) -> tuple[dict[str, Any], tuple[str, int] | None]:
    """The basemap a public map (the citizen portal) is told, and its tile ticket (cookie value, seconds) if tiled.

    Tickets of the public carry user 0: they only open the platform's own tile route, like a staff ticket.
    """
    active = basemap.active(session, cipher, settings)
    ticket = basemap.ticket(settings.effective_secret_key, 0) if active.layers else None
    return basemap.view(active), ticket


BASEMAP_TICKET = (basemap.TICKET_COOKIE, basemap.TICKET_PATH)
