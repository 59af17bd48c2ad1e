"""Every path of a case over the API: state, timeline, audit and deadlines."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.citymgmt.conftest import jpeg
from zhixian.platform.models import AuditRecord, Department


def report(client, spot, *, class_code="S0102", key=None, photo=None, **extra):
    lon, lat, _ = spot
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    data = {"class_code": class_code, "lon": str(lon), "lat": str(lat), "description": "路口有成堆垃圾", **extra}
    files = {"photo": ("before.jpg", photo if photo is not None else jpeg(), "image/jpeg")}
    return client.post("/api/v1/citymgmt/reports", data=data, files=files, headers=headers)


def act(client, case_id, action, **body):
    return client.post(f"/api/v1/citymgmt/cases/{case_id}/actions/{action}", json=body)


def complete(client, case_id, note="已清理"):
    files = {"photo": ("after.jpg", jpeg(color="green"), "image/jpeg")}
    return client.post(f"/api/v1/citymgmt/cases/{case_id}/actions/complete", data={"note": note}, files=files)


def check(client, case_id, *, passed, note="", photo=True):
    """核查 as the inspector does it on site: the result, a note and a photo of what they found."""
    data = {"passed": "true" if passed else "false", "note": note}
    files = {"photo": ("check.jpg", jpeg(color="blue"), "image/jpeg")} if photo else None
    return client.post(f"/api/v1/citymgmt/cases/{case_id}/actions/check", data=data, files=files)


def steps(detail):
    return [e["step"] for e in detail["events"]]


def test_normal_path_from_report_to_closed(as_user, spot, db) -> None:
    inspector, acceptor, dispatcher, handler = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj")
    )
    resp = report(inspector, spot)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["status"] == "reported"
    assert case["source"] == "inspector"
    assert case["grid_code"] == spot[2]
    assert len(case["photos"]) == 1
    cid = case["id"]
    assert act(acceptor, cid, "file", note="符合立案标准").json()["status"] == "dispatching"
    detail = dispatcher.get(f"/api/v1/citymgmt/cases/{cid}").json()
    zfj = db.execute(select(Department.id).where(Department.code == "zfj")).scalar_one()
    assert detail["suggested_department_id"] == zfj  # 暴露垃圾 → 综合执法局
    dispatched = act(dispatcher, cid, "dispatch").json()
    assert dispatched["status"] == "handling"
    assert dispatched["department_id"] == zfj
    assert dispatched["deadline"]
    assert dispatched["light"] == "green"
    # the handler must attach an after-photo
    no_photo = act(handler, cid, "complete", note="已清理")
    assert no_photo.status_code == 422
    assert "处置后照片" in no_photo.json()["detail"]
    done = complete(handler, cid)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "checking"
    assert any(t["kind"] == "check" and t["done_at"] is None for t in done.json()["tasks"])
    closed = check(inspector, cid, passed=True, note="现场已整改")
    assert closed.status_code == 200, closed.text
    final = closed.json()
    assert final["status"] == "closed"
    assert final["closed_at"]
    assert steps(final) == ["上报", "立案", "派遣", "处置反馈", "核查结案"]
    assert next(e["actor_name"] for e in final["events"])  # attributed
    actions = set(db.execute(select(AuditRecord.action).where(AuditRecord.object_id == final["number"])).scalars())
    assert {
        "citymgmt.case_create",
        "citymgmt.case_file",
        "citymgmt.case_dispatch",
        "citymgmt.case_complete",
        "citymgmt.case_check",
    } <= actions


def test_failed_check_sends_case_back_as_rework(as_user, spot) -> None:
    inspector, acceptor, dispatcher, handler = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj")
    )
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")
    complete(handler, cid)
    refused = check(inspector, cid, passed=False)
    assert refused.status_code == 422  # a reason is required
    assert refused.json()["errors"][0]["field"] == "note"
    rework = check(inspector, cid, passed=False, note="垃圾仍未清运")
    assert rework.json()["status"] == "handling"
    assert rework.json()["rework_count"] == 1
    complete(handler, cid, "已全部清运")
    final = check(inspector, cid, passed=True).json()
    assert final["status"] == "closed"
    assert steps(final) == ["上报", "立案", "派遣", "处置反馈", "返工", "处置反馈", "核查结案"]


def test_inspector_check_needs_a_photo_and_keeps_it_as_check_photo(as_user, spot) -> None:
    inspector, acceptor, dispatcher, handler = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj")
    )
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")
    complete(handler, cid)
    bare = act(inspector, cid, "check", passed=True, note="已整改")
    assert bare.status_code == 422
    assert bare.json()["errors"][0]["field"] == "photo"
    assert bare.json()["detail"] == "核查须上传现场核查照片"
    closed = check(inspector, cid, passed=True, note="已整改")
    assert closed.status_code == 200, closed.text
    assert [p["stage"] for p in closed.json()["photos"]] == ["before", "after", "check"]


def test_centre_may_record_a_phoned_in_check_without_photo(as_user, spot) -> None:
    inspector, acceptor, dispatcher, handler = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj")
    )
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")
    complete(handler, cid)
    phoned = act(acceptor, cid, "check", passed=True, note="监督员电话报告已整改")
    assert phoned.status_code == 200, phoned.text
    assert phoned.json()["status"] == "closed"


def test_verification_task_goes_to_grid_inspector(as_user, spot) -> None:
    acceptor, inspector = as_user("acceptor"), as_user("inspector01")
    lon, lat, _ = spot
    hotline = acceptor.post(
        "/api/v1/citymgmt/cases",
        json={
            "source": "hotline",
            "class_code": "S0104",
            "lon": lon,
            "lat": lat,
            "description": "市民来电：路面油污",
            "external_ref": "12345-0001",
            "reporter_contact": "13800001111",
        },
    )
    assert hotline.status_code == 201, hotline.text
    cid = hotline.json()["id"]
    sent = act(acceptor, cid, "verify").json()
    assert sent["status"] == "verifying"
    mine = inspector.get("/api/v1/citymgmt/tasks/mine").json()
    assert cid in [c["id"] for c in mine["items"]]
    other = as_user("inspector05")
    assert act(other, cid, "verified", confirmed=True).status_code in (403, 404)
    back = act(inspector, cid, "verified", confirmed=True, note="属实")
    assert back.json()["status"] == "reported"
    assert act(acceptor, cid, "file").json()["status"] == "dispatching"


def test_reject_needs_reason(as_user, spot) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    cid = report(inspector, spot).json()["id"]
    assert act(acceptor, cid, "reject").status_code == 422
    resp = act(acceptor, cid, "reject", note="不符合立案标准：已有物业负责")
    assert resp.json()["status"] == "rejected"


def test_return_to_dispatch_when_wrong_department(as_user, spot, db) -> None:
    inspector, acceptor, dispatcher = as_user("inspector01"), as_user("acceptor"), as_user("dispatcher")
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    jtj = db.execute(select(Department.id).where(Department.code == "jtj")).scalar_one()
    act(dispatcher, cid, "dispatch", department_id=jtj)
    handler = as_user("handler_jtj")
    returned = act(handler, cid, "return", note="非本部门职责，应由综合执法局处理")
    assert returned.status_code == 200, returned.text
    body = returned.json()
    assert body["status"] == "dispatching"
    assert body["return_count"] == 1
    assert body["department_id"] is None
    again = act(dispatcher, cid, "dispatch").json()
    assert again["department_name"].endswith("综合行政执法局")


def test_postponement_approved_moves_deadline_and_refused_keeps_it(as_user, spot) -> None:
    inspector, acceptor, dispatcher, handler, lead = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj", "shiftlead")
    )
    ids = []
    for _ in range(2):
        cid = report(inspector, spot, class_code="S0103").json()["id"]
        act(acceptor, cid, "file")
        act(dispatcher, cid, "dispatch")
        ids.append(cid)
    approved, refused = ids
    for cid in ids:
        assert act(handler, cid, "postpone", note="需协调渣土车辆").status_code == 422  # no duration
        asked = act(handler, cid, "postpone", note="需协调渣土车辆", days=2)
        assert asked.status_code == 200, asked.text
        assert act(handler, cid, "postpone", note="再申请", days=1).status_code == 409
    assert act(handler, approved, "decide_postpone", approve=True).status_code == 403  # not the handler's call
    before = inspector  # noqa: F841 - readability
    old = lead.get(f"/api/v1/citymgmt/cases/{approved}").json()["deadline"]
    ok = act(lead, approved, "decide_postpone", approve=True, note="同意延期两个工作日").json()
    assert ok["deadline"] > old
    assert ok["postpone_count"] == 1
    assert ok["postponements"][0]["state"] == "approved"
    assert act(handler, approved, "postpone", note="还要延", days=1).status_code == 409  # only one extension
    old2 = lead.get(f"/api/v1/citymgmt/cases/{refused}").json()["deadline"]
    no = act(lead, refused, "decide_postpone", approve=False, note="时限内可完成").json()
    assert no["deadline"] == old2
    assert no["postponements"][0]["state"] == "refused"
    assert "延期不批准" in steps(no)


def test_hold_and_resume_by_shift_lead(as_user, spot) -> None:
    inspector, acceptor, dispatcher, lead = (as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "shiftlead"))
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")
    assert act(dispatcher, cid, "hold", note="季节性").status_code == 403
    held = act(lead, cid, "hold", note="汛期后统一整治").json()
    assert held["status"] == "on_hold"
    assert held["hold_count"] == 1
    assert act(dispatcher, cid, "dispatch").status_code == 409
    resumed = act(lead, cid, "resume").json()
    assert resumed["status"] == "dispatching"


def test_supervision_order_is_recorded(as_user, spot) -> None:
    inspector, acceptor, dispatcher, lead = (as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "shiftlead"))
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")
    sup = act(lead, cid, "supervise", note="群众反映强烈，请今日内处理").json()
    assert sup["supervise_count"] == 1
    assert steps(sup)[-1] == "督办"
    leader = as_user("leader")
    assert act(leader, cid, "supervise", note="县领导督办").json()["supervise_count"] == 2


def test_self_disposal_closes_at_once_with_after_photo(as_user, spot) -> None:
    inspector = as_user("inspector01")
    lon, lat, _ = spot
    data = {
        "class_code": "S0201",
        "lon": str(lon),
        "lat": str(lat),
        "description": "小广告已当场清除",
        "self_disposed": "true",
    }
    missing = inspector.post("/api/v1/citymgmt/reports", data=data, files={"photo": ("b.jpg", jpeg(), "image/jpeg")})
    assert missing.status_code == 422
    assert "处置后照片" in missing.json()["detail"]
    files = [("photo", ("b.jpg", jpeg(), "image/jpeg")), ("photo_after", ("a.jpg", jpeg(color="blue"), "image/jpeg"))]
    resp = inspector.post("/api/v1/citymgmt/reports", data=data, files=files)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "closed"
    assert body["self_disposed"] is True
    assert {p["stage"] for p in body["photos"]} == {"before", "after"}
    detail = inspector.get(body["links"]["detail"]).json()
    assert steps(detail) == ["上报", "自行处置"]


def test_near_duplicate_is_suggested_and_merged(as_user, spot) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    lon, lat, _code = spot
    first = report(inspector, spot).json()["id"]
    citizen = acceptor.post(
        "/api/v1/citymgmt/cases",
        json={
            "source": "hotline",
            "class_code": "S0102",
            "lon": lon + 0.0001,
            "lat": lat,
            "description": "同一处垃圾",
            "reporter_name": "王先生",
            "reporter_contact": "13912345678",
        },
    ).json()
    detail = acceptor.get(f"/api/v1/citymgmt/cases/{citizen['id']}").json()
    assert first in [d["id"] for d in detail["duplicates"]]
    assert all(d["distance_m"] <= 50 for d in detail["duplicates"])
    merged = act(acceptor, citizen["id"], "merge", target_id=first).json()
    assert merged["status"] == "merged"
    assert merged["merged_into_id"] == first
    target = acceptor.get(f"/api/v1/citymgmt/cases/{first}").json()
    assert "合并" in steps(target)
    assert act(acceptor, citizen["id"], "file").status_code == 409


def test_illegal_transition_is_refused_with_chinese_reason(as_user, spot) -> None:
    inspector, dispatcher = as_user("inspector01"), as_user("dispatcher")
    cid = report(inspector, spot).json()["id"]
    resp = act(dispatcher, cid, "dispatch")
    assert resp.status_code == 409
    assert "待受理" in resp.json()["detail"]
    assert "不能派遣" in resp.json()["detail"]
    assert act(dispatcher, cid, "fly").status_code == 404


def test_handler_cannot_touch_another_departments_case(as_user, spot) -> None:
    inspector, acceptor, dispatcher = as_user("inspector01"), as_user("acceptor"), as_user("dispatcher")
    cid = report(inspector, spot).json()["id"]
    act(acceptor, cid, "file")
    act(dispatcher, cid, "dispatch")  # → 综合执法局
    other = as_user("handler_zjj")
    for resp in (other.get(f"/api/v1/citymgmt/cases/{cid}"), act(other, cid, "return", note="不是我们的")):
        assert resp.status_code in (403, 404)
        assert resp.json()["detail"] in ("案件不存在或无权查看", "该案件不属于本部门，不能办理")
    assert cid not in [c["id"] for c in other.get("/api/v1/citymgmt/cases").json()["items"]]
