"""Bad input at intake, idempotent retries, GCJ-02 input, and deadlines on the official calendar."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.citymgmt.conftest import jpeg
from tests.citymgmt.test_workflow_api import report
from zhixian.citymgmt import service
from zhixian.citymgmt.cases import workflow
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Case
from zhixian.citymgmt.schemas import ActionIn, CaseIntake
from zhixian.platform import service as platform
from zhixian.platform.models import User

BJ = ZoneInfo("Asia/Shanghai")


def test_outside_county_and_nan_coordinates_are_refused(as_user, spot) -> None:
    acceptor = as_user("acceptor")
    base = {"source": "hotline", "class_code": "S0102", "description": "x"}
    far = acceptor.post("/api/v1/citymgmt/cases", json={**base, "lon": 116.39, "lat": 39.9})
    assert far.status_code == 422
    assert far.json()["detail"] == "位置不在本县管理范围内"
    nan = acceptor.post(
        "/api/v1/citymgmt/cases",
        content=b'{"source":"hotline","class_code":"S0102","lon":NaN,"lat":30.8}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    assert "有限的数字" in nan.text
    inspector = as_user("inspector01")
    nan_form = report(inspector, ("nan", "30.8", ""))
    assert nan_form.status_code == 422
    assert "有限的数字" in nan_form.text


def test_unknown_class_is_refused(as_user, spot) -> None:
    resp = report(as_user("inspector01"), spot, class_code="S9999")
    assert resp.status_code == 422
    assert resp.json()["detail"] == "案件类别 S9999 不存在或已停用"
    assert resp.json()["errors"][0]["field"] == "class_code"


def test_photo_must_be_an_image_within_the_limit(as_user, spot) -> None:
    inspector = as_user("inspector01")
    fake = report(inspector, spot, photo=b"%PDF-1.4 not an image")
    assert fake.status_code == 422
    assert fake.json()["detail"] == "文件不是有效的图片"
    big = report(inspector, spot, photo=jpeg() + b"\0" * (5 * 1024 * 1024 + 10))
    assert big.status_code == 422
    assert big.json()["detail"] == "照片过大"
    assert "5 MB" in big.json()["errors"][0]["message"]


def test_oversized_description_is_refused(as_user, spot) -> None:
    resp = report(as_user("inspector01"), spot, description="垃" * 1001)
    assert resp.status_code == 422
    assert "不能超过 1000 个字符" in resp.json()["detail"]


def test_replayed_report_returns_the_same_case(as_user, spot, db) -> None:
    inspector = as_user("inspector01")
    key = uuid.uuid4().hex
    photo = jpeg()
    before = db.execute(select(func.count()).select_from(Case)).scalar_one()
    first = report(inspector, spot, key=key, photo=photo)
    second = report(inspector, spot, key=key, photo=photo)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert db.execute(select(func.count()).select_from(Case)).scalar_one() == before + 1
    changed = report(inspector, spot, key=key, photo=photo, description="另一件事")
    assert changed.status_code == 409
    assert "Idempotency-Key" in changed.json()["detail"]


def test_gcj02_input_is_converted_and_marked(as_user, spot) -> None:
    lon, lat, code = spot
    glon, glat = geo.wgs84_to_gcj02(lon, lat)
    resp = as_user("acceptor").post(
        "/api/v1/citymgmt/cases",
        json={"source": "hotline", "class_code": "S0102", "lon": glon, "lat": glat, "crs": "GCJ02"},
    )
    body = resp.json()
    assert body["coord_note"] == "GCJ-02→WGS84"
    assert body["grid_code"] == code
    assert abs(body["lon"] - lon) < 1e-6
    assert abs(body["lat"] - lat) < 1e-6


def test_locate_gives_grid_community_and_street(as_user, spot) -> None:
    lon, lat, code = spot
    body = as_user("acceptor").get("/api/v1/citymgmt/locate", params={"lon": lon, "lat": lat}).json()
    assert body["grid_code"] == code
    assert body["community_code"] == code[:12]
    assert body["street_code"] == code[:9] + "000"
    assert body["community_name"]
    assert body["street_name"]


def test_inspector_cannot_intake_as_hotline(as_user, spot) -> None:
    lon, lat, _ = spot
    resp = as_user("inspector01").post(
        "/api/v1/citymgmt/cases", json={"source": "hotline", "class_code": "S0102", "lon": lon, "lat": lat}
    )
    assert resp.status_code == 403
    assert "12345热线" in resp.json()["detail"]


def _actor(db, username):
    return platform.actor_for(db.execute(select(User).where(User.username == username)).scalar_one())


def _dispatched(db, node, spot, when: datetime, class_code: str) -> Case:
    lon, lat, _ = spot
    opts = service.IntakeOptions(settings=node.settings, cipher=node.cipher, now=when)
    case = service.intake(
        db,
        actor=_actor(db, "acceptor"),
        data=CaseIntake(source="hotline", class_code=class_code, lon=lon, lat=lat),
        options=opts,
    )
    workflow.perform(
        db,
        actor=_actor(db, "acceptor"),
        settings=node.settings,
        case_id=case.id,
        action="file",
        data=ActionIn(),
        now=when,
    )
    workflow.perform(
        db,
        actor=_actor(db, "dispatcher"),
        settings=node.settings,
        case_id=case.id,
        action="dispatch",
        data=ActionIn(),
        now=when,
    )
    return case


def test_deadline_skips_the_national_day_holiday(db, node, spot) -> None:
    # 暴露垃圾: 4 working hours. 30 Sep 2025 16:00 → 1.5 h that day, 1–8 Oct are holidays, 2.5 h on 9 Oct.
    case = _dispatched(db, node, spot, datetime(2025, 9, 30, 16, 0, tzinfo=BJ), "S0102")
    assert case.deadline.astimezone(BJ) == datetime(2025, 10, 9, 11, 0, tzinfo=BJ)
    assert case.warn_at.astimezone(BJ) < case.deadline.astimezone(BJ)


def test_deadline_counts_the_tiaoxiu_working_saturday(db, node, spot) -> None:
    # Saturday 11 Oct 2025 is an official working day (调休): Friday 16:00 + 4 h ends on Saturday 11:00.
    case = _dispatched(db, node, spot, datetime(2025, 10, 10, 16, 0, tzinfo=BJ), "S0102")
    assert case.deadline.astimezone(BJ) == datetime(2025, 10, 11, 11, 0, tzinfo=BJ)


def test_overdue_case_turns_red_and_is_escalated_once(db, node, spot) -> None:
    case = _dispatched(db, node, spot, datetime(2025, 10, 10, 16, 0, tzinfo=BJ), "S0102")
    assert service.light(case, datetime(2025, 10, 10, 16, 30, tzinfo=BJ)) == "green"
    assert service.light(case, datetime(2025, 10, 11, 10, 30, tzinfo=BJ)) == "yellow"
    assert service.light(case, datetime(2025, 10, 11, 11, 1, tzinfo=BJ)) == "red"
    later = datetime(2025, 10, 13, 9, 0, tzinfo=BJ)
    assert workflow.escalate_overdue(db, now=later) >= 1
    db.refresh(case)
    assert case.escalated_at is not None
    assert case.supervise_count == 1
    assert workflow.escalate_overdue(db, now=later) == 0 or case.supervise_count == 1
    db.expire(case)
    assert [e.step for e in case.events][-1] == "超期升级"


def test_batch_intake_reports_each_item_and_replays_by_key(as_user, spot, db) -> None:
    lon, lat, code = spot
    acceptor = as_user("acceptor")
    key = uuid.uuid4().hex
    items = [
        {
            "source": "sensor",
            "class_code": "S0403",
            "lon": lon,
            "lat": lat,
            "external_ref": "dev-1",
            "idempotency_key": key,
        },
        {"source": "sensor", "class_code": "S0403", "lon": 116.39, "lat": 39.9, "external_ref": "dev-2"},
        {"source": "sensor", "class_code": "S9999", "lon": lon, "lat": lat, "external_ref": "dev-3"},
    ]
    before = db.execute(select(func.count()).select_from(Case)).scalar_one()
    first = acceptor.post("/api/v1/citymgmt/cases/batch", json={"items": items})
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["failed"]) == (1, 2)
    ok, far, unknown = body["results"]
    assert ok["status"] == 201
    assert ok["case"]["grid_code"] == code
    assert ok["case"]["links"]["detail"] == f"/api/v1/citymgmt/cases/{ok['case']['id']}"
    assert (far["index"], far["status"], far["detail"]) == (1, 422, "位置不在本县管理范围内")
    assert unknown["status"] == 422
    assert unknown["errors"][0]["field"] == "class_code"
    again = acceptor.post("/api/v1/citymgmt/cases/batch", json={"items": items[:1]}).json()
    assert again["results"][0]["replayed"] is True
    assert again["results"][0]["case"]["id"] == ok["case"]["id"]
    assert db.execute(select(func.count()).select_from(Case)).scalar_one() == before + 1
    detail = acceptor.get(ok["case"]["links"]["detail"]).json()
    assert detail["source"] == "sensor"
    assert [e["step"] for e in detail["events"]] == ["上报"]
