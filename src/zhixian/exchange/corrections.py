"""数据异议: a consumer department objects to items of a record it received through the gateway; the
provider answers within a limit in working days, accepting (the record is corrected through integration,
so its history says who, when and why) or rejecting with a reason. Late answers are reminded, then
escalated to the data authority, which may then answer in the provider's place.

The record is named by the call that returned it and its key: the call must be one of the consumer's own
successful lookups or queries, and that call's disclosures must hold the record — so a department can
only object to what its grant actually gave it. Anything else answers 404, like a record that is not there.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, DomainError, FieldError, Invalid, NotFound, NotPermitted
from zhixian.exchange import operations, records, sources
from zhixian.exchange.corrections_schemas import (
    AcceptIn,
    CorrectionIn,
    RejectIn,
)
from zhixian.exchange.models import Call, Correction, CorrectionEvent, Disclosure
from zhixian.integration import service as integration
from zhixian.platform import audit, masking
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Setting, Settings

# env ZHIXIAN_EXCHANGE_CORRECTION_DAYS, or zhixian.toml [subsystems.exchange] correction_days = 5
ANSWER_DAYS = Setting("exchange", "correction_days", int, 5, "提供方答复数据异议的时限（工作日）", ge=1, le=60)
REMIND_DAYS = Setting(
    "exchange", "correction_remind_days", int, 1, "数据异议到期前几个工作日催办（0 表示不催办）", ge=0, le=30
)
SETTINGS = [ANSWER_DAYS, REMIND_DAYS]

AUTHORITY = "exchange.authority"
STATUS_LABELS = {"open": "待提供方答复", "accepted": "已采纳更正", "rejected": "不予更正"}
EVENT_LABELS = {
    "submitted": "提出异议",
    "reminded": "临期催办",
    "escalated": "逾期升级至数据主管部门",
    "accepted": "采纳异议并更正记录",
    "rejected": "不予更正",
}
_RECORD_PAGES = {"person": "/integration/persons/{id}", "legal": "/integration/legal-persons/{id}"}


def _missing(detail: str, field: str) -> DomainError:
    """404 with the field it is about, so a form shows it beside that field."""
    return DomainError(detail, [FieldError(detail, field=field)], 404, "未找到")


def number(corr: Correction) -> str:
    return f"YY{corr.id:06d}"


def is_authority(actor: Actor) -> bool:
    return actor.can(AUTHORITY) and actor.county_scope


def _own_ids(session: Session, actor: Actor) -> list[int]:
    """The actor's department and those under it (a county has a few hundred departments at most)."""
    return [
        d.id
        for d in platform_service.list_departments(session, include_inactive=True)
        if d.path.startswith(actor.department_path)
    ]


def own_department(session: Session, actor: Actor, department_id: int | None) -> bool:
    """The actor's department or one under it (county scope does not make another department one's own)."""
    if not department_id:
        return False
    try:
        return platform_service.get_department(session, department_id).path.startswith(actor.department_path)
    except NotFound:
        return False


def scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Corrections the actor may see: its department's, raised or answered; the data authority sees all."""
    if is_authority(actor):
        return Correction.id.is_not(None)
    own = _own_ids(session, actor)
    return or_(Correction.consumer_department_id.in_(own), Correction.provider_department_id.in_(own))


def _step(session: Session, ctx: AuditContext, corr: Correction, action: str, note: str = "", **detail: Any) -> None:
    """One timeline event and its audit record, in the caller's transaction: no record, no step."""
    session.add(
        CorrectionEvent(
            correction_id=corr.id,
            action=action,
            username=ctx.username,
            department_id=ctx.department_id,
            note=note[:1000],
            detail=detail,
        )
    )
    audit.record(
        session,
        ctx,
        action=f"exchange.correction.{action}",
        object_type="exchange_correction",
        object_id=corr.id,
        detail={"note": note[:500], **detail},
    )


# --- raising an objection


