"""授权: made only from an approved request, narrowed but never widened by the approver; suspended,
resumed, renewed or revoked by the provider or the data authority — effective on the very next call,
because the gateway reads the grant on every call.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import local_today, utcnow
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.exchange import filters, policy, records, sources, timeline
from zhixian.exchange.models import Application, Grant, ShareRequest
from zhixian.exchange.schemas import ApproveIn
from zhixian.exchange.settings import GRANT_MAX_DAYS
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department
from zhixian.settings import Settings

AUTHORITY = "exchange.authority"


def _authority(actor: Actor) -> bool:
    return actor.can(AUTHORITY) and actor.county_scope


def state(grant: Grant, today: date | None = None) -> str:
    """active / suspended / revoked / expired, or pending before its first day."""
    today = today or local_today()
    if grant.status != "active":
        return grant.status
    if grant.valid_until < today:
        return "expired"
    return "pending" if grant.valid_from > today else "active"


def state_label(value: str) -> str:
    return {**policy.GRANT_LABELS, "pending": "未生效"}.get(value, value)


def _own(session: Session, actor: Actor, department_id: int) -> bool:
    dept = session.get(Department, department_id)
    return dept is not None and dept.path.startswith(actor.department_path)


def is_own(session: Session, actor: Actor, department_id: int) -> bool:
    """The actor's department or one of its units (subscriptions are scoped as grants are)."""
    return _own(session, actor, department_id)


def own_departments(actor: Actor) -> Select[Any]:
    """Ids of the actor's department and its units, for use in SQL."""
    return select(Department.id).where(actor.department_filter(Department.path))


def from_request(session: Session, *, actor: Actor, settings: Settings, req: ShareRequest, data: ApproveIn) -> Grant:
    """The grant an approval makes: items, operations, rows and period at most what was asked for."""
    source = sources.load(session, req.resource_id)
    if source is None:
        raise NotFound("申请的目录资源已不存在")
    items = data.items or list(req.items)
    wider = [f for f in items if f not in req.items]
    if wider:
        raise Invalid(f"只能在申请范围内授权，{'、'.join(wider)} 不在申请的信息项中", field="items")
    missing = [f for f in items if f not in source.items]
    if missing:
        raise Invalid(f"目录资源已没有信息项 {'、'.join(missing)}", field="items")
    plain = [f for f in data.plain_items if f]
    outside = [f for f in plain if f not in items]
    if outside:
        raise Invalid(f"不脱敏的信息项须在授权的信息项中：{'、'.join(outside)}", field="plain_items")
    for name in plain:
        item = source.items[name]
        grade = policy.ItemGrade(item.field, item.grade, item.sensitivity, item.masking)
        if policy.needs_authority_for_plain(grade, settings) and not _authority(actor):
            raise NotPermitted(f"“{item.name}”为重要或高敏感信息项，不脱敏提供须由数据主管部门决定")
    operations = list(dict.fromkeys(data.operations or req.operations))
    if [o for o in operations if o not in req.operations]:
        raise Invalid("只能在申请的调用方式内授权", field="operations")
    if "verify" in operations and ("name" not in items or source.key_field not in items):
        raise Invalid("核验须同时授权主键和名称/姓名信息项", field="operations")
    clear = {f: t for f, t in source.field_types().items() if f not in ("id_number", "phone")}
    extra = filters.normalise(
        [c.model_dump() for c in data.row_filter or []], fields=clear, ops=filters.ROW_OPS, where="row_filter"
    )
    if data.row_scope == "own_division":
        dept = session.get(Department, req.consumer_department_id)
        extra = filters.township_filter(dept.division_code if dept else None) + extra
    row_filter = list(req.row_filter) + [c for c in extra if c not in req.row_filter]
    today = local_today()
    valid_until = data.valid_until or req.period_end
    if valid_until > req.period_end:
        raise Invalid(f"授权有效期不能超过申请的使用期限（{req.period_end}）", field="valid_until")
    if valid_until < today:
        raise Invalid("授权有效期不能早于今天", field="valid_until")
    grant = Grant(
        request_id=req.id,
        resource_id=req.resource_id,
        resource_code=req.resource_code,
        resource_name=req.resource_name,
        base_library=source.base_library,
        provider_department_id=req.provider_department_id,
        consumer_department_id=req.consumer_department_id,
        application_id=req.application_id,
        items=items,
        plain_items=plain,
        operations=operations,
        row_filter=row_filter,
        purpose=req.purpose,
        legal_basis=req.legal_basis,
        valid_from=max(req.period_start, today),
        valid_until=valid_until,
        created_by=actor.username,
    )
    session.add(grant)
    session.flush()
    return grant


