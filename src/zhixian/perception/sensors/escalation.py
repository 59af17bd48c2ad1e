"""The escalation ladder and the bridge to the case hub.

Unacknowledged for ``notify`` minutes → the duty officers are told (and reminded every ``remind``
minutes while nobody acknowledges); unacknowledged for ``case`` minutes → the alarm becomes a
city-management case through the intake hub: source 物联感知, the class its profile maps to (or the
linked 部件's class), located in the device's grid. A device that goes silent opens a maintenance case
for its 部件 at once. Before opening a case the ladder looks for one this device already has open for
the same alarm type and joins it; the hub's own near-duplicate check is noted on the alarm.

The case hub calls ``on_case_created`` (a ``case_hooks`` contribution) in the case's transaction: the
case's timeline gets the alarm, the alarm gets the case. ``sync_cases`` notes on the alarm when its case
is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.schemas import ChannelIntake
from zhixian.clock import utcnow
from zhixian.errors import Conflict, DomainError
from zhixian.perception.sensors import alarms
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors import service as registry
from zhixian.perception.sensors.models import Alarm, Device, DeviceState, Notice, Profile, Rule
from zhixian.platform.actor import COUNTY_SCOPE, Actor, system_actor

if TYPE_CHECKING:
    from zhixian.citymgmt.models import Case

SOURCE = "sensor"  # the intake channel 物联感知 (declared as an IntakeSource on the subsystem)
ESCALATE = "perception.alarm.escalate"
FINAL = {"closed": "已结案", "rejected": "不予立案", "merged": "已合并"}
OptionsFor = Callable[[dict[str, Any]], citymgmt.IntakeOptions]
"""Builds the hub's intake options (settings, cipher, hooks) for a context; the job or route supplies it."""


@dataclass(frozen=True)
class Ladder:
    notify_minutes: int = 5
    case_minutes: int = 15
    remind_minutes: int = 10


def system() -> Actor:
    return system_actor(frozenset({COUNTY_SCOPE, ESCALATE, "perception.view"}))


def _minutes(profile: Profile, ladder: Ladder) -> tuple[int, int]:
    notify = profile.notify_minutes if profile.notify_minutes is not None else ladder.notify_minutes
    case = profile.case_minutes if profile.case_minutes is not None else ladder.case_minutes
    return notify, case


def run_ladder(session: Session, *, options: OptionsFor, ladder: Ladder, now: datetime | None = None) -> dict[str, int]:
    """The job: tell, remind, then open cases for active alarms nobody has acknowledged."""
    now = now or utcnow()
    done = {"notified": 0, "reminded": 0, "cases": 0}
    rows = session.execute(
        select(Alarm, Profile)
        .join(Device, Device.id == Alarm.device_id)
        .join(Profile, Profile.id == Device.profile_id)
        .where(Alarm.status == "active", Alarm.acknowledged.is_(False), Alarm.escalation < 2)
        .order_by(Alarm.id)
        .limit(1000)
    ).all()
    for alarm, profile in rows:
        notify, case = _minutes(profile, ladder)
        age = now - alarm.created_at
        if alarm.escalation == 0 and age >= timedelta(minutes=notify):
            _notice(
                session,
                alarm,
                "notify",
                f"告警 {alarm.name} 已 {age.total_seconds() / 60:.0f} 分钟未确认，请值班员处理",
                now,
            )
            alarm.escalation, alarm.notified_at = 1, now
            done["notified"] += 1
        elif alarm.escalation == 1 and now - (alarm.reminded_at or alarm.notified_at or now) >= timedelta(
            minutes=ladder.remind_minutes
        ):
            _notice(session, alarm, "remind", f"再次提醒：告警 {alarm.name} 仍未确认", now)
            alarm.reminded_at = now
            done["reminded"] += 1
        wanted = profile.case_min_severity != "never" and engine.SEVERITY_RANK.get(
            alarm.severity, 0
        ) >= engine.SEVERITY_RANK.get(profile.case_min_severity, 3)
        if (
            wanted
            and alarm.case_id is None
            and age >= timedelta(minutes=case)
            and open_case(
                session,
                alarm=alarm,
                options=options,
                reason=f"告警 {age.total_seconds() / 60:.0f} 分钟未确认，按升级规则转为案件",
                now=now,
            )
        ):
            done["cases"] += 1
    session.flush()
    return done


