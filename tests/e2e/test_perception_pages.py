"""城市感知 in a real browser: the device map draws every device by state, the device page charts its
history, and the duty officer acknowledges an alarm from the phone list. Screenshots in test-artifacts/."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import shot, sign_in


def _ids(demo_server) -> tuple[int, int]:
    from zhixian.perception.sensors.models import Alarm, Device

    node = demo_server.app.state.node
    with node.db.transaction() as s:
        device = s.execute(select(Device.id).where(Device.code == "WL-0003")).scalar_one()
        count = len(s.execute(select(Alarm.id)).all())
    return device, count


def _raise(demo_server) -> int:
    """A gas leak reading through the platform's own ingest, as the HTTP channel would bring it."""
    import json

    from zhixian.clock import utcnow
    from zhixian.perception.sensors import ingest, simulate
    from zhixian.perception.sensors.models import Alarm, Device

    node = demo_server.app.state.node
    secret = simulate.demo_secret(node.settings, "GS-0005")
    msg = ingest.Message(
        "GS-0005",
        json.dumps({"token": secret, "ts": int(utcnow().timestamp() * 1000), "values": {"lel": 62}}).encode(),
        "http",
    )
    with node.db.transaction() as s:
        ingest.process(s, [msg], cache=ingest.DeviceCache(), limits=ingest.Limits())
    with node.db.transaction() as s:
        device = s.execute(select(Device.id).where(Device.code == "GS-0005")).scalar_one()
        return s.execute(
            select(Alarm.id).where(Alarm.device_id == device, Alarm.status == "active", Alarm.type == "gas_lel")
        ).scalar_one()


def test_map_shows_devices_and_the_device_page_charts_its_history(new_page, demo_server) -> None:
    device, _ = _ids(demo_server)
    page = new_page()
    sign_in(page, "duty01")
    page.goto("/perception/map")
    page.wait_for_selector("#ps-map[data-count]")
    assert int(page.get_attribute("#ps-map", "data-count")) >= 40
    assert page.locator("#ps-map canvas").count() >= 1  # the points are drawn (canvas renderer)
    shot(page, "perception-map")
    page.goto(f"/perception/devices/{device}")
    page.wait_for_selector("#ps-chart[data-points]")
    assert int(page.get_attribute("#ps-chart", "data-points")) > 100  # 24 hours of readings every 10 minutes
    assert "原始读数" in page.inner_text("#ps-resolution")
    page.select_option("#ps-range", "720")
    page.locator("#ps-resolution", has_text="小时汇总").wait_for()
    shot(page, "perception-device-30-days")


def test_duty_officer_acknowledges_an_alarm_on_the_phone(new_page, demo_server) -> None:
    alarm_id = _raise(demo_server)
    phone = new_page(phone=True)
    sign_in(phone, "duty02")
    phone.goto("/perception/duty")
    card = phone.locator("li.ps-card", has=phone.locator(f"a[href='/perception/alarms/{alarm_id}']"))
    assert card.count() == 1
    assert "可燃气体报警" in card.inner_text()
    shot(phone, "perception-duty-phone")
    card.get_by_role("button", name="确认").click()
    phone.wait_for_load_state("networkidle")
    assert "已确认" in phone.inner_text(".notice.ok")
    phone.goto(f"/perception/alarms/{alarm_id}")
    assert "确认告警" in phone.inner_text(".ps-timeline")
    shot(phone, "perception-alarm-phone")
