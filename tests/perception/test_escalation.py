"""The escalation ladder and the case hub: an alarm nobody acknowledges tells the duty officers, reminds
them, then becomes a case in the device's grid with its profile's class; an offline device opens a
maintenance case for its 部件; closing the case is noted on the alarm."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from tests.perception.conftest import stored, wait_for
from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.cases import workflow
from zhixian.citymgmt.models import CaseEvent
from zhixian.citymgmt.schemas import ActionIn
from zhixian.clock import utcnow
from zhixian.perception import tasks
from zhixian.perception.sensors import alarms, escalation
from zhixian.perception.sensors.models import Alarm, AlarmEvent, Notice
from zhixian.platform import service as platform
from zhixian.platform.actor import COUNTY_SCOPE, system_actor
from zhixian.platform.models import User

HIGH = {
    "code": "ponding",
    "name": "积水超警",
    "kind": "threshold",
    "key": "v",
    "params": {"op": ">=", "value": 0.4, "level": "橙"},
}
OFFLINE = {
    "code": "offline",
    "name": "设备离线",
    "kind": "offline",
    "key": "",
    "params": {"minutes": 30, "severity": "minor"},
}
READER = system_actor(frozenset({COUNTY_SCOPE, "citymgmt.view"}))


def _raise(node, publisher, device, value: float = 0.5):
    before = stored(node, device.id)
    publisher.reading(device, {"v": value})
    wait_for(lambda: stored(node, device.id) > before, what="读数入库")
    with node.db.transaction() as session:
        return session.execute(select(Alarm).where(Alarm.device_id == device.id, Alarm.status == "active")).scalar_one()


def _ladder(node, at):
    with node.db.transaction() as session:
        return escalation.run_ladder(
            session, options=tasks.intake_options(node), ladder=tasks.ladder(node.settings), now=at
        )


def _alarm(node, alarm_id: int) -> Alarm:
    with node.db.transaction() as session:
        row = session.get(Alarm, alarm_id)
        assert row is not None
        return row


def test_unacknowledged_alarm_notifies_reminds_then_opens_a_case_in_its_grid(
    node, workers, publisher, make_device
) -> None:
    device = make_device([HIGH], case_class_code="S0403")
    workers(1)
    alarm = _raise(node, publisher, device)
    assert (alarm.severity, alarm.level) == ("major", "橙")
    created = alarm.created_at
    # (minutes after the alarm, escalation step, notices so far, has a case) — the other alarms of the
    # demo county climb the same ladder in the same runs; this test follows its own
    for minutes, step, notices, has_case in (
        (4, 0, [], False),
        (5, 1, ["notify"], False),
        (6, 1, ["notify"], False),
        (14, 1, ["notify"], False),
        (15, 2, ["notify", "remind"], True),
    ):
        _ladder(node, created + timedelta(minutes=minutes))
        assert _progress(node, alarm.id) == (step, notices, has_case), f"告警后第 {minutes} 分钟"
    escalated = _alarm(node, alarm.id)
    assert escalated.escalation == 2
    assert escalated.case_id
    with node.db.transaction() as session:
        case = citymgmt.case_read(session, citymgmt.get_case(session, actor=READER, case_id=escalated.case_id))
    assert case.source == "sensor"
    assert case.class_code == "S0403"
    assert case.grid_code == device.grid_code
    assert case.grid_code
    assert device.code in case.description
    assert escalated.case_number == case.number
    with node.db.transaction() as session:
        events = (
            session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
            .scalars()
            .all()
        )
    timeline = [(e.step, e.data.get("alarm_id")) for e in events]
    assert ("物联告警", alarm.id) in timeline, "案件时间线应显示该告警"
    _ladder(node, created + timedelta(minutes=60))
    assert _alarm(node, alarm.id).case_id == escalated.case_id  # one case per alarm
    with node.db.transaction() as session:
        assert len(citymgmt.list_cases(session, actor=READER, flt=citymgmt.CaseFilter(q=device.code), limit=10)[0]) <= 1


def _progress(node, alarm_id: int) -> tuple[int, list[str], bool]:
    with node.db.transaction() as session:
        alarm = session.get(Alarm, alarm_id)
        notices = (
            session.execute(select(Notice.kind).where(Notice.alarm_id == alarm_id).order_by(Notice.id)).scalars().all()
        )
        return alarm.escalation, list(notices), alarm.case_id is not None


def test_an_acknowledged_alarm_is_not_escalated(node, workers, publisher, make_device) -> None:
    device = make_device([HIGH], case_class_code="S0403")
    workers(1)
    alarm = _raise(node, publisher, device)
    with node.db.transaction() as session:
        alarms.acknowledge(session, actor=_duty(session), alarm_id=alarm.id, note="已电话通知排水所")
    _ladder(node, alarm.created_at + timedelta(hours=2))
    assert _progress(node, alarm.id) == (0, [], False)


def _duty(session):
    return platform.actor_for(session.execute(select(User).where(User.username == "duty01")).scalar_one())


def _component(node, class_code: str = "B0103"):
    with node.db.transaction() as session:
        comps = citymgmt.components(session, class_codes=[class_code], limit=50)
    return comps[-1]


def test_offline_device_opens_a_maintenance_case_for_its_component(node, workers, publisher, make_device) -> None:
    comp = _component(node)
    device = make_device([OFFLINE], component_code=comp.code, where=(comp.lon, comp.lat))
    workers(1)
    before = stored(node, device.id)
    publisher.reading(device, {"v": 0.1})
    wait_for(lambda: stored(node, device.id) > before, what="读数入库")
    options = tasks.intake_options(node)
    with node.db.transaction() as session:
        escalation.check_offline(session, options=options, now=utcnow() + timedelta(minutes=29))
        assert session.execute(select(Alarm.id).where(Alarm.device_id == device.id)).first() is None
    with node.db.transaction() as session:
        escalation.check_offline(session, options=options, now=utcnow() + timedelta(minutes=31))
    with node.db.transaction() as session:
        alarm = session.execute(select(Alarm).where(Alarm.device_id == device.id, Alarm.type == "offline")).scalar_one()
        case = citymgmt.case_read(session, citymgmt.get_case(session, actor=READER, case_id=alarm.case_id or 0))
        where = citymgmt.locate(session, comp.lon, comp.lat)
    assert alarm.status == "active"
    assert alarm.rule_kind == "offline"
    assert case.class_code == comp.class_code == "B0103"
    assert case.component_code == comp.code
    assert case.grid_code == where.grid_code
    # the device reports again: the offline alarm clears by itself (the case stays with the maintainers)
    before = stored(node, device.id)
    publisher.reading(device, {"v": 0.1})
    wait_for(lambda: stored(node, device.id) > before, what="恢复上报")
    assert _alarm(node, alarm.id).status == "cleared"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buf, "JPEG")
    return buf.getvalue()


def test_closing_the_case_is_noted_on_the_alarm_and_a_repeat_joins_the_open_case(
    node, workers, publisher, make_device
) -> None:
    device = make_device([HIGH], case_class_code="S0403")
    workers(1)
    first = _raise(node, publisher, device)
    _ladder(node, first.created_at + timedelta(minutes=15))
    case_id = _alarm(node, first.id).case_id
    # the water goes down and rises again while the case is still open: the new alarm joins that case
    before = stored(node, device.id)
    publisher.reading(device, {"v": 0.1})
    wait_for(lambda: stored(node, device.id) > before, what="回落")
    second = _raise(node, publisher, device, 0.6)
    assert second.id != first.id
    _ladder(node, second.created_at + timedelta(minutes=15))
    assert case_id is not None
    assert _alarm(node, second.id).case_id == case_id
    # the centre closes the case the real way: file, dispatch, complete with a photo, check
    with node.db.transaction() as session:
        users = {u.username: platform.actor_for(u) for u in session.execute(select(User)).scalars()}
        act = lambda who, action, **kw: workflow.perform(  # noqa: E731
            session,
            actor=users[who],
            settings=node.settings,
            case_id=case_id,
            action=action,
            data=ActionIn(**kw),
            photos=[citymgmt.PhotoIn(_jpeg(), "after.jpg", "after")] if action == "complete" else (),
        )
        act("acceptor", "file")
        case = act("dispatcher", "dispatch")
        dept = platform.get_department(session, case.department_id)
        handler = next(a for a in users.values() if "handler" in a.roles and a.department_id == dept.id)
        workflow.perform(
            session,
            actor=handler,
            settings=node.settings,
            case_id=case_id,
            action="complete",
            data=ActionIn(note="已排水"),
            photos=[citymgmt.PhotoIn(_jpeg(), "after.jpg", "after")],
        )
        act("acceptor", "check", passed=True, note="积水已排除")
    with node.db.transaction() as session:
        assert escalation.sync_cases(session) >= 2
    for alarm_id in (first.id, second.id):
        with node.db.transaction() as session:
            texts = (
                session.execute(
                    select(AlarmEvent.text).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.kind == "case_closed")
                )
                .scalars()
                .all()
            )
        assert texts
        assert "已结案" in texts[0]
        assert _alarm(node, alarm_id).case_closed_at is not None