def _notice(session: Session, alarm: Alarm, kind: str, text: str, now: datetime) -> None:
    device = session.get(Device, alarm.device_id)
    message = f"{text}（{device.name if device else ''} {alarm.message}）"[:300]
    session.add(Notice(alarm_id=alarm.id, at=now, kind=kind, message=message, department_path=alarm.department_path))
    alarms.event(session, alarm, kind, "通知值班员" if kind == "notify" else "再次提醒值班员", at=now)


def case_class(session: Session, alarm: Alarm, device: Device, profile: Profile) -> tuple[str, str | None]:
    """(class code, 部件 code) for the alarm's case; '' when nothing is mapped."""
    component = citymgmt.component(session, device.component_code) if device.component_code else None
    if alarm.rule_kind == "offline":
        if component is not None:
            return component.class_code, component.code
        return profile.maintenance_class_code, None
    code = profile.case_class_code or (component.class_code if component is not None else "")
    # a 部件 class (B…) names the 部件 the case is about; an event class (S…) is about the place
    return code, component.code if component is not None and code.startswith("B") else None


def open_case(
    session: Session,
    *,
    alarm: Alarm,
    options: OptionsFor,
    reason: str,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> bool:
    """Turns an alarm into a case (or joins the case this device already has open for it); False if unmapped."""
    now = now or utcnow()
    if alarm.case_id is not None:
        raise Conflict(f"告警已转为案件 {alarm.case_number}")
    device = session.get(Device, alarm.device_id)
    assert device is not None
    profile = session.get(Profile, device.profile_id)
    assert profile is not None
    class_code, component_code = case_class(session, alarm, device, profile)
    if not class_code:
        alarms.event(session, alarm, "case", f"未能转为案件：设备类型“{profile.name}”未配置案件类别", at=now)
        alarm.escalation = 2
        return False
    earlier = _open_case_of(session, alarm)
    if earlier is not None:
        alarm.case_id, alarm.case_number, alarm.escalation = earlier.id, earlier.number, 2
        alarms.event(
            session, alarm, "case", f"该设备同类告警的案件 {earlier.number} 仍在办理，已关联，不重复立案", at=now
        )
        citymgmt.add_event(
            session,
            _case(session, earlier.id),
            actor=system(),
            step="物联告警",
            from_status=earlier.status,
            to_status=earlier.status,
            note=f"设备 {device.code} 再次告警：{alarm.message}（告警 #{alarm.id}）",
            data={"alarm_id": alarm.id, "href": f"/perception/alarms/{alarm.id}"},
            at=now,
        )
        return True
    kind = "设备离线" if alarm.rule_kind == "offline" else alarm.name
    data = ChannelIntake(
        source=SOURCE,
        class_code=class_code,
        lon=device.lon,
        lat=device.lat,
        address=device.address[:200],
        description=f"【物联感知·{kind}】{device.name}（{device.code}）：{alarm.message}。{reason}"[:1000],
        urgent=alarm.severity == "critical",
        component_code=component_code,
        external_ref=f"ps-alarm-{alarm.id}",
    )
    opts = options({"perception_alarm_id": alarm.id, "reason": reason})
    try:
        case = citymgmt.intake(session, actor=actor or system(), data=data, options=opts)
    except DomainError as exc:
        alarms.event(session, alarm, "case", f"转为案件失败：{exc.detail}", at=now)
        alarm.escalation = 2
        return False
    nearby = citymgmt.duplicates(session, case)
    if nearby:
        numbers = "、".join(d.number for d in nearby[:5])
        alarms.event(session, alarm, "case", f"附近有同类在办案件 {numbers}，受理员可合并", at=now)
    return True


def _case(session: Session, case_id: int) -> Case:
    return citymgmt.get_case(session, actor=system_actor(frozenset({COUNTY_SCOPE})), case_id=case_id)


def _open_case_of(session: Session, alarm: Alarm) -> Any:
    ids = list(
        session.execute(
            select(Alarm.case_id)
            .where(
                Alarm.device_id == alarm.device_id,
                Alarm.type == alarm.type,
                Alarm.case_id.is_not(None),
                Alarm.case_closed_at.is_(None),
            )
            .order_by(Alarm.id.desc())
            .limit(5)
        ).scalars()
    )
    for case in citymgmt.case_reads(session, [i for i in ids if i]):
        if case.status not in FINAL:
            return case
    return None


def on_case_created(session: Session, case: Case, context: dict[str, Any]) -> None:
    """Case hook: a case opened from an alarm carries the alarm on its timeline, and the alarm the case."""
    alarm_id = context.get("perception_alarm_id")
    if not alarm_id:
        return
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        return
    device = session.get(Device, alarm.device_id)
    alarm.case_id, alarm.case_number, alarm.escalation = case.id, case.number, 2
    alarms.event(session, alarm, "case", f"已转为城管案件 {case.number}（{context.get('reason', '')}）")
    citymgmt.add_event(
        session,
        case,
        actor=system(),
        step="物联告警",
        from_status=case.status,
        to_status=case.status,
        note=f"告警 #{alarm.id} {alarm.name}：{alarm.message}（设备 {device.code if device else ''}）",
        data={"alarm_id": alarm.id, "device_id": alarm.device_id, "href": f"/perception/alarms/{alarm.id}"},
    )


def sync_cases(session: Session, *, now: datetime | None = None) -> int:
    """The job: an alarm whose case was closed (or rejected, merged) gets a note saying so."""
    now = now or utcnow()
    rows = list(
        session.execute(
            select(Alarm).where(Alarm.case_id.is_not(None), Alarm.case_closed_at.is_(None)).limit(2000)
        ).scalars()
    )
    if not rows:
        return 0
    cases = {c.id: c for c in citymgmt.case_reads(session, list({a.case_id for a in rows if a.case_id}))}
    done = 0
    for alarm in rows:
        case = cases.get(alarm.case_id or 0)
        if case is None or case.status not in FINAL:
            continue
        alarm.case_closed_at = case.closed_at or now
        alarms.event(session, alarm, "case_closed", f"案件 {case.number} {FINAL[case.status]}", at=now)
        done += 1
    session.flush()
    return done


def check_offline(session: Session, *, options: OptionsFor, now: datetime | None = None) -> int:
    """The job: devices silent longer than their offline rule raise an offline alarm and a maintenance case."""
    now = now or utcnow()
    profiles = {p.id: p for p in session.execute(select(Profile)).scalars()}
    rules_by_owner: dict[tuple[str, int], list[Rule]] = {}
    for r in session.execute(select(Rule).where(Rule.kind == "offline")).scalars():
        rules_by_owner.setdefault(("p", r.profile_id) if r.profile_id else ("d", r.device_id or 0), []).append(r)
    overrides: dict[int, list[Rule]] = {}
    for r in session.execute(select(Rule).where(Rule.device_id.is_not(None))).scalars():
        overrides.setdefault(r.device_id or 0, []).append(r)
    count = 0
    rows = session.execute(
        select(Device, DeviceState)
        .join(DeviceState, DeviceState.device_id == Device.id)
        .where(Device.active.is_(True), DeviceState.offline.is_(False), DeviceState.last_seen.is_not(None))
        .order_by(Device.id)
        .with_for_update(of=DeviceState)
    ).all()
    for device, state in rows:
        specs = registry.effective(rules_by_owner.get(("p", device.profile_id), []), overrides.get(device.id, []))
        for spec in (s for s in specs if s.kind == "offline"):
            if not engine.offline_due(spec, state.last_seen, now):
                continue
            state.offline = True
            silent = (now - (state.last_seen or now)).total_seconds() / 60
            effect = engine.Effect(
                "raise",
                spec,
                severity=spec.severity,
                colour=str(spec.params.get("level", "")),
                message=f"{silent:.0f} 分钟未收到数据",
            )
            alarm = alarms.active_alarm(session, device.id, spec.code) or alarms.raise_alarm(
                session, device, effect, now, now
            )
            if alarm.case_id is None and profiles[device.profile_id].case_min_severity != "never":
                open_case(session, alarm=alarm, options=options, reason="设备离线，派维护单位检修", now=now)
            count += 1
            break
    session.flush()
    return count