def _call(session: Session, actor: Actor, call_id: int) -> Call:
    """A successful lookup or query by one of the actor's department's applications, else 404."""
    call = session.get(Call, call_id)
    if (
        call is None
        or not own_department(session, actor, call.consumer_department_id)
        or call.result != "成功"
        or call.operation not in ("lookup", "query")
        or call.resource_id is None
        or call.rows < 1
    ):
        raise _missing(f"本部门的应用没有编号为 {call_id} 的成功查询调用", "call_id")
    return call


def _disclosed(
    session: Session, cipher: FieldCipher, call: Call, source: sources.Source, key: str
) -> sources.Row | None:
    """The record with this key, if that call returned it (its disclosure names the record's subject)."""
    rows = sources.query(session, source, cipher, [{"field": source.key_field, "op": "eq", "value": key}], limit=1)
    if not rows:
        return None
    kind, subject = records.subject(source, rows[0], cipher)
    found = session.execute(
        select(Disclosure.id).where(
            Disclosure.call_id == call.id, Disclosure.subject == subject, Disclosure.kind == kind
        )
    ).first()
    return rows[0] if found else None


def _item_name(source: sources.Source, name: str) -> str:
    return source.items[name].name if name in source.items else name


def _enter(session: Session, settings: Settings, corr: Correction, now: datetime) -> None:
    """The provider's answer is due in working days of the platform calendar; a reminder before that."""
    days = settings.declared(ANSWER_DAYS)
    corr.stage_started_at = now
    corr.due_at = platform_service.add_working_time(session, settings=settings, start=now, days=days).at
    remind = days - settings.declared(REMIND_DAYS)
    corr.remind_at = (
        platform_service.add_working_time(session, settings=settings, start=now, days=remind).at
        if settings.declared(REMIND_DAYS) and remind > 0
        else None
    )


def submit(
    session: Session, *, actor: Actor, settings: Settings, cipher: FieldCipher, data: CorrectionIn
) -> Correction:
    actor.require("exchange.request")
    call = _call(session, actor, data.call_id)
    assert call.resource_id is not None  # _call checked both
    assert call.consumer_department_id is not None
    source = sources.load(session, call.resource_id)
    if source is None or not source.key_field:
        raise _missing("该调用的目录资源已不存在", "call_id")
    outside = [
        FieldError(
            f"调用 {call.id} 没有返回信息项“{source.items[f].name if f in source.items else f}”", field=f"values.{f}"
        )
        for f in data.values
        if f not in call.items
    ]
    if outside:
        raise Invalid("只能对该调用返回的信息项提出异议：" + "；".join(e.message for e in outside), outside)
    key = (
        operations.check_key(source, data.key)
        if source.kind != "record"
        else sources.normalise_key(source, source.key_field, data.key)
    )
    row = _disclosed(session, cipher, call, source, key)
    if row is None:
        raise _missing(f"调用 {call.id} 没有返回主键为该值的记录", "key")
    entity_id = records.row_id(row)
    integration.check_amendment(
        session,
        resource_id=source.resource_id,
        entity=source.kind,
        values=data.values,
        county_code=settings.county_code,
        where="values",
    )
    _no_duplicate(session, call.consumer_department_id, source.kind, entity_id, list(data.values))
    kinds = records.static_kinds(source)
    now = utcnow()
    corr = Correction(
        call_id=call.id,
        resource_id=source.resource_id,
        resource_code=source.code,
        resource_name=source.name,
        provider_department_id=source.department_id,
        consumer_department_id=call.consumer_department_id,  # the unit whose application received it
        entity=source.kind,
        entity_id=entity_id,
        record_label=masking.mask_value(kinds.get(source.key_field, "plain"), key)[:200],
        items=list(data.values),
        proposed_enc=cipher.encrypt(json.dumps(data.values, ensure_ascii=False)),
        evidence=data.evidence,
        status="open",
        created_by=actor.username,
        created_at=now,
    )
    _enter(session, settings, corr, now)
    session.add(corr)
    session.flush()
    _step(session, actor.audit, corr, "submitted", data.evidence, call=call.id, resource=source.code, items=corr.items)
    return corr


