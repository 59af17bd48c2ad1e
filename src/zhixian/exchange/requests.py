"""共享申请 → 审核/答复 → 授权, with disputes, deadlines in working days, reminders and escalation.

Paths by the strictest share type of the resource and the items asked for (就高从严):
- 无条件共享: the data authority's compliance check (``check``), then a grant or a reasoned refusal;
- 有条件共享: the provider answers (``review``) within the limit; when late it is escalated to the data
  authority, which may then decide in the provider's place;
- 不予共享: refused at once, citing the catalogue's basis; only a dispute to the data authority
  (``dispute``) can still lead to a grant. A provider's refusal may be disputed the same way, once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.exchange import apps, filters, grants, policy, sources, timeline
from zhixian.exchange.models import Grant, ShareRequest
from zhixian.exchange.schemas import ApproveIn, DisputeIn, RefuseIn, RequestIn, ResolveIn
from zhixian.exchange.settings import GRANT_MAX_DAYS, REMIND_DAYS
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department
from zhixian.settings import Settings

AUTHORITY = "exchange.authority"


def is_authority(actor: Actor) -> bool:
    return actor.can(AUTHORITY) and actor.county_scope


def _dept_ids(actor: Actor) -> Select[int]:
    return select(Department.id).where(actor.department_filter(Department.path))


def scope(actor: Actor) -> ColumnElement[bool]:
    """Requests the actor may see: its department's as consumer or provider; the authority sees all."""
    if is_authority(actor):
        return ShareRequest.id.is_not(None)
    own = _dept_ids(actor)
    return or_(ShareRequest.consumer_department_id.in_(own), ShareRequest.provider_department_id.in_(own))


def own_department(session: Session, actor: Actor, department_id: int) -> bool:
    """The actor's department or a unit under it (county scope does not make another department one's own)."""
    dept = session.get(Department, department_id)
    return dept is not None and dept.path.startswith(actor.department_path)


