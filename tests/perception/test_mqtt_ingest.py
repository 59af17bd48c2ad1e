"""Ingest through the real Mosquitto: bad readings counted and refused, one alarm per device and type,
two workers on a shared subscription processing every message exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.perception.conftest import stored, wait_for
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.perception.sensors.models import Alarm, IngestCount, Reading, Refusal

PROFILE_KEYS = [
    {"key": "v", "name": "读数", "unit": "m", "min": 0, "max": 10},
    {"key": "battery", "name": "电量", "unit": "%", "min": 0, "max": 100},
]
HIGH = {
    "code": "high",
    "name": "超高",
    "kind": "threshold",
    "key": "v",
    "params": {"op": ">=", "value": 5, "severity": "major"},
}


def _counts(node, since: dict[str, int] | None = None) -> dict[str, int]:
    day = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    with node.db.transaction() as session:
        rows = session.execute(
            select(IngestCount.outcome, IngestCount.n).where(IngestCount.day == day, IngestCount.channel == "mqtt")
        )
        now = {o: int(n) for o, n in rows}
    return {k: v - (since or {}).get(k, 0) for k, v in now.items() if v - (since or {}).get(k, 0)}


def test_bad_readings_are_counted_and_refused_and_the_worker_keeps_going(node, workers, publisher, make_device) -> None:
    device = make_device([HIGH], telemetry=PROFILE_KEYS)
    (worker,) = workers(1)
    before = _counts(node)
    now = utcnow()
    ms = int(now.timestamp() * 1000)
    good = {"token": device.secret, "ts": ms, "values": {"v": 1.5, "battery": 90}}
    publisher.send("NO-SUCH-DEVICE", {**good})  # unknown device
    publisher.send(device.code, {**good, "token": "wrong"})  # wrong secret
    publisher.send(device.code, b"{not json")  # malformed
    publisher.send(device.code, {**good, "ts": ms + 3_600_000})  # clock an hour ahead
    publisher.send(device.code, {**good, "ts": ms - 10 * 86_400_000})  # ten days old
    publisher.send(device.code, {**good, "ts": ms + 1, "values": {"v": 11.0, "battery": 80}})  # v out of range
    publisher.send(
        device.code, {**good, "ts": ms + 2, "values": {"v": "high", "humidity": 3}}
    )  # not a number, unknown key
    publisher.send(
        device.code,
        {
            "token": device.secret,
            "readings": [{"ts": ms + 3, "values": {"v": 2.0}}, {"ts": ms + 4, "values": {"v": 6.0}}],
        },
    )
    publisher.send(device.code, b"x" * 70_000)  # larger than the payload limit
    wait_for(lambda: worker.stats.messages >= 9, what="九条消息都已处理")
    counts = _counts(node, before)
    assert counts == {
        "unknown_device": 1,
        "bad_token": 1,
        "bad_payload": 1,
        "clock_ahead": 2,
        "too_old": 2,
        "out_of_range": 1,
        "accepted": 1 + 2,  # battery of the out-of-range message, and the two buffered readings
        "bad_value": 1,
        "unknown_key": 1,
        "too_large": 1,
    }
    assert worker.alive
    with node.db.transaction() as session:
        values = session.execute(
            select(Reading.key, Reading.value).where(Reading.device_id == device.id).order_by(Reading.ts, Reading.key)
        ).all()
        samples = session.execute(
            select(Refusal.reason, Refusal.detail).where(Refusal.device_code.in_([device.code, "NO-SUCH-DEVICE"]))
        ).all()
        alarm = (
            session.execute(select(Alarm.type).where(Alarm.device_id == device.id, Alarm.status == "active"))
            .scalars()
            .all()
        )
    assert values == [("battery", 80.0), ("v", 2.0), ("v", 6.0)]
    assert alarm == ["high"]  # the buffered 6.0 ran through the rules
    assert {r for r, _ in samples} >= {"unknown_device", "bad_token", "bad_payload", "too_large"}
    assert not any(device.secret in d or '"wrong"' in d for _, d in samples), "拒收样本中不得保留设备密钥"


def test_an_alarm_is_created_once_per_device_and_type(node, workers, publisher, make_device) -> None:
    device = make_device([HIGH], telemetry=PROFILE_KEYS)
    workers(2)  # two workers racing on the same device must still agree
    t0 = utcnow() - timedelta(minutes=30)
    for i in range(40):
        publisher.reading(device, {"v": 5 + (i % 3)}, ts=t0 + timedelta(seconds=i))
    wait_for(lambda: stored(node, device.id) >= 40, what="40 条读数入库")
    with node.db.transaction() as session:
        alarms = (
            session.execute(select(Alarm.status).where(Alarm.device_id == device.id, Alarm.type == "high"))
            .scalars()
            .all()
        )
        events = session.execute(
            text(
                "SELECT count(*) FROM ps_alarm_event e JOIN ps_alarm a ON a.id = e.alarm_id WHERE a.device_id = :d AND e.kind = 'raised'"
            ),
            {"d": device.id},
        ).scalar()
    assert alarms == ["active"]
    assert events == 1
    # the database refuses a second active alarm of the same type too (the last guard)
    with pytest.raises(IntegrityError), node.db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO ps_alarm (device_id, type, name, rule_kind, severity, level, status, acknowledged, acked_by, key, message, "
                "department_path, started_at, created_at, updated_at, escalation, case_number) SELECT device_id, type, name, rule_kind, severity, "
                "level, 'active', false, '', key, message, department_path, started_at, created_at, updated_at, 0, '' FROM ps_alarm WHERE device_id = :d"
            ),
            {"d": device.id},
        )


def test_two_workers_on_a_shared_subscription_process_every_message_once(node, workers, publisher, make_device) -> None:
    devices = [make_device([HIGH], telemetry=PROFILE_KEYS) for _ in range(4)]
    first, second = workers(2)
    t0 = utcnow() - timedelta(hours=2)
    n = 600
    for i in range(n):
        d = devices[i % 4]
        publisher.send(
            d.code,
            json.dumps(
                {
                    "token": d.secret,
                    "ts": int((t0 + timedelta(seconds=i)).timestamp() * 1000),
                    "values": {"v": 1.0, "battery": 50},
                }
            ).encode(),
        )
    wait_for(lambda: first.stats.messages + second.stats.messages >= n, timeout=60, what=f"{n} 条消息全部处理")
    assert first.stats.messages + second.stats.messages == n
    assert first.stats.messages > 0, "共享订阅应把消息分给两个接入进程"
    assert second.stats.messages > 0, "共享订阅应把消息分给两个接入进程"
    assert first.stats.accepted + second.stats.accepted == 2 * n
    with node.db.transaction() as session:
        rows = session.execute(
            select(func.count()).select_from(Reading).where(Reading.device_id.in_([d.id for d in devices]))
        ).scalar()
    assert rows == 2 * n
