"""Alarms: one active alarm per device and type, its lifecycle (active/cleared × acknowledged), and people's work on it.

What the rules decide arrives as ``Raised`` items from ingest or the offline check and is applied here;
the partial unique index on (device, type) where active is the last guard of idempotency. Escalation
to duty officers and to city-management cases is in ``escalation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, insert, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors import service as registry
from zhixian.perception.sensors.models import Alarm, AlarmEvent, Device, Profile
from zhixian.perception.sensors.schemas import AlarmDetail, AlarmEventRead, AlarmRead
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

STATUS_LABELS = {"active": "活动", "cleared": "已清除"}
HANDLE = "perception.alarm.handle"


@dataclass(frozen=True)
class Raised:
    """A rule's effect at a reading's time; ``back_online`` clears the device's offline alarms."""

    device_id: int
    ts: datetime
    effect: engine.Effect | None
    back_online: bool = False


def event(
    session: Session, alarm: Alarm, kind: str, text: str, *, actor: Actor | None = None, at: datetime | None = None
) -> None:
    session.add(
        AlarmEvent(
            alarm_id=alarm.id,
            at=at or utcnow(),
            kind=kind,
            actor_id=actor.user_id or None if actor else None,
            actor_name=(actor.full_name or actor.username) if actor else "系统",
            text=text[:2000],
        )
    )


def active_alarm(session: Session, device_id: int, type_: str) -> Alarm | None:
    return session.execute(
        select(Alarm).where(Alarm.device_id == device_id, Alarm.type == type_, Alarm.status == "active")
    ).scalar_one_or_none()


class Draft:
    """A new alarm of a batch, kept as plain attributes until the batch inserts it with one statement.

    Building ORM objects for every alarm a busy batch raises (and the ORM's flush of them) cost more than
    the rules; a draft carries the same attributes, so raising, changing and clearing it within the batch
    read exactly like the ORM path.
    """

    id: int | None = None
    device_id: int
    type: str
    rule_kind: str
    severity: str
    level: str
    status: str
    acknowledged: bool
    escalation: int
    value: float | None
    peak: float | None
    message: str
    updated_at: datetime
    cleared_at: datetime | None

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "id"}


AlarmLike = Alarm | Draft


def apply(session: Session, items: Sequence[Raised], *, now: datetime | None = None) -> int:
    """Creates, updates or clears alarms for a batch; returns how many alarms changed.

    A handful of statements per batch, whatever its size: the batch's active alarms are read at once,
    changes are made in memory, the changed ones are flushed, new alarms go in with one insert and their
    timeline entries with another.
    """
    now = now or utcnow()
    ids = {i.device_id for i in items}
    devices = {
        d.id: d
        for d in session.execute(
            select(Device.id, Device.department_path, Device.grid_code).where(Device.id.in_(ids))
        ).all()
    }
    active: dict[tuple[int, str], AlarmLike] = {
        (a.device_id, a.type): a
        for a in session.execute(select(Alarm).where(Alarm.device_id.in_(ids), Alarm.status == "active")).scalars()
    }
    notes: list[tuple[AlarmLike, str, str]] = []
    drafts: list[Draft] = []
    with session.no_autoflush:
        for item in items:
            device = devices[item.device_id]
            if item.back_online:
                for key in [k for k, a in active.items() if k[0] == device.id and a.rule_kind == "offline"]:
                    stale = active.pop(key)
                    _close(stale, now)
                    notes.append((stale, "clear", "设备恢复上报，离线告警自动清除"))
                continue
            if item.effect is not None:
                notes += _apply_one(device, item, active, drafts, now)
    session.flush()
    _insert_drafts(session, drafts)
    if notes:
        rows = [
            {"alarm_id": a.id, "at": now, "kind": kind, "actor_id": None, "actor_name": "系统", "text": text[:2000]}
            for a, kind, text in notes
        ]
        session.execute(insert(AlarmEvent), rows)
    return len(notes)


def _insert_drafts(session: Session, drafts: Sequence[Draft]) -> None:
    """The batch's new alarms in one insert; their ids are known before (PostgreSQL: the sequence) or returned."""
    if not drafts:
        return
    if session.get_bind().dialect.name == "postgresql":
        ids = session.execute(
            sql("SELECT nextval(pg_get_serial_sequence('ps_alarm', 'id')) FROM generate_series(1, :n)"),
            {"n": len(drafts)},
        ).scalars()
        for draft, new_id in zip(drafts, ids, strict=True):
            draft.id = int(new_id)
        session.execute(insert(Alarm), [{"id": d.id, **d.row()} for d in drafts])
        return
    stmt = insert(Alarm).returning(Alarm.id, sort_by_parameter_order=True)
    for draft, new_id in zip(drafts, session.execute(stmt, [d.row() for d in drafts]).scalars(), strict=True):
        draft.id = int(new_id)