def _no_duplicate(session: Session, consumer_id: int | None, entity: str, entity_id: int, items: list[str]) -> None:
    open_rows = session.execute(
        select(Correction.id, Correction.items).where(
            Correction.consumer_department_id == consumer_id,
            Correction.entity == entity,
            Correction.entity_id == entity_id,
            Correction.status == "open",
        )
    ).all()
    for corr_id, corr_items in open_rows:
        if set(corr_items) & set(items):
            raise Conflict(f"本部门对该记录的这些信息项已有办理中的数据异议（YY{corr_id:06d}），请勿重复提出")


# --- answering


def get_correction(session: Session, *, actor: Actor, correction_id: int) -> Correction:
    actor.require("exchange.view")
    row = session.execute(
        select(Correction).where(Correction.id == correction_id, scope(session, actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("数据异议不存在或无权查看")
    return row


def _provider_side(session: Session, actor: Actor, corr: Correction) -> bool:
    return actor.can("exchange.approve") and own_department(session, actor, corr.provider_department_id)


def parties(session: Session, actor: Actor, corr: Correction) -> bool:
    """Whether the actor is of the department that raised it or of the one that answers it."""
    return own_department(session, actor, corr.consumer_department_id) or own_department(
        session, actor, corr.provider_department_id
    )


def actions(session: Session, actor: Actor, corr: Correction) -> list[str]:
    """What this actor may do with the correction now (the pages offer exactly these)."""
    if corr.status == "open" and (
        _provider_side(session, actor, corr) or (is_authority(actor) and corr.escalated_at is not None)
    ):
        return ["accept", "reject"]
    return []


def _answerable(session: Session, actor: Actor, correction_id: int) -> Correction:
    corr = get_correction(session, actor=actor, correction_id=correction_id)
    if not actions(session, actor, corr):
        label = STATUS_LABELS.get(corr.status, corr.status)
        raise NotPermitted(f"数据异议当前为“{label}”，您不能答复")
    return corr


def proposed(cipher: FieldCipher, corr: Correction) -> dict[str, str]:
    values: dict[str, str] = json.loads(cipher.decrypt(corr.proposed_enc))
    return values


def _close(session: Session, settings: Settings, corr: Correction, actor: Actor, status: str, answer: str) -> None:  # noqa: ARG001 - the signature is fixed by its caller
    now = utcnow()
    corr.status, corr.answer = status, answer
    corr.decided_by, corr.decided_at = actor.username, now
    corr.on_time = corr.due_at is None or now <= corr.due_at


def accept(
    session: Session, *, actor: Actor, settings: Settings, cipher: FieldCipher, correction_id: int, data: AcceptIn
) -> Correction:
    """Corrects the record through integration (history: operator, time, this correction's number)."""
    corr = _answerable(session, actor, correction_id)
    stray = [FieldError("该信息项不在异议范围内", field=f"values.{f}") for f in data.values if f not in corr.items]
    if stray:
        raise Invalid("只能更正异议涉及的信息项", stray)
    values = {**proposed(cipher, corr), **data.values}
    why = f"数据异议 {number(corr)} 采纳：{corr.evidence}"
    amended = integration.amend_record(
        session,
        actor=actor,
        cipher=cipher,
        resource_id=corr.resource_id,
        entity=corr.entity,
        entity_id=corr.entity_id,
        values=values,
        note=why,
        county_code=settings.county_code,
    )
    _close(session, settings, corr, actor, "accepted", data.note.strip())
    corr.changed_fields = amended.fields
    session.flush()
    _step(
        session,
        actor.audit,
        corr,
        "accepted",
        data.note.strip(),
        fields=amended.fields,
        changes=amended.change_ids,
        amended=sorted(data.values),
    )
    return corr


def reject(session: Session, *, actor: Actor, settings: Settings, correction_id: int, data: RejectIn) -> Correction:
    corr = _answerable(session, actor, correction_id)
    _close(session, settings, corr, actor, "rejected", data.reason)
    session.flush()
    _step(session, actor.audit, corr, "rejected", data.reason)
    return corr


# --- lists and figures


def _box(session: Session, actor: Actor, box: str) -> ColumnElement[bool]:
    own = _own_ids(session, actor)
    if box == "mine":
        return Correction.consumer_department_id.in_(own)
    if box == "provided":
        return Correction.provider_department_id.in_(own)
    if box == "todo":
        conds: list[ColumnElement[bool]] = []
        if actor.can("exchange.approve"):
            conds.append(and_(Correction.status == "open", Correction.provider_department_id.in_(own)))
        if is_authority(actor):
            conds.append(and_(Correction.status == "open", Correction.escalated_at.is_not(None)))
        return or_(*conds) if conds else Correction.id.is_(None)
    return Correction.id.is_not(None)


def _light(light: str, now: datetime) -> ColumnElement[bool]:
    return {
        "red": Correction.due_at <= now,
        "yellow": and_(Correction.due_at > now, Correction.remind_at <= now),
        "green": and_(Correction.due_at > now, or_(Correction.remind_at.is_(None), Correction.remind_at > now)),
    }.get(light, Correction.id.is_not(None))


def list_corrections(
    session: Session,
    *,
    actor: Actor,
    box: str = "all",
    status: str = "",
    light: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Correction], int]:
    """The list every figure of corrections opens (and is counted by)."""
    actor.require("exchange.view")
    stmt = select(Correction).where(scope(session, actor), _box(session, actor, box))
    if status:
        stmt = stmt.where(Correction.status == status)
    if light:
        stmt = stmt.where(Correction.status == "open", _light(light, utcnow()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Correction.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), int(total)


def figures(session: Session, *, actor: Actor) -> list[tuple[str, int, str, bool]]:
    """(label, count, href of exactly those corrections, alert) for the statistics page."""
    _, open_ = list_corrections(session, actor=actor, status="open", limit=0)
    _, late = list_corrections(session, actor=actor, light="red", limit=0)
    return [
        ("办理中的数据异议", open_, "/exchange/corrections?box=all&status=open", False),
        ("逾期未答复的数据异议", late, "/exchange/corrections?box=all&light=red", late > 0),
    ]


# --- the deadline job


def deadlines(session: Session, *, now: datetime) -> dict[str, int]:
    """Reminders as the answer's deadline nears; escalation to the data authority once it has passed."""
    done = {"reminded": 0, "escalated": 0}
    rows = session.execute(
        select(Correction).where(
            Correction.status == "open",
            or_(
                and_(Correction.remind_at <= now, Correction.reminded_at.is_(None)),
                and_(Correction.due_at <= now, Correction.escalated_at.is_(None)),
            ),
        )
    ).scalars()
    for corr in rows:
        if corr.due_at is not None and corr.due_at <= now and corr.escalated_at is None:
            corr.escalated_at = now
            corr.reminded_at = corr.reminded_at or now
            _step(session, audit.SYSTEM, corr, "escalated", "提供方已超过答复时限，数据主管部门可代为答复")
            done["escalated"] += 1
        elif corr.remind_at is not None and corr.remind_at <= now and corr.reminded_at is None:
            corr.reminded_at = now
            _step(session, audit.SYSTEM, corr, "reminded", "请提供方在时限内答复数据异议")
            done["reminded"] += 1
    session.flush()
    return done


def call_items(session: Session, *, actor: Actor, call_id: int) -> tuple[Call, list[tuple[str, str]]]:
    """The call a correction form starts from, with the items it returned (field, name): the consumer's own."""
    actor.require("exchange.request")
    call = _call(session, actor, call_id)
    source = sources.load(session, call.resource_id or 0)
    if source is None:
        raise _missing("该调用的目录资源已不存在", "call_id")
    return call, [(f, _item_name(source, f)) for f in call.items if f != source.key_field]
