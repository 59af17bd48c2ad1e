"""One batch straight through ``ingest.process`` (no broker): the bulk writes store exactly the readings,
rollups and alarms the per-row path did, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from zhixian.clock import utcnow
from zhixian.perception.sensors import ingest
from zhixian.perception.sensors.models import Alarm, AlarmEvent, DeviceState, Reading, Rollup

RULES = [
    {"code": "high", "name": "超高", "kind": "threshold", "key": "v", "params": {"op": ">=", "value": 5}},
    {"code": "jump", "name": "骤升", "kind": "rate", "key": "v", "params": {"change": 100, "minutes": 1}},
    {"code": "long", "name": "持续", "kind": "duration", "key": "v", "params": {"op": ">", "value": 0, "minutes": 600}},
]


def _message(device, items: list[tuple[datetime, dict[str, float]]]) -> ingest.Message:
    body = {"token": device.secret, "readings": [{"ts": int(t.timestamp() * 1000), "values": v} for t, v in items]}
    return ingest.Message(device_code=device.code, payload=json.dumps(body).encode())


def test_a_batch_stores_readings_rollups_and_an_alarm_raised_and_cleared_within_it(node, make_device) -> None:
    device = make_device(RULES)
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(minutes=20)
    values = [1.0, 6.0, 7.5, 2.0, 3.25, 4.0]
    items = [(start + timedelta(minutes=2 * i, milliseconds=5), {"v": v}) for i, v in enumerate(values)]
    cache, limits = ingest.DeviceCache(), ingest.Limits()
    with node.db.transaction() as session:
        # two messages in one batch, the second repeating one reading (stored once)
        result = ingest.process(
            session, [_message(device, items[:4]), _message(device, items[3:])], cache=cache, limits=limits, now=now
        )
    # seven values passed the checks; the repeated one is merged within the batch, not a duplicate of a stored one
    assert result.counts[("mqtt", "accepted")] == 7
    assert result.counts[("mqtt", "duplicate")] == 0
    with node.db.transaction() as session:
        stored = session.execute(
            select(Reading.ts, Reading.value).where(Reading.device_id == device.id).order_by(Reading.ts)
        ).all()
        assert [(ts, v) for ts, v in stored] == [(t, v["v"]) for t, v in items]
        rollups = session.execute(
            select(Rollup.seconds, Rollup.bucket, Rollup.n, Rollup.total, Rollup.vmin, Rollup.vmax).where(
                Rollup.device_id == device.id
            )
        ).all()
        expected: dict[tuple[int, datetime], list[float]] = {}
        for t, v in items:
            for seconds in (300, 3600):
                epoch = int(t.timestamp())
                cell = expected.setdefault((seconds, datetime.fromtimestamp(epoch - epoch % seconds, UTC)), [])
                cell.append(v["v"])
        assert {(s, b): (n, total, lo, hi) for s, b, n, total, lo, hi in rollups} == {
            k: (len(c), sum(c), min(c), max(c)) for k, c in expected.items()
        }
        alarm = session.execute(select(Alarm).where(Alarm.device_id == device.id, Alarm.type == "high")).scalar_one()
        assert (alarm.status, alarm.peak, alarm.value) == ("cleared", 7.5, 2.0)
        assert alarm.started_at == items[1][0]
        kinds = session.execute(
            select(AlarmEvent.kind).where(AlarmEvent.alarm_id == alarm.id).order_by(AlarmEvent.id)
        ).scalars()
        assert list(kinds) == ["raised", "clear"]
        state = session.get(DeviceState, device.id)
        assert state is not None
        assert state.readings == 6
        assert state.last_ts == items[-1][0]
        assert state.values == {"v": 4.0, "_ts": items[-1][0].isoformat()}
        # times in a rule's state are stored as ISO 8601, as any worker reads them
        assert state.rules["jump"]["t"] == items[-1][0].isoformat()
        assert state.rules["long"]["since"] == items[0][0].isoformat()

    late = now - timedelta(hours=1)
    with node.db.transaction() as session:
        result = ingest.process(
            session, [_message(device, [(late, {"v": 50.0}), items[2]])], cache=cache, limits=limits, now=now
        )
    assert (result.counts[("mqtt", "late")], result.counts[("mqtt", "duplicate")]) == (1, 1)
    with node.db.transaction() as session:
        hour = datetime.fromtimestamp(int(late.timestamp()) // 3600 * 3600, UTC)
        row = session.execute(
            select(Rollup.n, Rollup.total).where(
                Rollup.device_id == device.id, Rollup.seconds == 3600, Rollup.bucket == hour
            )
        ).one()
        assert row.n >= 1
        active = select(Alarm.id).where(Alarm.device_id == device.id, Alarm.status == "active")
        assert session.execute(active).all() == []  # the late 50.0 drove no rule