def _apply_one(
    device: Any, item: Raised, active: dict[tuple[int, str], AlarmLike], drafts: list[Draft], now: datetime
) -> list[tuple[AlarmLike, str, str]]:
    effect = item.effect
    assert effect is not None
    key = (device.id, effect.rule.code)
    alarm = active.get(key)
    if effect.action == "clear":
        if alarm is None:
            return []
        del active[key]
        alarm.peak = effect.peak if effect.peak is not None else alarm.peak
        alarm.value = effect.value
        _close(alarm, now)
        return [(alarm, "clear", effect.message)]
    if alarm is None:
        draft = Draft(**_new_alarm_columns(device, effect, item.ts, now))
        drafts.append(draft)
        active[key] = draft
        return [(draft, "raised", f"产生告警（{_level_text(draft)}）：{effect.message}")]
    before = alarm.severity
    alarm.severity, alarm.level, alarm.value = effect.severity, effect.colour, effect.value
    alarm.message, alarm.updated_at = effect.message[:300], now
    alarm.peak = effect.peak if effect.peak is not None else alarm.peak
    if before == effect.severity:
        return []
    up = engine.SEVERITY_RANK[effect.severity] > engine.SEVERITY_RANK.get(before, 0)
    if up and alarm.acknowledged:  # a worse level needs a fresh acknowledgement
        alarm.acknowledged = False
        alarm.escalation = min(alarm.escalation, 1)
    return [(alarm, "severity", f"{'升级' if up else '降级'}为{_level_text(alarm)}：{effect.message}")]


def _new_alarm_columns(device: Any, effect: engine.Effect, ts: datetime, now: datetime) -> dict[str, Any]:
    """A new alarm's columns; ``device`` is anything with id, department_path and grid_code."""
    return {
        "device_id": device.id,
        "type": effect.rule.code,
        "name": effect.rule.name,
        "rule_kind": effect.rule.kind,
        "severity": effect.severity,
        "level": effect.colour,
        "status": "active",
        "acknowledged": False,
        "key": effect.rule.key,
        "value": effect.value,
        "peak": effect.peak,
        "message": effect.message[:300],
        "department_path": device.department_path,
        "grid_code": device.grid_code,
        "started_at": ts,
        "created_at": now,
        "updated_at": now,
        "escalation": 0,
        "case_number": "",
        "acked_by": "",
        "cleared_at": None,
    }


def _new_alarm(device: Device, effect: engine.Effect, ts: datetime, now: datetime) -> Alarm:
    return Alarm(**_new_alarm_columns(device, effect, ts, now))


def _close(alarm: AlarmLike, now: datetime) -> None:
    alarm.status, alarm.cleared_at, alarm.updated_at = "cleared", now, now


def raise_alarm(session: Session, device: Device, effect: engine.Effect, ts: datetime, now: datetime) -> Alarm:
    """One new alarm outside a batch (the offline check)."""
    alarm = _new_alarm(device, effect, ts, now)
    session.add(alarm)
    session.flush()
    event(session, alarm, "raised", f"产生告警（{_level_text(alarm)}）：{effect.message}", at=now)
    return alarm


def _level_text(alarm: AlarmLike) -> str:
    name = engine.SEVERITIES.get(alarm.severity, alarm.severity)
    return f"{alarm.level}色·{name}" if alarm.level else name


def _clear(session: Session, alarm: Alarm, now: datetime, text: str, actor: Actor | None = None) -> None:
    _close(alarm, now)
    event(session, alarm, "clear", text, actor=actor, at=now)


# --- reading alarms


def alarm_scope(actor: Actor) -> ColumnElement[bool]:
    actor.require("perception.view")
    if registry.sees_all(actor):
        return Alarm.id.is_not(None)
    return actor.department_filter(Alarm.department_path)


