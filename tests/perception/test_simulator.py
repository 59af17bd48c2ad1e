"""The demo simulator: its messages are accepted by the platform (demo secrets derived from the node key,
values inside the profiles' ranges), and its events really cross the alarm thresholds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.perception.conftest import wait_for
from zhixian.clock import utcnow
from zhixian.perception.sensors import catalogue, simulate
from zhixian.perception.sensors.models import Device, DeviceState, Profile


def test_simulated_traffic_is_accepted_for_every_demo_device(node, mqtt_settings, workers) -> None:
    with node.db.transaction() as session:
        devices = session.execute(
            select(Device.code, Profile.code)
            .join(Profile, Profile.id == Device.profile_id)
            .where(Device.code.like("%-00%"))
        ).all()
        before = dict(session.execute(select(Device.code, DeviceState.readings).join(DeviceState)).all())
    devices = [(c, p) for c, p in devices if p in simulate.DEMO_PREFIX]
    assert len(devices) >= 40
    (worker,) = workers(1)
    sent = simulate.publish_loop(mqtt_settings, devices, interval=0.2, duration=0.3, echo=lambda _: None)
    assert sent >= len(devices)
    wait_for(lambda: worker.stats.messages >= sent, what="模拟器的消息全部处理")
    assert worker.stats.refused == 0
    with node.db.transaction() as session:
        after = dict(session.execute(select(Device.code, DeviceState.readings).join(DeviceState)).all())
    assert all(after[c] > before.get(c, 0) for c, _ in devices)


def test_the_live_events_cross_their_thresholds() -> None:
    start = utcnow()
    model = simulate.Model(events=simulate.live_events(start))
    limits = {p["code"]: {t["key"]: (t["min"], t["max"]) for t in p["telemetry"]} for p in catalogue.PROFILES}
    peak_gas = max(model.values("GS-0002", "gas", start + timedelta(minutes=3 + m / 2))["lel"] for m in range(40))
    tilt = model.values("MH-0003", "manhole", start + timedelta(minutes=15))
    water = max(  # the deepest low point floods past orange
        model.values(f"WL-{i:04d}", "water", start + timedelta(minutes=1 + m))["level"]
        for i in range(1, 9)
        for m in range(40)
    )
    smoke = model.values("SM-0004", "smoke", start + timedelta(minutes=9))
    assert peak_gas >= 20
    assert model.values("GS-0001", "gas", start + timedelta(minutes=8))["lel"] < 5
    assert tilt["tilt"] >= 30
    assert tilt["open"] == 1
    assert water >= 0.4
    assert smoke["alarm"] == 1
    for code, profile in (("GS-0002", "gas"), ("MH-0003", "manhole"), ("WL-0005", "water"), ("SM-0004", "smoke")):
        for m in range(0, 60, 3):
            for key, value in model.values(code, profile, start + timedelta(minutes=m)).items():
                lo, hi = limits[profile][key]
                assert lo <= value <= hi, (code, key, value)
