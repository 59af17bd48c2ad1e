"""视频共享 as its users and the media servers meet it: importing a platform's catalogue, asking for and
approving grants, playing through ZLMediaKit's and MediaMTX's hooks, and analytics events becoming cases."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import func, select, text

from tests.citymgmt.conftest import jpeg
from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.perception.cameras import events, play
from zhixian.perception.cameras.models import Camera, VideoEvent, VideoGroup, View
from zhixian.perception.cameras.schemas import VideoEventIn

COUNTY = "330421"
BG = "33042100002150000001"  # 业务分组
VO = "33042100002160000001"  # 虚拟组织 under the business group
VO2 = "33042100002160000002"  # nested virtual organisation
CAM1 = "33042100081320000001"
CAM2 = "33042100081310000002"


def _spot(db) -> tuple[float, float]:
    _code, wkt = citymgmt.grid_outlines(db)[3]
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y


def catalog_xml(lon: float, lat: float, name2: str = "南门路口枪机") -> bytes:
    body = f"""<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType><SN>17</SN><DeviceID>33042100002000000001</DeviceID><SumNum>8</SumNum>
<DeviceList Num="8">
<Item><DeviceID>{COUNTY}</DeviceID><Name>嘉善县</Name></Item>
<Item><DeviceID>{COUNTY}01</DeviceID><Name>罗星街道</Name></Item>
<Item><DeviceID>{BG}</DeviceID><Name>城管视频</Name></Item>
<Item><DeviceID>{VO}</DeviceID><Name>主城区</Name><BusinessGroupID>{BG}</BusinessGroupID><ParentID>{BG}</ParentID></Item>
<Item><DeviceID>{VO2}</DeviceID><Name>南门片区</Name><BusinessGroupID>{BG}</BusinessGroupID><ParentID>{VO}</ParentID></Item>
<Item><DeviceID>{CAM1}</DeviceID><Name>中山路球机</Name><Manufacturer>Hikvision</Manufacturer><CivilCode>{COUNTY}01</CivilCode>
 <ParentID>{VO}</ParentID><Status>ON</Status><Longitude>{lon}</Longitude><Latitude>{lat}</Latitude><Info><PTZType>1</PTZType></Info></Item>
<Item><DeviceID>{CAM2}</DeviceID><Name>{name2}</Name><CivilCode>{COUNTY}01</CivilCode><ParentID>33042100002000000001/{VO2}</ParentID>
 <Status>OFF</Status><Longitude>{lon}</Longitude><Latitude>{lat}</Latitude></Item>