def get_alarm(session: Session, *, actor: Actor, alarm_id: int) -> Alarm:
    row = session.execute(select(Alarm).where(Alarm.id == alarm_id, alarm_scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("告警不存在或无权查看")
    return row


@dataclass
class AlarmFilter:
    status: str | None = "active"  # active | cleared | None (all)
    acknowledged: bool | None = None
    severity: str | None = None
    profile_code: str | None = None
    device_id: int | None = None
    escalated: bool | None = None  # a case was opened
    rule_kind: str | None = None
    assignee_id: int | None = None
    street_code: str | None = None


def _filtered(actor: Actor, flt: AlarmFilter) -> Any:
    stmt = select(Alarm).where(alarm_scope(actor))
    if flt.status:
        if flt.status not in STATUS_LABELS:
            raise Invalid("未知的告警状态", field="status")
        stmt = stmt.where(Alarm.status == flt.status)
    if flt.acknowledged is not None:
        stmt = stmt.where(Alarm.acknowledged.is_(flt.acknowledged))
    if flt.severity:
        if flt.severity not in engine.SEVERITIES:
            raise Invalid("未知的告警级别", field="severity")
        stmt = stmt.where(Alarm.severity == flt.severity)
    if flt.device_id:
        stmt = stmt.where(Alarm.device_id == flt.device_id)
    if flt.escalated is not None:
        stmt = stmt.where(Alarm.case_id.is_not(None) if flt.escalated else Alarm.case_id.is_(None))
    if flt.rule_kind:
        stmt = stmt.where(Alarm.rule_kind == flt.rule_kind)
    if flt.assignee_id:
        stmt = stmt.where(Alarm.assignee_id == flt.assignee_id)
    if flt.profile_code or flt.street_code:
        stmt = stmt.join(Device, Device.id == Alarm.device_id)
        if flt.profile_code:
            stmt = stmt.join(Profile, Profile.id == Device.profile_id).where(Profile.code == flt.profile_code)
        if flt.street_code:
            stmt = stmt.where(Device.street_code == flt.street_code)
    return stmt


def list_alarms(
    session: Session, *, actor: Actor, flt: AlarmFilter, offset: int = 0, limit: int = 50
) -> tuple[list[AlarmRead], int]:
    """Alarms in scope, worst and newest first: unacknowledged before acknowledged, then severity, then time."""
    stmt = _filtered(actor, flt)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    order = [Alarm.status, Alarm.acknowledged, _severity_order(), Alarm.created_at.desc(), Alarm.id.desc()]
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).scalars().all()
    return alarm_reads(session, rows), total


def _severity_order() -> Any:
    return case({s: -r for s, r in engine.SEVERITY_RANK.items()}, value=Alarm.severity, else_=0)


def figures(session: Session, *, actor: Actor) -> dict[str, int]:
    """The console's figures; each one is a filter of ``list_alarms`` (the page links them)."""
    base = select(func.count()).select_from(Alarm).where(alarm_scope(actor), Alarm.status == "active")
    out = {
        "active": int(session.execute(base).scalar_one()),
        "unacked": int(session.execute(base.where(Alarm.acknowledged.is_(False))).scalar_one()),
        "escalated": int(session.execute(base.where(Alarm.case_id.is_not(None))).scalar_one()),
        "offline": int(session.execute(base.where(Alarm.rule_kind == "offline")).scalar_one()),
    }
    for severity in engine.SEVERITIES:
        out[severity] = int(session.execute(base.where(Alarm.severity == severity)).scalar_one())
    return out


def alarm_reads(session: Session, rows: Sequence[Alarm]) -> list[AlarmRead]:
    ids = {a.device_id for a in rows}
    devices = {d.id: d for d in session.execute(select(Device).where(Device.id.in_(ids))).scalars()} if ids else {}
    profiles = {p.id: p.name for p in session.execute(select(Profile)).scalars()} if ids else {}
    users = _user_names(session, {a.assignee_id for a in rows if a.assignee_id})
    out = []
    for a in rows:
        d = devices.get(a.device_id)
        read = AlarmRead.model_validate(a)
        read.device_code, read.device_name = (d.code, d.name) if d else ("", "")
        read.profile_name = profiles.get(d.profile_id, "") if d else ""
        read.severity_label = engine.SEVERITIES.get(a.severity, a.severity)
        read.status_label = STATUS_LABELS.get(a.status, a.status)
        read.assignee_name = users.get(a.assignee_id or 0, "")
        out.append(read)
    return out


def _user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    reader = platform.system_actor(frozenset({"platform.users.read", platform.COUNTY_SCOPE}))
    names = {}
    for uid in ids:
        try:
            names[uid] = platform.get_user(session, actor=reader, user_id=uid).full_name
        except NotFound:
            continue
    return names


def alarm_detail(session: Session, *, actor: Actor, alarm_id: int) -> AlarmDetail:
    alarm = get_alarm(session, actor=actor, alarm_id=alarm_id)
    read = alarm_reads(session, [alarm])[0]
    device = session.get(Device, alarm.device_id)
    events = session.execute(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id).order_by(AlarmEvent.at, AlarmEvent.id)
    ).scalars()
    profile = session.get(Profile, device.profile_id) if device else None
    telemetry = next((t for t in (profile.telemetry if profile else []) if t.get("key") == alarm.key), {})
    return AlarmDetail(
        **read.model_dump(),
        key_name=str(telemetry.get("name", "")),
        unit=str(telemetry.get("unit", "")),
        events=[AlarmEventRead.model_validate(e) for e in events],
        lon=device.lon if device else 0,
        lat=device.lat if device else 0,
        address=device.address if device else "",
    )