def get_request(session: Session, *, actor: Actor, request_id: int) -> ShareRequest:
    actor.require("exchange.view")
    row = session.execute(select(ShareRequest).where(ShareRequest.id == request_id, scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("共享申请不存在或无权查看")
    return row


def _enter(session: Session, settings: Settings, req: ShareRequest, status: str, now: datetime) -> None:
    """Starts a stage with its deadline and reminder time, in working days of the platform calendar."""
    days = policy.stage_days(status, settings)
    req.status, req.stage_started_at = status, now
    req.due_at = platform_service.add_working_time(session, settings=settings, start=now, days=days).at
    remind = days - settings.declared(REMIND_DAYS)
    req.remind_at = (
        platform_service.add_working_time(session, settings=settings, start=now, days=remind).at if remind > 0 else None
    )
    req.reminded_at = req.escalated_at = None


def _row_filter(
    session: Session, source: sources.Source, consumer_id: int, scope_kind: str, conditions: list[dict[str, object]]
) -> list[dict[str, object]]:
    clear = {f: t for f, t in source.field_types().items() if f not in ("id_number", "phone")}
    out = filters.normalise(conditions, fields=clear, ops=filters.ROW_OPS, where="row_filter")
    if scope_kind == "own_division":
        if "division_code" not in source.items:
            raise Invalid("该资源没有“所在区划代码”信息项，不能按区划限定行范围", field="row_scope")
        dept = session.get(Department, consumer_id)
        township = filters.township_filter(dept.division_code if dept else None)
        if not township:
            raise Invalid("申请部门未关联行政区划，不能选择“仅本区划”", field="row_scope")
        out = township + [c for c in out if c not in township]
    return out


def _requestable(session: Session, actor: Actor, resource_id: int) -> sources.Source:
    """A published, non-classified resource with a key, served here, of another department."""
    source = sources.load(session, resource_id)
    if source is None or source.status != "published":
        raise NotFound("目录中没有该资源，或资源尚未发布")
    if source.classified:
        raise Invalid("涉密信息资源不通过共享交换提供", field="resource_id")
    if source.base_library == "地理":
        raise Invalid("地理基础信息通过其在线资源接口提供，无需经共享网关申请", field="resource_id")
    if not source.key_field:
        raise Invalid("该资源未指定主键信息项，暂不能通过共享网关提供", field="resource_id")
    consumer = session.get(Department, actor.department_id)
    provider = session.get(Department, source.department_id)
    if consumer is None or provider is None:
        raise NotFound()
    if consumer.path.startswith(provider.path):
        raise Invalid("这是本部门（或上级部门）提供的资源，无需申请共享", field="resource_id")
    return source


def _check_items(source: sources.Source, data: RequestIn) -> None:
    unknown = [f for f in data.items if f not in source.items]
    if unknown:
        raise Invalid(f"资源“{source.name}”没有信息项 {'、'.join(unknown)}", field="items")
    core = [source.items[f].name for f in data.items if source.items[f].grade == "核心"]
    if core:
        raise Invalid(f"核心数据不通过共享交换提供：{'、'.join(core)}", field="items")
    if "verify" in data.operations:
        if source.kind == "record":
            raise Invalid("只有人口、法人基础信息支持核验", field="operations")
        if "name" not in data.items or source.key_field not in data.items:
            raise Invalid(f"核验须同时申请“{source.items[source.key_field].name}”和“名称/姓名”信息项", field="items")


def _check_terms(session: Session, actor: Actor, settings: Settings, data: RequestIn, share_type: str) -> None:
    if data.application_id is not None:
        application = apps.get_application(session, actor=actor, application_id=data.application_id)
        if application.department_id != actor.department_id:
            raise Invalid("只能为本部门登记的应用申请", field="application_id")
    if data.period_start < local_today():
        raise Invalid("使用期限不能早于今天", field="period_start")
    if (data.period_end - data.period_start).days > settings.declared(GRANT_MAX_DAYS):
        raise Invalid(f"使用期限不能超过 {settings.declared(GRANT_MAX_DAYS)} 天", field="period_end")
    if share_type != "无条件共享" and len(data.legal_basis.strip()) < 2:
        raise Invalid(f"申请{share_type}的数据须写明法律法规或政策依据", field="legal_basis")
    duplicate = session.execute(
        select(ShareRequest.id).where(
            ShareRequest.consumer_department_id == actor.department_id,
            ShareRequest.resource_id == data.resource_id,
            ShareRequest.application_id.is_(None)
            if data.application_id is None
            else ShareRequest.application_id == data.application_id,
            ShareRequest.status.in_(policy.OPEN_STATUSES),
        )
    ).first()
    if duplicate:
        raise Conflict(f"本部门对该资源已有办理中的申请（GX{duplicate[0]:06d}），请勿重复提交")


def submit(session: Session, *, actor: Actor, settings: Settings, data: RequestIn) -> ShareRequest:
    actor.require("exchange.request")
    source = _requestable(session, actor, data.resource_id)
    _check_items(source, data)
    share_type = policy.strictest(source.share_type, *(source.items[f].share_type for f in data.items))
    _check_terms(session, actor, settings, data, share_type)
    row_filter = _row_filter(
        session, source, actor.department_id, data.row_scope, [c.model_dump() for c in data.row_filter]
    )
    now = utcnow()
    req = ShareRequest(
        resource_id=source.resource_id,
        resource_code=source.code,
        resource_name=source.name,
        provider_department_id=source.department_id,
        consumer_department_id=actor.department_id,
        application_id=data.application_id,
        items=data.items,
        operations=list(dict.fromkeys(data.operations)),
        row_filter=row_filter,
        purpose=data.purpose.strip(),
        legal_basis=data.legal_basis.strip(),
        scenario=data.scenario.strip(),
        period_start=data.period_start,
        period_end=data.period_end,
        share_type=share_type,
        status="refused",
        created_by=actor.username,
        created_at=now,
    )
    session.add(req)
    status = policy.first_status(share_type)
    if status == "refused":
        not_shared = [source.items[f].name for f in data.items if source.items[f].share_type == "不予共享"]
        basis = source.share_condition if source.share_type == "不予共享" else ""
        req.refused_by, req.decided_at, req.decided_by = "catalogue", now, "目录"
        req.refusal_reason = (
            f"按目录共享属性不予共享{('（' + '、'.join(not_shared) + '）') if not_shared else ''}"
            f"{'：' + basis if basis else ''}。如确有需要，可向数据主管部门提出争议协调。"
        )
    else:
        _enter(session, settings, req, status, now)
    session.flush()
    detail = {"resource": source.code, "items": req.items, "share_type": share_type, "row_filter": row_filter}
    timeline.step(session, actor.audit, action="submitted", request=req, note=req.purpose, detail=detail)
    if status == "refused":
        timeline.step(session, actor.audit, action="refused_by_catalogue", request=req, note=req.refusal_reason)
    return req


# --- who may act


def _provider_side(session: Session, actor: Actor, req: ShareRequest) -> bool:
    return actor.can("exchange.approve") and own_department(session, actor, req.provider_department_id)


def _consumer_side(session: Session, actor: Actor, req: ShareRequest) -> bool:
    return actor.can("exchange.request") and own_department(session, actor, req.consumer_department_id)


def actions(session: Session, actor: Actor, req: ShareRequest) -> list[str]:
    """What this actor may do with the request now (the pages offer exactly these)."""
    out: list[str] = []
    authority = is_authority(actor)
    if (req.status == "check" and authority) or (
        req.status == "review" and (_provider_side(session, actor, req) or (authority and req.escalated_at))
    ):
        out += ["approve", "refuse"]
    if req.status == "dispute" and authority:
        out.append("resolve")
    if (
        req.status == "refused"
        and req.refused_by in ("catalogue", "provider")
        and not req.disputed
        and _consumer_side(session, actor, req)
    ):
        out.append("dispute")
    if req.status in ("check", "review") and _consumer_side(session, actor, req):
        out.append("withdraw")
    return out


def _require(session: Session, actor: Actor, req: ShareRequest, action: str) -> None:
    if action not in actions(session, actor, req):
        label = policy.STATUS_LABELS.get(req.status, req.status)
        raise NotPermitted(f"申请当前为“{label}”，您不能执行此操作")


def _close(session: Session, settings: Settings, req: ShareRequest, actor: Actor, status: str, now: datetime) -> None:
    seconds, _ = platform_service.working_calendar(session, settings=settings).working_seconds_between(
        req.stage_started_at, now
    )
    req.answer_seconds, req.on_time = seconds, req.due_at is None or now <= req.due_at
    req.status, req.decided_at, req.decided_by = status, now, actor.username


def approve(session: Session, *, actor: Actor, settings: Settings, request_id: int, data: ApproveIn) -> Grant:
    req = get_request(session, actor=actor, request_id=request_id)
    _require(session, actor, req, "approve")
    stage = req.status
    grant = grants.from_request(session, actor=actor, settings=settings, req=req, data=data)
    _close(session, settings, req, actor, "granted", utcnow())
    session.flush()
    action = "checked" if stage == "check" else "approved"
    timeline.step(session, actor.audit, action=action, request=req, note=data.note, detail={"grant": grant.id})
    grants.record_created(session, actor=actor, grant=grant, req=req)
    return grant


def refuse(session: Session, *, actor: Actor, settings: Settings, request_id: int, data: RefuseIn) -> ShareRequest:
    req = get_request(session, actor=actor, request_id=request_id)
    _require(session, actor, req, "refuse")
    by = "authority" if req.status == "check" or not _provider_side(session, actor, req) else "provider"
    _close(session, settings, req, actor, "refused", utcnow())
    req.refused_by, req.refusal_reason = by, data.reason.strip()
    session.flush()
    timeline.step(session, actor.audit, action="refused", request=req, note=req.refusal_reason, detail={"by": by})
    return req


def dispute(session: Session, *, actor: Actor, settings: Settings, request_id: int, data: DisputeIn) -> ShareRequest:
    req = get_request(session, actor=actor, request_id=request_id)
    _require(session, actor, req, "dispute")
    req.disputed, req.dispute_reason = True, data.reason.strip()
    req.decided_at, req.decided_by = None, ""
    _enter(session, settings, req, "dispute", utcnow())
    session.flush()
    timeline.step(session, actor.audit, action="disputed", request=req, note=req.dispute_reason)
    return req


def resolve(
    session: Session, *, actor: Actor, settings: Settings, request_id: int, data: ResolveIn
) -> ShareRequest | Grant:
    """The data authority settles a dispute: a grant, or the refusal upheld with its reason."""
    req = get_request(session, actor=actor, request_id=request_id)
    _require(session, actor, req, "resolve")
    if data.decision == "refuse":
        _close(session, settings, req, actor, "refused", utcnow())
        req.refused_by, req.refusal_reason = "authority", data.reason.strip()
        session.flush()
        timeline.step(session, actor.audit, action="resolved_refuse", request=req, note=req.refusal_reason)
        return req
    grant = grants.from_request(session, actor=actor, settings=settings, req=req, data=data)
    _close(session, settings, req, actor, "granted", utcnow())
    session.flush()
    timeline.step(session, actor.audit, action="resolved_grant", request=req, note=data.reason or data.note)
    grants.record_created(session, actor=actor, grant=grant, req=req)
    return grant


def withdraw(session: Session, *, actor: Actor, request_id: int, note: str = "") -> ShareRequest:
    req = get_request(session, actor=actor, request_id=request_id)
    _require(session, actor, req, "withdraw")
    req.status, req.decided_at, req.decided_by = "withdrawn", utcnow(), actor.username
    session.flush()
    timeline.step(session, actor.audit, action="withdrawn", request=req, note=note)
    return req


# --- lists


def _box(session: Session, actor: Actor, box: str) -> ColumnElement[bool]:  # noqa: ARG001 - the signature is fixed by its caller
    own = _dept_ids(actor)
    if box == "mine":
        return ShareRequest.consumer_department_id.in_(own)
    if box == "provided":
        return ShareRequest.provider_department_id.in_(own)
    if box == "todo":
        conds: list[ColumnElement[bool]] = []
        if actor.can("exchange.approve"):
            conds.append(and_(ShareRequest.status == "review", ShareRequest.provider_department_id.in_(own)))
        if is_authority(actor):
            conds.append(ShareRequest.status.in_(("check", "dispute")))
            conds.append(and_(ShareRequest.status == "review", ShareRequest.escalated_at.is_not(None)))
        return or_(*conds) if conds else ShareRequest.id.is_(None)
    return ShareRequest.id.is_not(None)


def list_requests(
    session: Session,
    *,
    actor: Actor,
    box: str = "all",
    status: str = "",
    light: str = "",
    resource_id: int | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ShareRequest], int]:
    actor.require("exchange.view")
    stmt = select(ShareRequest).where(scope(actor), _box(session, actor, box))
    if since is not None:
        stmt = stmt.where(ShareRequest.created_at >= (since if since.tzinfo else since.replace(tzinfo=LOCAL_TZ)))
    if status:
        stmt = stmt.where(ShareRequest.status == status)
    if resource_id:
        stmt = stmt.where(ShareRequest.resource_id == resource_id)
    if light:
        now = utcnow()
        open_ = ShareRequest.status.in_(policy.OPEN_STATUSES)
        stmt = stmt.where(
            open_,
            {
                "red": ShareRequest.due_at <= now,
                "yellow": and_(ShareRequest.due_at > now, ShareRequest.remind_at <= now),
                "green": and_(
                    ShareRequest.due_at > now, or_(ShareRequest.remind_at.is_(None), ShareRequest.remind_at > now)
                ),
            }.get(light, ShareRequest.id.is_not(None)),
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(ShareRequest.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), int(total)


# --- the deadline job


def deadlines(session: Session, *, now: datetime) -> dict[str, int]:
    """Reminders when a stage nears its deadline; escalation (or an overdue note) once it has passed."""
    system = audit.SYSTEM
    done = {"reminded": 0, "escalated": 0}
    open_rows = session.execute(
        select(ShareRequest).where(
            ShareRequest.status.in_(policy.OPEN_STATUSES),
            or_(
                and_(ShareRequest.remind_at <= now, ShareRequest.reminded_at.is_(None)),
                and_(ShareRequest.due_at <= now, ShareRequest.escalated_at.is_(None)),
            ),
        )
    ).scalars()
    for req in open_rows:
        stage = policy.STAGE_LABELS[policy.STAGE_OF[req.status]]
        if req.due_at is not None and req.due_at <= now and req.escalated_at is None:
            req.escalated_at = now
            req.reminded_at = req.reminded_at or now
            action = "escalated" if req.status == "review" else "overdue"
            note = f"{stage}已超过办理时限，" + ("数据主管部门可代为决定" if req.status == "review" else "请尽快办理")
            timeline.step(session, system, action=action, request=req, note=note)
            done["escalated"] += 1
        elif req.remind_at is not None and req.remind_at <= now and req.reminded_at is None:
            req.reminded_at = now
            timeline.step(session, system, action="reminded", request=req, note=f"请{stage}在时限内办理")
            done["reminded"] += 1
    session.flush()
    return done
