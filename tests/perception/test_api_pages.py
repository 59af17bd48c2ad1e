"""物联感知 over HTTP, as its users meet it: registering devices, devices posting readings, charts, the
duty officer's work on an alarm, the pages of each role, and figures that open the alarms behind them."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import shapely
from sqlalchemy import select, text

from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.perception.sensors import simulate
from zhixian.perception.sensors.models import Device, Profile

HTML = {"accept": "text/html"}


def _spot(db) -> tuple[float, float, str]:
    code, wkt = citymgmt.grid_outlines(db)[3]
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y, code


def _profile(db, code: str) -> int:
    return db.execute(select(Profile.id).where(Profile.code == code)).scalar_one()


def _dept(db, code: str) -> int:
    return db.execute(text("SELECT id FROM department WHERE code = :c"), {"c": code}).scalar_one()


def test_registering_a_device_shows_its_secret_once_and_keeps_only_a_digest(as_user, db) -> None:
    officer = as_user("zjj_officer")
    lon, lat, grid = _spot(db)
    body = {
        "code": "WL-T001",
        "name": "下穿通道水位",
        "profile_id": _profile(db, "water"),
        "department_id": _dept(db, "zjj"),
        "lon": lon,
        "lat": lat,
    }
    created = officer.post("/api/v1/perception/devices", json=body)
    assert created.status_code == 201, created.text
    device = created.json()
    secret = device["secret"]
    assert len(secret) >= 24
    assert device["grid_code"] == grid
    assert device["state"] == "never"
    shown = officer.get(f"/api/v1/perception/devices/{device['id']}").json()
    assert "secret" not in shown
    assert secret not in str(shown)
    stored = db.execute(select(Device.secret_hash).where(Device.id == device["id"])).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert officer.post("/api/v1/perception/devices", json=body).status_code == 409
    other = officer.post(
        "/api/v1/perception/devices", json={**body, "code": "WL-T002", "department_id": _dept(db, "yjj")}
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "department_id"
    outside = officer.post("/api/v1/perception/devices", json={**body, "code": "WL-T003", "lon": 100.0, "lat": 30.0})
    assert outside.status_code == 422
    # a new secret replaces the old one at once
    rotated = officer.post(f"/api/v1/perception/devices/{device['id']}/secret").json()
    assert rotated["secret"] != secret
    assert rotated["topic"].endswith("/WL-T001/telemetry")


def test_a_device_posts_readings_over_http_with_its_token(node, http, db) -> None:
    code = "GS-0002"
    secret = simulate.demo_secret(node.settings, code)
    ts = int(utcnow().timestamp() * 1000)
    ok = http.post(
        f"/api/v1/perception/ingest/{code}", json={"ts": ts, "values": {"lel": 3.2}}, headers={"X-Device-Token": secret}
    )
    assert ok.status_code == 202, ok.text
    assert ok.json()["accepted"] == 1
    in_body = http.post(
        f"/api/v1/perception/ingest/{code}", json={"token": secret, "ts": ts + 1, "values": {"lel": 3.3, "x": 1}}
    )
    assert in_body.status_code == 202
    assert in_body.json()["refused"] == 1
    assert "设备类型中没有该遥测项" in in_body.json()["reasons"]
    wrong = http.post(
        f"/api/v1/perception/ingest/{code}", json={"ts": ts, "values": {"lel": 3.2}}, headers={"X-Device-Token": "nope"}
    )
    assert wrong.status_code == 401
    unknown = http.post(
        "/api/v1/perception/ingest/NOPE-1", json={"ts": ts, "values": {"lel": 3.2}}, headers={"X-Device-Token": secret}
    )
    assert unknown.status_code == 401  # an unknown code answers like a wrong secret: codes are not disclosed
    bad = http.post(
        f"/api/v1/perception/ingest/{code}",
        json={"ts": ts + 2, "values": {"lel": 130}},
        headers={"X-Device-Token": secret},
    )
    assert bad.status_code == 422
    assert "超出有效范围" in bad.text
    future = http.post(
        f"/api/v1/perception/ingest/{code}",
        json={"ts": ts + 86_400_000, "values": {"lel": 1}},
        headers={"X-Device-Token": secret},
    )
    assert future.status_code == 422
    assert "超前" in future.text


def test_a_chart_reads_raw_values_for_hours_and_rollups_for_weeks(as_user, db) -> None:
    viewer = as_user("zjj_officer")
    device_id = db.execute(select(Device.id).where(Device.code == "WL-0001")).scalar_one()
    end = utcnow()

    def series(hours: int) -> dict:
        resp = viewer.get(
            f"/api/v1/perception/devices/{device_id}/series",
            params={"key": "level", "start": (end - timedelta(hours=hours)).isoformat(), "end": end.isoformat()},
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    raw, five, hourly = series(6), series(72), series(24 * 30)
    assert (raw["resolution"], five["resolution"], hourly["resolution"]) == ("raw", "5m", "1h")
    assert 30 <= len(raw["points"]) <= 40  # a reading every 10 minutes
    assert 400 <= len(five["points"]) <= 440
    assert 60 <= len(hourly["points"]) <= 75
    # the storm of the demo history shows in the hourly maxima
    assert max(p[3] for p in hourly["points"]) > 0.15
    assert raw["unit"] == "m"
    gas = db.execute(select(Device.id).where(Device.code == "GS-0001")).scalar_one()
    assert viewer.get(f"/api/v1/perception/devices/{gas}/series").status_code == 404  # 应急管理局's sensor


def _raise_gas_alarm(http, db, settings) -> int:
    secret = simulate.demo_secret(settings, "GS-0003")
    ts = int(utcnow().timestamp() * 1000)
    resp = http.post(
        "/api/v1/perception/ingest/GS-0003", json={"ts": ts, "values": {"lel": 55}}, headers={"X-Device-Token": secret}
    )
    assert resp.status_code == 202, resp.text
    return db.execute(
        text(
            "SELECT a.id FROM ps_alarm a JOIN ps_device d ON d.id = a.device_id WHERE d.code = 'GS-0003' AND a.type = 'gas_lel' AND a.status = 'active'"
        )
    ).scalar_one()


def test_the_duty_officer_acknowledges_assigns_comments_and_clears(node, http, as_user, db) -> None:
    alarm_id = _raise_gas_alarm(http, db, node.settings)
    duty = as_user("duty01")
    detail = duty.get(f"/api/v1/perception/alarms/{alarm_id}").json()
    assert (detail["severity"], detail["level"], detail["acknowledged"]) == ("critical", "红", False)
    assert (
        duty.post(f"/api/v1/perception/alarms/{alarm_id}/ack", json={"note": "已通知燃气公司"}).json()["acknowledged"]
        is True
    )
    assert duty.post(f"/api/v1/perception/alarms/{alarm_id}/ack", json={}).status_code == 409
    duty02 = db.execute(text("SELECT id FROM user_account WHERE username = 'duty02'")).scalar_one()
    staff = db.execute(text("SELECT id FROM user_account WHERE username = 'staff'")).scalar_one()
    assert (
        duty.post(f"/api/v1/perception/alarms/{alarm_id}/assign", json={"user_id": duty02}).json()["assignee_id"]
        == duty02
    )
    refused = duty.post(f"/api/v1/perception/alarms/{alarm_id}/assign", json={"user_id": staff})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "user_id"
    assert duty.post(f"/api/v1/perception/alarms/{alarm_id}/comments", json={"text": "现场人员已到"}).status_code == 200
    assert duty.post(f"/api/v1/perception/alarms/{alarm_id}/clear", json={"note": ""}).status_code == 422
    cleared = duty.post(f"/api/v1/perception/alarms/{alarm_id}/clear", json={"note": "阀门已关闭，浓度回落"})
    assert cleared.json()["status"] == "cleared"
    kinds = [e["kind"] for e in duty.get(f"/api/v1/perception/alarms/{alarm_id}").json()["events"]]
    assert kinds == ["raised", "ack", "assign", "comment", "clear"]
    assert as_user("staff").get("/api/v1/perception/alarms").status_code == 403


def test_a_duty_officer_turns_an_alarm_into_a_case_at_once(node, http, as_user, db) -> None:
    alarm_id = _raise_gas_alarm(http, db, node.settings)
    duty = as_user("duty01")
    done = duty.post(f"/api/v1/perception/alarms/{alarm_id}/case", json={"note": "浓度很高，立即派单"})
    assert done.status_code == 200, done.text
    case_id = done.json()["case_id"]
    case = as_user("acceptor").get(f"/api/v1/citymgmt/cases/{case_id}").json()
    assert (case["source"], case["class_code"], case["urgent"]) == ("sensor", "S0801", True)
    assert any(e["step"] == "物联告警" for e in case["events"])
    assert duty.post(f"/api/v1/perception/alarms/{alarm_id}/case", json={}).status_code == 409


def _cards(html: str) -> list[tuple[str, int, str]]:
    return [
        (href.replace("&amp;", "&"), int(value), label)
        for href, value, label in re.findall(
            r'<a class="card[^"]*" href="([^"]+)"><div class="value">(\d+)</div><div class="label">([^<]+)</div>', html
        )
    ]


def test_every_figure_on_the_alarm_console_opens_exactly_its_alarms(node, http, as_user, db) -> None:
    _raise_gas_alarm(http, db, node.settings)
    duty = as_user("duty01")
    page = duty.get("/perception/alarms", headers=HTML)
    assert page.status_code == 200
    cards = _cards(page.text)
    assert len(cards) >= 8
    assert any(v for _, v, _ in cards)
    for href, value, label in cards:
        listed = duty.get(href.replace("/perception/alarms", "/api/v1/perception/alarms"))
        assert listed.status_code == 200, href
        assert listed.json()["total"] == value, f"{label}：卡片 {value}，列表 {listed.json()['total']}"
        assert duty.get(href, headers=HTML).status_code == 200


def test_pages_render_for_their_roles(as_user, db) -> None:
    duty, lead, officer = as_user("duty01"), as_user("shiftlead"), as_user("zjj_officer")
    device = db.execute(select(Device.id).where(Device.code == "WL-0002")).scalar_one()
    alarm = db.execute(text("SELECT id FROM ps_alarm ORDER BY id LIMIT 1")).scalar_one()
    water = _profile(db, "water")
    for client, url, needle in (
        (duty, "/perception/map", "感知地图"),
        (duty, "/perception/duty", "值班告警"),
        (duty, "/perception/devices", "感知设备"),
        (duty, f"/perception/devices/{device}", "历史曲线"),
        (duty, f"/perception/devices/{device}/live", "积水深度"),
        (duty, f"/perception/alarms/{alarm}", "时间线"),
        (lead, "/perception/profiles", "设备类型与告警规则"),
        (lead, f"/perception/profiles/{water}", "积水超警"),
        (lead, "/perception/ingest", "接入统计"),
        (officer, "/perception/devices/new", "登记感知设备"),
        (officer, "/", "活动告警"),
    ):
        resp = client.get(url, headers=HTML)
        assert resp.status_code == 200, f"{url}: {resp.status_code}"
        assert needle in resp.text, url
    assert as_user("staff").get("/perception/map", headers=HTML).status_code == 403
    assert officer.get("/perception/profiles", headers=HTML).status_code == 403
    # a department officer's map holds only its own department's devices
    mine = officer.get("/api/v1/perception/devices.geojson").json()["features"]
    everyone = duty.get("/api/v1/perception/devices.geojson").json()["features"]
    assert 0 < len(mine) < len(everyone)
    assert {f["properties"]["profile"] for f in mine} <= {"manhole", "water"}


def test_a_draft_rule_is_tried_against_recent_readings(as_user, db) -> None:
    lead = as_user("shiftlead")
    water = _profile(db, "water")
    rule = {
        "code": "try_high",
        "name": "试算",
        "kind": "threshold",
        "key": "level",
        "params": {"op": ">=", "value": 0.12},
    }
    tried = lead.post(f"/api/v1/perception/profiles/{water}/rules/test", json={"rule": rule, "hours": 72})
    assert tried.status_code == 200, tried.text
    result = tried.json()
    assert result["devices"] >= 7
    assert result["readings"] > 1000
    assert {h["action"] for h in result["hits"]} == {"raise", "clear"}  # yesterday's storm
    none = lead.post(
        f"/api/v1/perception/profiles/{water}/rules/test",
        json={"rule": {**rule, "params": {"op": ">=", "value": 5}}, "hours": 72},
    )
    assert none.json()["hits"] == []
    bad = lead.post(f"/api/v1/perception/profiles/{water}/rules/test", json={"rule": {**rule, "key": "nope"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "key"
    page = lead.post(
        f"/perception/profiles/{water}/test",
        data={
            **{k: v for k, v in rule.items() if k != "params"},
            "value": "0.12",
            "op": ">=",
            "hours": "72",
            "csrf_token": lead.headers["X-CSRF-Token"],
        },
        headers=HTML,
    )
    assert page.status_code == 200
    assert "试算" in page.text
    assert "清除" in page.text
