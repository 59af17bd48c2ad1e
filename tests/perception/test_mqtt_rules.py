"""Each rule kind, published through the real Mosquitto: it fires and clears at exactly the right reading."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.perception.conftest import stored, wait_for
from zhixian.clock import utcnow
from zhixian.perception.sensors.models import Alarm


def _alarm(node, device_id: int, type_: str) -> tuple[str, str, str] | None:
    """(status, severity, level) of the device's newest alarm of this type, or None."""
    with node.db.transaction() as session:
        row = session.execute(
            select(Alarm.status, Alarm.severity, Alarm.level)
            .where(Alarm.device_id == device_id, Alarm.type == type_)
            .order_by(Alarm.id.desc())
            .limit(1)
        ).first()
    return tuple(row) if row else None  # type: ignore[return-value]


def _send(node, publisher, device, value: float, at) -> None:
    before = stored(node, device.id)
    publisher.reading(device, {"v": value}, ts=at)
    wait_for(lambda: stored(node, device.id) > before, what=f"读数 {value} 入库")


THRESHOLD = {
    "code": "high",
    "name": "超高",
    "kind": "threshold",
    "key": "v",
    "params": {"op": ">=", "hysteresis": 2, "levels": [{"level": "黄", "value": 10}, {"level": "红", "value": 30}]},
}
# (value, expected (status, severity, level) after it); None = no alarm yet
THRESHOLD_STEPS = [
    (5, None),
    (10, ("active", "minor", "黄")),
    (25, ("active", "minor", "黄")),
    (30, ("active", "critical", "红")),
    (29, ("active", "critical", "红")),  # inside the hysteresis band: stays red
    (27.9, ("active", "minor", "黄")),  # past red minus hysteresis: back to yellow, still active
    (9, ("active", "minor", "黄")),  # below yellow but within the band
    (7.9, ("cleared", "minor", "黄")),  # past yellow minus hysteresis: cleared
]


def test_threshold_with_levels_and_hysteresis(node, workers, publisher, make_device) -> None:
    device = make_device([THRESHOLD])
    workers(1)
    t0 = utcnow() - timedelta(hours=1)
    for i, (value, expected) in enumerate(THRESHOLD_STEPS):
        _send(node, publisher, device, value, t0 + timedelta(minutes=i))
        assert _alarm(node, device.id, "high") == expected, f"读数 {value} 之后"


DURATION = {
    "code": "long",
    "name": "持续超限",
    "kind": "duration",
    "key": "v",
    "params": {"op": ">", "value": 50, "minutes": 10},
}
# (minutes after t0, value, expected status) — above 50 for 10 minutes by the readings' own clock
DURATION_STEPS = [
    (0, 55, None),
    (5, 60, None),
    (9, 52, None),
    (10, 51, "active"),
    (11, 49, "cleared"),
    (12, 55, "cleared"),
    (15, 40, "cleared"),  # the run is broken: the clock starts again
    (16, 55, "cleared"),
    (25, 55, "cleared"),  # nine minutes only
    (26, 56, "active"),
]


def test_duration_fires_after_n_minutes_by_reading_time(node, workers, publisher, make_device) -> None:
    device = make_device([DURATION])
    workers(1)
    t0 = utcnow() - timedelta(hours=1)
    for minutes, value, expected in DURATION_STEPS:
        _send(node, publisher, device, value, t0 + timedelta(minutes=minutes))
        got = _alarm(node, device.id, "long")
        assert (got[0] if got else None) == expected, f"第 {minutes} 分钟读数 {value} 之后"


REPEAT = {
    "code": "rep",
    "name": "连续超限",
    "kind": "repeat",
    "key": "v",
    "params": {"op": ">", "value": 25, "count": 3},
}
REPEAT_STEPS = [
    (30, None),
    (30, None),
    (20, None),
    (30, None),
    (30, None),
    (30, "active"),
    (26, "active"),
    (24, "cleared"),
]


def test_repetition_fires_on_the_nth_reading_in_a_row(node, workers, publisher, make_device) -> None:
    device = make_device([REPEAT])
    workers(1)
    t0 = utcnow() - timedelta(hours=1)
    for i, (value, expected) in enumerate(REPEAT_STEPS):
        _send(node, publisher, device, value, t0 + timedelta(minutes=i))
        got = _alarm(node, device.id, "rep")
        assert (got[0] if got else None) == expected, f"第 {i + 1} 条读数 {value} 之后"


RATE = {
    "code": "rise",
    "name": "快速上涨",
    "kind": "rate",
    "key": "v",
    "params": {"change": 0.1, "minutes": 10, "direction": "rise"},
}
# (minutes, value, expected): rising more than 0.1 per 10 minutes between consecutive readings
RATE_STEPS = [(0, 1.0, None), (10, 1.05, None), (20, 1.2, "active"), (25, 1.27, "active"), (30, 1.3, "cleared")]


def test_rate_of_change_fires_and_clears(node, workers, publisher, make_device) -> None:
    device = make_device([RATE])
    workers(1)
    t0 = utcnow() - timedelta(hours=1)
    for minutes, value, expected in RATE_STEPS:
        _send(node, publisher, device, value, t0 + timedelta(minutes=minutes))
        got = _alarm(node, device.id, "rise")
        assert (got[0] if got else None) == expected, f"第 {minutes} 分钟读数 {value} 之后"


def test_a_late_reading_is_stored_but_does_not_drive_the_rules(node, workers, publisher, make_device) -> None:
    device = make_device([REPEAT])
    workers(1)
    t0 = utcnow() - timedelta(hours=1)
    for i in range(2):
        _send(node, publisher, device, 30, t0 + timedelta(minutes=10 + i))
    _send(node, publisher, device, 99, t0)  # older than what the rules saw: stored, not evaluated
    assert _alarm(node, device.id, "rep") is None
    _send(node, publisher, device, 30, t0 + timedelta(minutes=12))
    assert _alarm(node, device.id, "rep")[0] == "active"
