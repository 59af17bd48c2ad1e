"""办件: taken in at a window for the applicant (一窗受理), then 受理 → 审查 → 决定 → 办结, or 补正 / 不予受理.

Scope: the window that took an application in (its department, ``intake_path``) and the department that
handles it (``department_path``) see it; anyone else gets 404. The promised limit runs in working days
from 受理, on the platform calendar (holidays and 调休 included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.services import workflow
from zhixian.services.licences import service as licences
from zhixian.services.matters import service as matters
from zhixian.services.models import ApplicationEvent, ApplicationMaterial, Matter, ServiceApplication
from zhixian.services.portal import notices
from zhixian.services.schemas import ApplicationIn, ApplicationRead, AppMaterialRead, DecisionIn, EventRead
from zhixian.services.settings import REMIND_DAYS
from zhixian.settings import Settings

WINDOW, APPROVE, VIEW = "services.window", "services.approve", "services.view"


@dataclass(frozen=True)
class ApplicationFilter:
    """One list of applications; every figure on a page is counted by the function that lists it."""

    box: str = ""  # intake: taken in by my department; handling: handled by my department
    status: str = ""
    light: str = ""  # green yellow red (while the limit runs)
    matter_id: int | None = None
    department_id: int | None = None
    channel: str = ""  # window point online
    since: date | None = None  # received on or after this day (Beijing)
    until: date | None = None  # received on or before this day
    on_time: str = ""  # done applications finished by their due time (yes) or after it (no)

    def query_string(self) -> str:
        return urlencode([(k, v) for k, v in vars(self).items() if v not in ("", None)])


def day_start(day: date) -> datetime:
    """The UTC moment a Beijing calendar day starts (periods are chosen in local days, stored in UTC)."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def period_conditions(column: Any, since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if since:
        out.append(column >= day_start(since))
    if until:
        out.append(column < day_start(until + timedelta(days=1)))
    return out