def record_created(session: Session, *, actor: Actor, grant: Grant, req: ShareRequest) -> None:
    timeline.step(
        session,
        actor.audit,
        action="granted",
        request=req,
        grant=grant,
        note=f"有效期 {grant.valid_from} 至 {grant.valid_until}",
        detail={
            "grant": grant.id,
            "items": grant.items,
            "plain_items": grant.plain_items,
            "operations": grant.operations,
            "row_filter": grant.row_filter,
        },
    )


# --- reading


def scope(actor: Actor) -> ColumnElement[bool]:
    if _authority(actor):
        return Grant.id.is_not(None)
    own = select(Department.id).where(actor.department_filter(Department.path))
    return or_(Grant.consumer_department_id.in_(own), Grant.provider_department_id.in_(own))


def get_grant(session: Session, *, actor: Actor, grant_id: int) -> Grant:
    actor.require("exchange.view")
    row = session.execute(select(Grant).where(Grant.id == grant_id, scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("授权不存在或无权查看")
    return row


def _state_filter(value: str, today: date) -> ColumnElement[bool]:
    live = Grant.status == "active"
    return {
        "active": live & (Grant.valid_from <= today) & (Grant.valid_until >= today),
        "pending": live & (Grant.valid_from > today),
        "expired": live & (Grant.valid_until < today),
        "expiring": live & (Grant.valid_until >= today) & (Grant.valid_until <= today + timedelta(days=30)),
        "suspended": Grant.status == "suspended",
        "revoked": Grant.status == "revoked",
    }.get(value, Grant.id.is_not(None))


def list_grants(
    session: Session,
    *,
    actor: Actor,
    box: str = "all",
    state_value: str = "",
    resource_id: int | None = None,
    application_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Grant], int]:
    actor.require("exchange.view")
    stmt: Select[Any] = select(Grant).where(scope(actor))
    own = select(Department.id).where(actor.department_filter(Department.path))
    if box == "received":
        stmt = stmt.where(Grant.consumer_department_id.in_(own))
    elif box == "given":
        stmt = stmt.where(Grant.provider_department_id.in_(own))
    if state_value:
        stmt = stmt.where(_state_filter(state_value, local_today()))
    if resource_id:
        stmt = stmt.where(Grant.resource_id == resource_id)
    if application_id:
        stmt = stmt.where(Grant.application_id == application_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Grant.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), int(total)


def _manager(session: Session, actor: Actor, grant: Grant) -> bool:
    """The provider side and the data authority manage a grant; the consumer only reads it."""
    return _authority(actor) or (actor.can("exchange.approve") and _own(session, actor, grant.provider_department_id))


def actions(session: Session, actor: Actor, grant: Grant) -> list[str]:
    if not _manager(session, actor, grant):
        return []
    out = []
    if grant.status == "active":
        out.append("suspend")
    if grant.status == "suspended":
        out.append("resume")
    if grant.status != "revoked":
        out += ["renew", "revoke"]
    return out


def _manage(session: Session, actor: Actor, grant_id: int, action: str) -> Grant:
    grant = get_grant(session, actor=actor, grant_id=grant_id)
    if not _manager(session, actor, grant):
        raise NotPermitted("只有提供方或数据主管部门可以管理授权")
    if action not in actions(session, actor, grant):
        raise Conflict(f"授权当前为“{state_label(state(grant))}”，不能执行此操作")
    return grant


def _changed(session: Session, actor: Actor, grant: Grant, action: str, note: str, **detail: Any) -> Grant:
    grant.updated_at = utcnow()
    session.flush()
    timeline.step(session, actor.audit, action=action, grant=grant, note=note, detail=detail)
    return grant


def suspend(session: Session, *, actor: Actor, grant_id: int, reason: str) -> Grant:
    grant = _manage(session, actor, grant_id, "suspend")
    grant.status, grant.status_reason = "suspended", reason.strip()
    return _changed(session, actor, grant, "suspended", grant.status_reason)


def resume(session: Session, *, actor: Actor, grant_id: int, note: str = "") -> Grant:
    grant = _manage(session, actor, grant_id, "resume")
    grant.status, grant.status_reason = "active", ""
    return _changed(session, actor, grant, "resumed", note)


def revoke(session: Session, *, actor: Actor, grant_id: int, reason: str) -> Grant:
    grant = _manage(session, actor, grant_id, "revoke")
    grant.status, grant.status_reason = "revoked", reason.strip()
    return _changed(session, actor, grant, "revoked", grant.status_reason)


def renew(session: Session, *, actor: Actor, settings: Settings, grant_id: int, valid_until: date, note: str) -> Grant:
    grant = _manage(session, actor, grant_id, "renew")
    today = local_today()
    if valid_until <= max(grant.valid_until, today - timedelta(days=1)):
        raise Invalid(f"续期后的有效期须晚于现有有效期（{grant.valid_until}）和今天", field="valid_until")
    if (valid_until - today).days > settings.declared(GRANT_MAX_DAYS):
        raise Invalid(f"有效期自今天起不能超过 {settings.declared(GRANT_MAX_DAYS)} 天", field="valid_until")
    before = grant.valid_until
    grant.valid_until, grant.expiry_noted = valid_until, False
    return _changed(session, actor, grant, "renewed", note, before=str(before), after=str(valid_until))


# --- the gateway's and integration's view


_USABLE = (
    select(Grant)
    .where(
        Grant.resource_id == bindparam("rid"),
        Grant.consumer_department_id == bindparam("dept"),
        or_(Grant.application_id.is_(None), Grant.application_id == bindparam("app")),
        Grant.status == "active",
        Grant.valid_from <= bindparam("today"),
        Grant.valid_until >= bindparam("today"),
    )
    .order_by(Grant.id.desc())
)


def usable(session: Session, application: Application, resource_id: int, today: date) -> list[Grant]:
    """Live grants this application may use for the resource, newest first (read on every call, so a
    suspension or revocation takes effect on the next one)."""
    params = {"rid": resource_id, "dept": application.department_id, "app": application.id, "today": today}
    return list(session.execute(_USABLE, params).scalars())


def why_not(session: Session, application: Application, resource_id: int, today: date) -> str:
    """Why no grant applies, in words the consumer can act on (no other department's facts)."""
    latest = session.execute(
        select(Grant)
        .where(
            Grant.resource_id == resource_id,
            Grant.consumer_department_id == application.department_id,
            or_(Grant.application_id.is_(None), Grant.application_id == application.id),
        )
        .order_by(Grant.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return "本应用未获得该资源的共享授权，请先提交共享申请"
    value = state(latest, today)
    if value == "suspended":
        return f"该资源的授权已暂停：{latest.status_reason or '请联系提供方'}"
    if value == "revoked":
        return f"该资源的授权已撤销：{latest.status_reason or '请联系提供方'}"
    if value == "expired":
        return f"该资源的授权已于 {latest.valid_until} 到期，请申请续期"
    if value == "pending":
        return f"该资源的授权自 {latest.valid_from} 起生效"
    return "本应用未获得该资源的共享授权"


def applications_granted(session: Session, application: Application, today: date) -> list[Grant]:
    return list(
        session.execute(
            select(Grant)
            .where(
                Grant.consumer_department_id == application.department_id,
                or_(Grant.application_id.is_(None), Grant.application_id == application.id),
                Grant.status == "active",
                Grant.valid_from <= today,
                Grant.valid_until >= today,
            )
            .order_by(Grant.resource_code)
        ).scalars()
    )


def base_read(session: Session, actor: Actor, entity: str, row: Any) -> bool:
    """integration.access hook: a live grant to the actor's department (or a parent) on the base library,
    whose row filter the record meets, lets the actor read that record (masked) on the platform's pages."""
    library = "人口" if entity == "person" else "法人"
    ancestors = [int(p) for p in actor.department_path.strip("/").split("/") if p.isdigit()]
    if not ancestors:
        return False
    today = local_today()
    row_filters = session.execute(
        select(Grant.row_filter).where(
            Grant.base_library == library,
            Grant.consumer_department_id.in_(ancestors),
            Grant.application_id.is_(None),
            Grant.status == "active",
            Grant.valid_from <= today,
            Grant.valid_until >= today,
        )
    ).scalars()
    values = records.library_values(sources.library_row(entity, row))
    return any(filters.matches(rf or [], values) for rf in row_filters)


def expire(session: Session, *, today: date) -> int:
    """Notes once, on each grant's timeline, that it has run out (the gateway already refuses it)."""
    rows = session.execute(
        select(Grant).where(Grant.status == "active", Grant.valid_until < today, Grant.expiry_noted.is_(False))
    ).scalars()
    n = 0
    for grant in rows:
        grant.expiry_noted = True
        timeline.step(session, audit.SYSTEM, action="expired", grant=grant, note=f"有效期至 {grant.valid_until}")
        n += 1
    session.flush()
    return n