# --- people's actions


def _acting(session: Session, actor: Actor, alarm_id: int) -> Alarm:
    actor.require(HANDLE)
    return get_alarm(session, actor=actor, alarm_id=alarm_id)


def _audit(session: Session, actor: Actor, alarm: Alarm, *, action: str, **detail: Any) -> None:
    """``action`` is written out in full at each call, so the label check finds it."""
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type="ps_alarm",
        object_id=alarm.id,
        detail=detail,
    )


def acknowledge(session: Session, *, actor: Actor, alarm_id: int, note: str = "", now: datetime | None = None) -> Alarm:
    alarm = _acting(session, actor, alarm_id)
    if alarm.acknowledged:
        raise Conflict(f"告警已由 {alarm.acked_by} 确认")
    now = now or utcnow()
    alarm.acknowledged, alarm.acked_by, alarm.acked_at, alarm.updated_at = (
        True,
        actor.full_name or actor.username,
        now,
        now,
    )
    event(session, alarm, "ack", "确认告警" + (f"：{note}" if note else ""), actor=actor, at=now)
    _audit(session, actor, alarm, action="perception.alarm_ack")
    return alarm


def assign(session: Session, *, actor: Actor, alarm_id: int, user_id: int, now: datetime | None = None) -> Alarm:
    alarm = _acting(session, actor, alarm_id)
    person = platform.load_actor(session, user_id=user_id)
    if person is None or not person.can(HANDLE):
        raise Invalid("只能指派给有告警处理权限的在岗人员", field="user_id")
    if not (registry.sees_all(person) or person.sees_department(alarm.department_path)):
        raise Invalid("该人员看不到这台设备（不在其部门范围内）", field="user_id")
    now = now or utcnow()
    alarm.assignee_id, alarm.updated_at = user_id, now
    event(session, alarm, "assign", f"指派给 {person.full_name}", actor=actor, at=now)
    _audit(session, actor, alarm, action="perception.alarm_assign", assignee=user_id)
    return alarm


def clear(session: Session, *, actor: Actor, alarm_id: int, note: str = "", now: datetime | None = None) -> Alarm:
    """A person clears an alarm (e.g. a false alarm); the rule must see the value go back before it fires again."""
    alarm = _acting(session, actor, alarm_id)
    if alarm.status != "active":
        raise Conflict("告警已清除")
    if not note.strip():
        raise Invalid("人工清除须说明原因", field="note")
    _clear(session, alarm, now or utcnow(), f"人工清除：{note}", actor=actor)
    _audit(session, actor, alarm, action="perception.alarm_clear")
    return alarm


def comment(session: Session, *, actor: Actor, alarm_id: int, text: str) -> Alarm:
    alarm = _acting(session, actor, alarm_id)
    event(session, alarm, "comment", text, actor=actor)
    alarm.updated_at = utcnow()
    session.flush()
    return alarm


def handlers(session: Session, *, alarm: Alarm) -> list[tuple[int, str]]:
    """People an alarm may be assigned to: holders of the handling permission who can see its device."""
    roles = {r.code: set(r.permissions or []) for r in platform.list_roles(session)}
    reader = platform.system_actor(frozenset({"platform.users.read", platform.COUNTY_SCOPE}))
    users, _ = platform.list_users(session, actor=reader, limit=5000)
    out = []
    for u in users:
        perms = set().union(*(roles.get(r.code, set()) for r in u.roles)) if u.roles else set()
        if not u.active or HANDLE not in perms:
            continue
        sees = (
            registry.MONITOR in perms
            or platform.COUNTY_SCOPE in perms
            or alarm.department_path.startswith(u.department.path)
        )
        if sees:
            out.append((u.id, f"{u.full_name}（{u.department.name}）"))
    return out
