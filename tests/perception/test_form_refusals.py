"""城市感知's forms, refused: each comes back on its own page with the message in Chinese beside the field
(aria-describedby, aria-invalid), a summary naming the field by its label, and what was typed kept."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from tests.perception.cameras.test_cameras import VO, _import, _spot, catalog_xml
from zhixian.perception.sensors.models import Alarm, Profile

HTML = {"accept": "text/html"}


def _field_error(html: str, field_id: str) -> str:
    m = re.search(rf'<div class="field-error" id="{re.escape(field_id)}-error">([^<]*)</div>', html)
    assert m, f"no message beside {field_id}"
    control = re.search(rf'<[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert control, f"no control {field_id}"
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    assert f"{field_id}-error" in control.group(0)
    return m.group(1)


def _value(html: str, field_id: str) -> str:
    m = re.search(rf'<input id="{re.escape(field_id)}"[^>]*\bvalue="([^"]*)"', html)
    assert m, f"no input {field_id}"
    return m.group(1)


def test_registering_a_device_with_a_bad_code_and_no_name_keeps_what_was_typed(as_user, db) -> None:
    officer = as_user("zjj_officer")
    water = db.execute(select(Profile.id).where(Profile.code == "water")).scalar_one()
    resp = officer.post(
        "/perception/devices/new",
        data={"code": "水位 1", "name": "", "profile_id": str(water), "lon": "120.1", "lat": "abc", "note": "桥下"},
        headers=HTML,
    )
    assert resp.status_code == 422
    assert "设备未登记" in resp.text
    assert _field_error(resp.text, "f-code") == "格式不正确"
    assert _field_error(resp.text, "f-name")
    assert _field_error(resp.text, "f-lat") == "必须是数字"
    assert '<a href="#f-lat">纬度（WGS84）：必须是数字</a>' in resp.text
    assert _value(resp.text, "f-code") == "水位 1"
    assert _value(resp.text, "f-note") == "桥下"
    assert f'<option value="{water}" selected>' in resp.text
    assert 'id="f-active"' in resp.text
    assert "checked" not in re.search(r'<input id="f-active"[^>]*>', resp.text).group(0)  # left unticked


def test_a_device_code_already_registered_is_said_beside_the_code(as_user, db) -> None:
    officer = as_user("zjj_officer")
    water = db.execute(select(Profile.id).where(Profile.code == "water")).scalar_one()
    dept = db.execute(text("SELECT id FROM department WHERE code = 'zjj'")).scalar_one()
    lon, lat = _spot(db)
    form = {"code": "WL-0002", "name": "重复", "profile_id": water, "department_id": dept, "lon": lon, "lat": lat}
    resp = officer.post("/perception/devices/new", data=form, headers=HTML)
    assert resp.status_code == 409
    assert "WL-0002 已登记" in _field_error(resp.text, "f-code")


def test_clearing_an_alarm_without_a_reason_is_refused_beside_the_reason_on_the_alarm_page(as_user, db) -> None:
    alarm = db.execute(select(Alarm.id).where(Alarm.status == "active").order_by(Alarm.id).limit(1)).scalar_one()
    duty = as_user("duty01")
    resp = duty.post(f"/perception/alarms/{alarm}/act/clear", data={"note": "  "}, headers=HTML)
    assert resp.status_code == 422
    assert _field_error(resp.text, "clear-note") == "人工清除须说明原因"
    assert '<label for="clear-note">清除原因（必填，如误报）</label>' in resp.text
    assert '<a href="#clear-note">清除原因（必填，如误报）：人工清除须说明原因</a>' in resp.text
    assert "未能清除" in resp.text
    assert "时间线" in resp.text  # the alarm page itself
    comment = duty.post(f"/perception/alarms/{alarm}/act/comment", data={"note": ""}, headers=HTML)
    assert _field_error(comment.text, "comment-note") == "评论不能为空"
    assert db.execute(select(Alarm.status).where(Alarm.id == alarm)).scalar_one() == "active"


def test_acknowledging_twice_from_the_duty_list_says_so_on_the_duty_list(as_user, db) -> None:
    alarm = db.execute(
        select(Alarm.id).where(Alarm.status == "active", Alarm.acknowledged.is_(False)).order_by(Alarm.id).limit(1)
    ).scalar_one()
    duty = as_user("duty01")
    first = duty.post(f"/perception/alarms/{alarm}/act/ack", data={"back": "duty"}, headers=HTML)
    assert first.status_code == 303
    assert first.headers["location"] == "/perception/duty?done=ack"
    again = duty.post(f"/perception/alarms/{alarm}/act/ack", data={"back": "duty"}, headers=HTML)
    assert again.status_code == 409
    assert "未能确认：告警已由" in again.text
    assert 'id="ps-duty"' in again.text


def test_a_rule_with_a_threshold_that_is_not_a_number_comes_back_with_the_draft(as_user, db) -> None:
    water = db.execute(select(Profile.id).where(Profile.code == "water")).scalar_one()
    lead = as_user("shiftlead")
    draft = {"code": "water_try", "name": "积水试写", "kind": "threshold", "key": "level", "op": ">=", "value": ""}
    resp = lead.post(f"/perception/profiles/{water}/rules", data=draft | {"levels": "蓝:x"}, headers=HTML)
    assert resp.status_code == 422
    assert "规则未保存" in resp.text
    assert "之间的数" in _field_error(resp.text, "r-levels")
    assert _value(resp.text, "r-code") == "water_try"
    assert _value(resp.text, "r-levels") == "蓝:x"
    assert "value 无效" not in resp.text  # parameters are named as the form names them
    tried = lead.post(
        f"/perception/profiles/{water}/test", data=draft | {"hours": "9999"}, headers=HTML | {"HX-Request": "true"}
    )
    assert tried.status_code == 200  # htmx swaps only 2xx: the refusal is the fragment
    assert '<a href="#r-hours">试算读数（小时）：试算时长应为 1–720 小时</a>' in tried.text


def test_a_profile_with_telemetry_that_is_not_json_keeps_the_text(as_user, db) -> None:
    water = db.execute(select(Profile.id).where(Profile.code == "water")).scalar_one()
    lead = as_user("shiftlead")
    resp = lead.post(
        f"/perception/profiles/{water}",
        data={"code": "water", "name": "积水监测", "telemetry": "[{key: level", "offline_minutes": "0"},
        headers=HTML,
    )
    assert resp.status_code == 422
    assert "JSON 数组" in _field_error(resp.text, "f-telemetry")
    assert "[{key: level</textarea>" in resp.text


def test_a_grant_request_with_a_bad_time_window_keeps_the_purpose(as_user, db) -> None:
    owner = as_user("zjj_officer")
    lon, lat = _spot(db)
    assert _import(owner, catalog_xml(lon, lat)).status_code == 200
    viewer = as_user("gaj_officer")
    form = {"scope": "group", "target": VO, "playback": "on", "purpose": "主城区巡查", "windows": "8点-18点"}
    resp = viewer.post("/perception/video-grants", data=form | {"valid_until": "2099-01-01T08:00"}, headers=HTML)
    assert resp.status_code == 422
    assert "HH:MM-HH:MM" in _field_error(resp.text, "f-windows")
    assert _value(resp.text, "f-purpose") == "主城区巡查"
    assert "checked" in re.search(r'<input id="f-playback"[^>]*>', resp.text).group(0)
    assert "checked" not in re.search(r'<input id="f-live"[^>]*>', resp.text).group(0)
    none = viewer.post("/perception/video-grants", data=form | {"valid_until": ""}, headers=HTML)
    assert _field_error(none.text, "f-valid_until") == "请填写截止日期和时间"


def test_a_catalogue_import_without_a_file_is_refused_beside_the_file_field(as_user) -> None:
    owner = as_user("zjj_officer")
    resp = owner.post("/perception/cameras/import", data={"format": "csv"}, headers=HTML)
    assert resp.status_code == 422
    assert _field_error(resp.text, "f-file") == "请选择要导入的文件"
    assert '<option value="csv" selected>' in resp.text