def _scope(actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return ServiceApplication.id.is_not(None)
    return or_(
        actor.department_filter(ServiceApplication.department_path),
        actor.department_filter(ServiceApplication.intake_path),
    )


def conditions(actor: Actor, flt: ApplicationFilter, now: datetime) -> list[ColumnElement[bool]]:
    out = [_scope(actor)]
    if flt.box == "intake":
        out.append(actor.department_filter(ServiceApplication.intake_path))
    elif flt.box == "handling":
        out.append(actor.department_filter(ServiceApplication.department_path))
    if flt.status:
        out.append(ServiceApplication.status == flt.status)
    if flt.light:
        running = ServiceApplication.status.in_(workflow.OPEN)
        red = ServiceApplication.due_at <= now
        yellow = (ServiceApplication.due_at > now) & (ServiceApplication.remind_at <= now)
        green = (ServiceApplication.due_at > now) & ~yellow
        out.append(running & {"red": red, "yellow": yellow, "due": red | yellow}.get(flt.light, green))
    if flt.matter_id:
        out.append(ServiceApplication.matter_id == flt.matter_id)
    if flt.department_id:
        out.append(ServiceApplication.department_id == flt.department_id)
    if flt.channel:
        out.append(ServiceApplication.channel == flt.channel)
    out += period_conditions(ServiceApplication.received_at, flt.since, flt.until)
    if flt.on_time in ("yes", "no"):
        done = (ServiceApplication.status == "done") & ServiceApplication.due_at.is_not(None)
        late = ServiceApplication.done_at > ServiceApplication.due_at
        out.append(done & (~late if flt.on_time == "yes" else late))
    return out


def list_applications(
    session: Session, *, actor: Actor, flt: ApplicationFilter, offset: int = 0, limit: int = 50
) -> tuple[list[ServiceApplication], int]:
    """The list and its total from the same conditions (``limit=0``: the count alone, for a figure)."""
    actor.require(VIEW)
    stmt: Select[Any] = select(ServiceApplication).where(*conditions(actor, flt, utcnow()))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(stmt.order_by(ServiceApplication.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total


def get_application(session: Session, *, actor: Actor, application_id: int) -> ServiceApplication:
    actor.require(VIEW)
    row = session.execute(
        select(ServiceApplication)
        .where(ServiceApplication.id == application_id, _scope(actor))
        .options(selectinload(ServiceApplication.materials))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("办件不存在或无权查看")
    return row


def number(row: ServiceApplication) -> str:
    return f"BJ{row.received_at.astimezone(LOCAL_TZ).strftime('%Y%m%d')}{row.id:06d}"


def log_event(
    session: Session, actor: Actor, row: ServiceApplication, action: str, note: str = "", **detail: Any
) -> None:
    row.updated_at = utcnow()
    who = actor.full_name or actor.username  # people read names; the audit record keeps the login
    session.add(ApplicationEvent(application_id=row.id, action=action, actor=who[:64], note=note[:1000]))
    session.flush()
    audit.record(
        session,
        actor.audit,
        action=f"services.application_{action}",
        object_type="services_application",
        object_id=row.id,
        detail={"status": row.status, **detail},
    )
    _tell_applicant(session, row, action, note)


def _tell_applicant(session: Session, row: ServiceApplication, action: str, note: str) -> None:
    """The one place the applicant hears of a step: a notice on the portal linking to the application."""
    title = workflow.NOTICES.get(action)
    if title is None:
        return
    matter = session.get(Matter, row.matter_id)
    notices.notify(
        session,
        recipient_index=row.applicant_index,
        kind=f"app_{action}",  # the column holds 20 characters
        title=title.format(matter=matter.name if matter else "政务服务事项"),
        body=f"办件编号 {number(row)}。{note}",
        link=f"/portal/me/applications/{row.id}",
    )


def _who(actor: Actor, row: ServiceApplication, side: str) -> bool:
    if side == "window":
        return actor.can(WINDOW) and (actor.county_scope or actor.sees_department(row.intake_path))
    return actor.can(APPROVE) and actor.sees_department(row.department_path)


def actions(actor: Actor, row: ServiceApplication) -> list[str]:
    """The steps this actor may take now (the page shows exactly these)."""
    return [name for name, (start, _, side) in workflow.STEPS.items() if row.status in start and _who(actor, row, side)]


def take_step(session: Session, actor: Actor, application_id: int, name: str) -> ServiceApplication:
    row = get_application(session, actor=actor, application_id=application_id)
    start, _, side = workflow.STEPS[name]
    if not _who(actor, row, side):
        raise NotPermitted("只有受理窗口可以办理收件环节" if side == "window" else "只有办理部门的审批人员可以办理")
    if row.status not in start:
        raise Conflict(f"办件当前为“{workflow.STATUS_LABELS[row.status]}”，不能{workflow.ACTIONS[name]}")
    return row


def create(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,  # noqa: ARG001 - the signature is fixed by its caller
    cipher: FieldCipher,
    data: ApplicationIn,
) -> ServiceApplication:
    """收件 at a window: the applicant's ID is kept encrypted, the materials list copied from the matter."""
    actor.require(WINDOW)
    matter = session.get(Matter, data.matter_id)
    if matter is None or matter.status != "active":
        raise Invalid("事项不存在", field="matter_id")
    kind = data.applicant_kind
    key = licences.holder_key(kind, data.applicant_key, "applicant_key")
    depts = matters.Departments(session)
    now = utcnow()
    row = ServiceApplication(
        matter_id=matter.id,
        department_id=matter.department_id,
        department_path=matter.department_path,
        intake_department_id=actor.department_id,
        intake_path=actor.department_path or depts.path(actor.department_id),
        channel=data.channel,
        clerk=actor.username,
        applicant_kind=kind,
        applicant_name=data.applicant_name,
        applicant_enc=cipher.encrypt(key),
        applicant_index=cipher.blind_index(key),
        applicant_masked=licences.mask_key(kind, key),
        phone_masked=mask_phone(data.phone) if data.phone else "",
        consent=data.consent,
        consent_at=now if data.consent else None,
        received_at=now,
        materials=[
            ApplicationMaterial(
                material_id=m.id, seq=m.seq, name=m.name, required=m.required, source=m.source, state="missing"
            )
            for m in matter.materials
        ],
    )
    session.add(row)
    session.flush()
    log_event(session, actor, row, "create", f"{matter.name}（{row.applicant_masked}）", matter=matter.code)
    if data.consent:
        log_event(session, actor, row, "consent", "申请人同意本次办理使用共享数据和电子证照", consent=True)
    return row


def record_consent(session: Session, *, actor: Actor, application_id: int) -> ServiceApplication:
    row = take_step(session, actor, application_id, "prefill")
    if not row.consent:
        row.consent, row.consent_at = True, utcnow()
        log_event(session, actor, row, "consent", "申请人同意本次办理使用共享数据和电子证照", consent=True)
    return row


def missing(row: ServiceApplication) -> list[str]:
    return [m.name for m in row.materials if m.required and m.state == "missing"]


def request_correction(session: Session, *, actor: Actor, application_id: int, notes: list[str]) -> ServiceApplication:
    """一次性告知: every required material still missing plus what else the window found, all at once."""
    row = take_step(session, actor, application_id, "correction")
    items = [f"缺少材料：{name}" for name in missing(row)] + [n.strip() for n in notes if n.strip()]
    if not items:
        raise Invalid("材料齐全，没有需要补正的内容；如有其他问题请写明", field="notes")
    row.status, row.correction = "correction", items
    log_event(session, actor, row, "correction", "；".join(items), items=items)
    return row


def accept(session: Session, *, actor: Actor, settings: Settings, application_id: int) -> ServiceApplication:
    """受理: all required materials present; the promised limit starts, in working days."""
    row = take_step(session, actor, application_id, "accept")
    lacking = missing(row)
    if lacking:
        raise Conflict(f"材料不齐，请一次性告知补正：{'、'.join(lacking)}")
    matter = session.get(Matter, row.matter_id)
    assert matter is not None
    now = utcnow()
    days = max(matter.promised_days, 1)
    due = platform_service.add_working_time(session, settings=settings, start=now, days=days)
    remind = days - settings.declared(REMIND_DAYS)
    row.status, row.accepted_at, row.correction = "accepted", now, []
    row.due_at = due.at
    row.remind_at = (
        platform_service.add_working_time(session, settings=settings, start=now, days=remind).at if remind > 0 else now
    )
    note = f"承诺 {days} 个工作日内办结" + (f"（{'；'.join(due.warnings)}）" if due.warnings else "")
    log_event(session, actor, row, "accept", note, due=due.at.isoformat())
    return row


def reject(session: Session, *, actor: Actor, application_id: int, reason: str) -> ServiceApplication:
    row = take_step(session, actor, application_id, "reject")
    row.status, row.reason, row.done_at = "rejected", reason.strip(), utcnow()
    log_event(session, actor, row, "reject", row.reason, reason=row.reason)
    return row


def review(session: Session, *, actor: Actor, application_id: int, note: str) -> ServiceApplication:
    row = take_step(session, actor, application_id, "review")
    row.status = "reviewed"
    log_event(session, actor, row, "review", note)
    return row


def decide(session: Session, *, actor: Actor, application_id: int, data: DecisionIn) -> ServiceApplication:
    row = take_step(session, actor, application_id, "decide")
    row.status, row.decision, row.reason = "decided", data.decision, data.note
    log_event(session, actor, row, "decide", data.note, decision=data.decision)
    return row


def finish(session: Session, *, actor: Actor, application_id: int) -> ServiceApplication:
    row = take_step(session, actor, application_id, "finish")
    now = utcnow()
    row.status, row.done_at = "done", now
    on_time = row.due_at is None or now <= row.due_at
    log_event(session, actor, row, "finish", "按时办结" if on_time else "超期办结", on_time=on_time)
    return row


def application_read(
    session: Session, actor: Actor, row: ServiceApplication, depts: matters.Departments, *, full: bool = False
) -> ApplicationRead:
    out = ApplicationRead.model_validate(row)
    out.number = number(row)
    matter = session.get(Matter, row.matter_id)
    out.matter_name = matter.name if matter else ""
    out.department_name = depts.name(row.department_id)
    out.status_label = workflow.STATUS_LABELS.get(row.status, row.status)
    out.light = workflow.light(utcnow(), row.status, row.remind_at, row.due_at)
    out.actions = actions(actor, row)
    if full:
        out.materials = [AppMaterialRead.model_validate(m) for m in row.materials]
        events = session.execute(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == row.id)
            .order_by(ApplicationEvent.at, ApplicationEvent.id)
        ).scalars()
        out.events = [EventRead.model_validate(e) for e in events]
    else:
        out.materials = []
    return out