<Item><DeviceID>11010500081320000009</DeviceID><Name>外县摄像机</Name></Item>
<Item><DeviceID>3304210008132000001</DeviceID><Name>少一位</Name></Item>
<Item><DeviceID>33042100081329000003</DeviceID><Name>坏网络标识</Name></Item>
</DeviceList>
</Response>"""
    return body.encode("gb18030")


def _import(client, content: bytes, fmt: str = "catalog"):
    return client.post(
        "/api/v1/perception/cameras/import", files={"file": ("catalog.xml", content)}, data={"format": fmt}
    )


def test_catalog_xml_with_nested_groups_imports_and_reimports_without_duplicates(as_user, db) -> None:
    officer = as_user("zjj_officer")
    lon, lat = _spot(db)
    first = _import(officer, catalog_xml(lon, lat))
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["created"], result["groups"], result["regions"]) == (2, 3, 2)
    refused = {r["gb_id"]: r["message"] for r in result["refused"]}
    assert "中心编码 11010500 不属于本县" in refused["11010500081320000009"]
    assert "20 位数字" in refused["3304210008132000001"]
    assert "网络标识 9 无效" in refused["33042100081329000003"]
    assert all(m.startswith("第 ") for m in refused.values())
    cam2 = db.execute(select(Camera).where(Camera.gb_id == CAM2)).scalar_one()
    assert cam2.group_gb_id == VO2
    assert db.execute(select(VideoGroup.parent_gb_id).where(VideoGroup.gb_id == VO2)).scalar_one() == VO
    again = _import(officer, catalog_xml(lon, lat, name2="南门路口枪机（改）")).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 1)
    assert db.execute(select(func.count()).select_from(Camera).where(Camera.gb_id.in_([CAM1, CAM2]))).scalar() == 2
    assert (
        db.execute(select(func.count()).select_from(VideoGroup).where(VideoGroup.gb_id.in_([BG, VO, VO2]))).scalar()
        == 3
    )
    # the group tree filters the list: the business group holds both cameras through its nested organisations
    listed = officer.get("/api/v1/perception/cameras", params={"group": BG}).json()
    assert {c["gb_id"] for c in listed["items"]} == {CAM1, CAM2}


def test_catalogue_with_a_dtd_is_refused_and_an_all_bad_file_names_each_row(as_user) -> None:
    officer = as_user("zjj_officer")
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>'
    refused = _import(officer, xxe)
    assert refused.status_code == 422
    assert "DOCTYPE" in refused.text
    csv = "国标编码,名称\n12345,坏编码\n33042100121320000001,预留行业\n".encode()
    bad = _import(officer, csv, "csv")
    assert bad.status_code == 422
    rows = {e["row"]: e["message"] for e in bad.json()["errors"]}
    assert "20 位数字" in rows[2]
    assert "行业编码 12 为标准预留值" in rows[3]


def _approved_group_grant(as_user, db):
    owner = as_user("zjj_officer")
    lon, lat = _spot(db)
    assert _import(owner, catalog_xml(lon, lat)).status_code == 200
    cam = db.execute(select(Camera).where(Camera.gb_id == CAM2)).scalar_one()
    viewer = as_user("gaj_officer")
    assert viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").status_code == 404  # no grant, no play URL
    until = (utcnow() + timedelta(days=30)).isoformat()
    asked = viewer.post(
        "/api/v1/perception/video-grants",
        json={"scope": "group", "target": VO, "live": True, "purpose": "南门片区治安巡查", "valid_until": until},
    )
    assert asked.status_code == 201, asked.text
    grant = asked.json()
    assert (
        viewer.post(f"/api/v1/perception/video-grants/{grant['id']}/decide", json={"approve": True}).status_code == 404
    )
    assert viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").status_code == 404  # pending is not a grant
    ok = owner.post(f"/api/v1/perception/video-grants/{grant['id']}/decide", json={"approve": True, "note": "同意"})
    assert ok.status_code == 200
    assert ok.json()["status"] == "approved"
    return owner, viewer, cam, grant


def test_a_grant_gives_a_play_url_both_media_servers_accept_and_every_view_is_audited(as_user, http, db) -> None:
    _owner, viewer, cam, _grant = _approved_group_grant(as_user, db)
    ticket = viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").json()
    token = ticket["token"]
    assert token in ticket["url"]
    assert CAM2 in ticket["url"]
    zlm = http.post(
        "/api/v1/perception/hooks/zlm/on_play",
        json={"app": "rtp", "stream": CAM2, "params": f"token={token}", "ip": "10.1.2.3", "schema": "hls"},
    )
    assert zlm.json() == {"code": 0, "msg": "success"}
    mtx = http.post(
        "/api/v1/perception/hooks/mediamtx/auth",
        json={
            "user": "",
            "password": "",
            "token": "",
            "ip": "10.1.2.4",
            "action": "read",
            "path": f"rtp/{CAM2}",
            "protocol": "hls",
            "query": f"token={token}",
        },
    )
    assert mtx.status_code == 200
    # the same token for another camera, or to publish, is refused
    other = http.post("/api/v1/perception/hooks/zlm/on_play", json={"stream": CAM1, "params": f"token={token}"}).json()
    assert other["code"] != 0
    assert "不符" in other["msg"]
    publish = http.post(
        "/api/v1/perception/hooks/mediamtx/auth", json={"action": "publish", "path": f"rtp/{CAM2}", "token": token}
    )
    assert publish.status_code == 401
    view = db.execute(select(View).where(View.camera_id == cam.id)).scalar_one()
    assert (view.username, view.plays, view.refusals) == ("gaj_officer", 2, 2)
    assert {view.server} <= {"zlm", "mediamtx"}
    assert view.first_play_at is not None
    audited = db.execute(
        text("SELECT username, result FROM audit_record WHERE action = 'perception.play_check' AND object_id = :c"),
        {"c": str(cam.id)},
    ).all()
    assert sorted(audited) == sorted([("gaj_officer", "成功")] * 2 + [("gaj_officer", "拒绝")] * 2)
    # duration from ZLMediaKit's flow report
    http.post(
        "/api/v1/perception/hooks/zlm/on_flow_report", json={"player": True, "duration": 95, "params": f"token={token}"}
    )
    db.refresh(view)
    assert view.seconds == 95
    assert view.ended_at is not None


def test_expired_tampered_and_revoked_tokens_are_refused_by_both_hooks(as_user, http, db, node) -> None:
    owner, viewer, cam, grant = _approved_group_grant(as_user, db)
    token = viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").json()["token"]
    payload, sig = token.split(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + sig
    view = db.execute(select(View).where(View.camera_id == cam.id)).scalar_one()
    key = play.load_key(node.settings.data_dir)
    expired = play.sign(
        key,
        nonce=view.nonce,
        user_id=view.user_id,
        camera_id=cam.id,
        mode="live",
        expires=utcnow() - timedelta(seconds=1),
    )
    for bad, why in ((tampered, "签名无效"), (expired, "已过期"), ("", "缺少")):
        zlm = http.post("/api/v1/perception/hooks/zlm/on_play", json={"stream": CAM2, "params": f"token={bad}"}).json()
        assert zlm["code"] != 0
        assert why in zlm["msg"], zlm
        mtx = http.post("/api/v1/perception/hooks/mediamtx/auth", json={"action": "read", "path": CAM2, "token": bad})
        assert mtx.status_code == 401
    revoked = owner.post(f"/api/v1/perception/video-grants/{grant['id']}/revoke", json={"note": "巡查结束"})
    assert revoked.status_code == 200
    after = http.post("/api/v1/perception/hooks/zlm/on_play", json={"stream": CAM2, "params": f"token={token}"}).json()
    assert after["code"] != 0
    assert "授权" in after["msg"]
    assert viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").status_code == 404


def test_an_analytics_event_with_a_snapshot_becomes_a_case_with_that_photo_once(node, db) -> None:
    lon, lat = _spot(db)
    dept = db.execute(text("SELECT id, path FROM department WHERE code = 'zjj'")).one()
    cam = Camera(
        gb_id="33042100081320000077",
        name="东门广场",
        type_code="132",
        industry_code="08",
        network_code="6",
        civil_code=COUNTY,
        department_id=dept.id,
        department_path=dept.path,
        lon=lon,
        lat=lat,
        event_classes={"3": "S0102"},
    )
    db.add(cam)
    db.flush()
    photo = jpeg()

    def options(context, photos):
        return citymgmt.intake_options(
            node.registry, settings=node.settings, cipher=node.cipher, photos=photos, context=context
        )

    def send(minutes: int, event_id: str) -> VideoEvent:
        data = VideoEventIn(
            device_id=cam.gb_id,
            alarm_type=3,
            at=utcnow() + timedelta(minutes=minutes),
            event_id=event_id,
            description="广场东侧有遗留物",
            snapshot=base64.b64encode(photo).decode(),
        )
        return events.receive(db, data=data, source="json", options=options, window_minutes=30)

    first = send(0, "e1")
    assert first.outcome == "case", first.note
    sha = db.execute(text("SELECT sha256 FROM cm_case_photo WHERE case_id = :c"), {"c": first.case_id}).scalar_one()
    assert sha == hashlib.sha256(photo).hexdigest()
    assert db.execute(text("SELECT class_code FROM cm_case WHERE id = :c"), {"c": first.case_id}).scalar() == "S0102"
    repeat = send(10, "e2")
    assert repeat.outcome == "duplicate"
    assert repeat.case_id == first.case_id
    assert send(0, "e1").id == first.id  # the same event re-sent
    later = send(45, "e3")
    assert later.outcome == "case"
    assert later.case_id != first.case_id
    unmapped = events.receive(
        db,
        data=VideoEventIn(device_id=cam.gb_id, alarm_type=5, at=utcnow()),
        source="json",
        options=options,
        window_minutes=30,
    )
    assert unmapped.outcome == "unmapped"
    assert unmapped.case_id is None


def test_a_gb28181_alarm_notify_is_read_as_a_video_event() -> None:
    xml = """<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Alarm</CmdType><SN>9</SN>
