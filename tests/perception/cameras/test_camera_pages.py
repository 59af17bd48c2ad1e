"""视频共享 pages as a department's staff use them: list and map, asking for a grant, approving it, the wall."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.perception.cameras.test_cameras import CAM1, CAM2, VO, _import, _spot, catalog_xml
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.perception.cameras.models import Camera, Grant

HTML = {"accept": "text/html"}


def _form(client, url: str, data: dict[str, str]):
    return client.post(url, data={**data, "csrf_token": client.headers["X-CSRF-Token"]}, headers=HTML)


def test_a_department_asks_for_a_group_on_the_grant_page_and_the_owner_approves_it(as_user, db) -> None:
    owner = as_user("zjj_officer")
    lon, lat = _spot(db)
    assert _import(owner, catalog_xml(lon, lat)).status_code == 200
    listed = owner.get("/perception/cameras", headers=HTML)
    assert listed.status_code == 200
    assert CAM1 in listed.text
    assert "本部门" in listed.text
    geo = owner.get("/perception/cameras.geojson").json()
    assert {f["properties"]["code"] for f in geo["features"]} >= {CAM1, CAM2}

    viewer = as_user("gaj_officer")
    assert CAM1 not in viewer.get("/perception/cameras", headers=HTML).text
    cam1 = db.execute(select(Camera.id).where(Camera.gb_id == CAM1)).scalar_one()
    cam2 = db.execute(select(Camera.id).where(Camera.gb_id == CAM2)).scalar_one()
    before = re.findall(
        r'data-play="/api/v1/perception/cameras/(\d+)/play"', viewer.get("/perception/video-wall", headers=HTML).text
    )
    assert str(cam1) not in before  # its own (demo) cameras only, until the grant below
    until = (utcnow() + timedelta(days=7)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    bad = _form(
        viewer,
        "/perception/video-grants",
        {"scope": "group", "target": VO, "live": "on", "purpose": "巡查", "valid_until": until, "windows": "8点-18点"},
    )
    assert bad.status_code == 422
    assert "HH:MM-HH:MM" in bad.text
    asked = _form(
        viewer,
        "/perception/video-grants",
        {"scope": "group", "target": VO, "live": "on", "purpose": "主城区治安巡查", "valid_until": until},
    )
    assert asked.status_code == 303
    assert "待审批" in viewer.get("/perception/video-grants", headers=HTML).text
    grant = db.execute(select(Grant).where(Grant.target == VO)).scalar_one()
    pending = owner.get("/perception/video-grants", headers=HTML).text
    assert f"/perception/video-grants/{grant.id}/decide" in pending
    refused = _form(owner, f"/perception/video-grants/{grant.id}/decide", {"approve": "no", "note": ""})
    assert refused.status_code == 422
    assert "不同意时须说明理由" in refused.text
    ok = _form(owner, f"/perception/video-grants/{grant.id}/decide", {"approve": "yes", "note": "同意"})
    assert ok.status_code == 303
    assert "已批准" in viewer.get("/perception/video-grants", headers=HTML).text

    wall = viewer.get("/perception/video-wall", headers=HTML).text
    tiles = re.findall(r'data-play="/api/v1/perception/cameras/(\d+)/play"', wall)
    assert set(tiles) - set(before) == {str(cam1)}  # the online camera under the granted organisation
    assert str(cam2) not in tiles  # offline
    page = viewer.get(f"/perception/cameras/{cam1}", headers=HTML)
    assert "调阅实时视频" in page.text
    played = _form(viewer, f"/perception/cameras/{cam1}/play", {})
    assert played.status_code == 200
    assert "token=" in played.text
    assert CAM1 in played.text
    log = owner.get(f"/perception/cameras/{cam1}", headers=HTML).text  # the owner reads who watched, by name
    assert "调阅记录" in log
    assert re.search(r'<td>[^<>]*[\u4e00-\u9fff][^<>]* <code class="code">gaj_officer</code></td>', log)


def test_a_leader_who_may_only_watch_sees_the_grants_but_no_request_form(as_user, db) -> None:
    """The 调阅授权 menu entry opens for everyone who sees cameras: asking and deciding are what need more."""
    owner = as_user("zjj_officer")
    lon, lat = _spot(db)
    assert _import(owner, catalog_xml(lon, lat)).status_code == 200
    until = (utcnow() + timedelta(days=7)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    asked = _form(
        as_user("gaj_officer"),
        "/perception/video-grants",
        {"scope": "group", "target": VO, "live": "on", "purpose": "主城区治安巡查", "valid_until": until},
    )
    assert asked.status_code == 303
    page = as_user("leader").get("/perception/video-grants", headers=HTML)
    assert page.status_code == 200
    assert "主城区治安巡查" in page.text  # county-wide oversight
    assert "申请调阅" not in page.text
    assert "/decide" not in page.text