<DeviceID>33042100081320000077</DeviceID><AlarmPriority>2</AlarmPriority><AlarmMethod>5</AlarmMethod>
<AlarmTime>2026-11-18T10:15:00</AlarmTime><AlarmDescription>绊线</AlarmDescription><Info><AlarmType>5</AlarmType></Info></Notify>"""
    data = events.parse_gb_alarm(xml.encode("gb18030"))
    assert (data.alarm_type, data.device_id, data.event_id) == (5, "33042100081320000077", "gb-33042100081320000077-9")
    assert data.at.utcoffset() == timedelta(hours=8)


def test_the_relay_serves_hls_only_with_a_valid_token(as_user, http, db, synthetic_camera) -> None:
    owner, viewer, cam, _grant = _approved_group_grant(as_user, db)
    assert (
        owner.put(f"/api/v1/perception/cameras/{cam.id}/source", json={"source_url": "file:///etc/passwd"}).status_code
        == 422
    )
    assert (
        owner.put(f"/api/v1/perception/cameras/{cam.id}/source", json={"source_url": synthetic_camera}).status_code
        == 200
    )
    ticket = viewer.post(f"/api/v1/perception/cameras/{cam.id}/play").json()
    url = ticket["relay_url"]
    assert url.startswith(f"/perception/relay/{cam.id}/index.m3u8?token=")
    base = f"/perception/relay/{cam.id}/index.m3u8"
    assert http.get(base).status_code == 403
    token = ticket["token"]
    assert http.get(base, params={"token": token[:-3] + "AAA"}).status_code == 403
    assert http.get(f"/perception/relay/{cam.id}/seg00000.ts", params={"token": token}).status_code == 403
    listed = http.get(url, timeout=40)
    assert listed.status_code == 200, listed.text
    segments = [line for line in listed.text.splitlines() if line.startswith("seg")]
    assert segments
    assert all(line.endswith(f"?token={token}") for line in segments)
    chunk = http.get(f"/perception/relay/{cam.id}/{segments[0]}")
    assert chunk.status_code == 200
    assert chunk.content[:1] == b"G"  # an MPEG-TS sync byte
    assert http.get(f"/perception/relay/{cam.id}/{segments[0].split('?')[0]}").status_code == 403
    view = db.execute(select(View).where(View.camera_id == cam.id)).scalar_one()
    db.refresh(view)
    assert view.server == "relay"
    assert view.plays == 1


def test_wvp_json_and_excel_channel_lists_import_by_gb_id(db) -> None:
    import io
    import json

    import openpyxl

    from zhixian.perception.cameras import service
    from zhixian.platform.actor import COUNTY_SCOPE, system_actor

    actor = system_actor(frozenset({COUNTY_SCOPE, service.MANAGE}))
    zjj = db.execute(text("SELECT id FROM department WHERE code = 'zjj'")).scalar_one()
    wvp = {
        "code": 0,
        "msg": "成功",
        "data": {
            "total": 3,
            "list": [
                {"gbDeviceId": "33042100041320000301", "gbName": "体育路口", "gbCivilCode": "33042101", "gbStatus": "ON",
                 "gbLongitude": 120.92, "gbLatitude": 30.84, "gbPtzType": 1},
                {"channelId": "33042100041320000302", "name": "老接口字段", "status": 0, "civilCode": "33042101"},
                {"gbDeviceId": "3304210004132000030X", "gbName": "坏编码"},
            ],
        },
    }  # fmt: skip
    result = service.import_catalogue(
        db, actor=actor, kind="wvp", content=json.dumps(wvp).encode(), county_code=COUNTY, department_id=zjj
    )
    assert (result.created, len(result.refused)) == (2, 1)
    assert result.refused[0].row == 3
    old = db.execute(select(Camera).where(Camera.gb_id == "33042100041320000302")).scalar_one()
    assert (old.name, old.status, old.industry_code) == ("老接口字段", "OFF", "04")

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["国标编码", "名称", "状态"])
    sheet.append(["33042100041320000302", "老接口字段（Excel 改名）", "在线"])
    sheet.append([33042100041320000303, "数字格式的编码", "ON"])  # Excel turned it into a number
    buf = io.BytesIO()
    book.save(buf)
    again = service.import_catalogue(
        db, actor=actor, kind="excel", content=buf.getvalue(), county_code=COUNTY, department_id=zjj
    )
    assert again.updated == 1
    db.refresh(old)
    assert (old.name, old.status) == ("老接口字段（Excel 改名）", "ON")
    assert again.created == 0  # a 20-digit code stored as a number is never guessed
    assert "存成了数字" in again.refused[0].message


def test_only_the_registered_media_servers_may_call_the_play_hooks(http, node, monkeypatch) -> None:
    monkeypatch.setitem(node.settings.subsystems, "perception", {"media_server_networks": "10.8.0.0/16"})
    for path, body in (
        ("/api/v1/perception/hooks/zlm/on_play", {"stream": CAM2, "params": "token=x"}),
        ("/api/v1/perception/hooks/zlm/on_flow_report", {"player": True, "duration": 9999, "params": "token=x"}),
        ("/api/v1/perception/hooks/mediamtx/auth", {"action": "read", "path": CAM2, "token": "x"}),
    ):
        refused = http.post(path, json=body)
        assert refused.status_code == 403, path
        assert "不是登记的媒体服务器" in refused.json()["detail"]
    monkeypatch.setitem(node.settings.subsystems, "perception", {"media_server_networks": "10.8.0.0/16, 127.0.0.0/8"})
    assert (
        http.post("/api/v1/perception/hooks/zlm/on_play", json={"stream": CAM2, "params": "token=x"}).status_code == 200
    )


def test_a_bad_media_server_network_stops_start_up_with_its_name() -> None:
    from zhixian.perception.cameras.settings import MEDIA_SERVER_NETWORKS

    with pytest.raises(ValueError, match=r"media_server_networks.*不是有效的网段"):
        MEDIA_SERVER_NETWORKS.parse("127.0.0.1/32,内网", "zhixian.toml [subsystems.perception] media_server_networks")
