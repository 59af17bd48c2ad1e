"""Catalogue over HTTP: grading rule, department scope, review workflow, exchange round-trips, search."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from zhixian.catalog.models import BusinessSystem, Resource
from zhixian.clock import local_today
from zhixian.platform.models import AuditRecord


def resource(code: str = "301001/009001", dept: str = "zjj", **kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "code": code,
        "category": code.split("/", maxsplit=1)[0],
        "name": "建筑工地扬尘监测信息",
        "kind": "部门",
        "department_code": dept,
        "summary": "工地扬尘在线监测数据",
        "share_type": "有条件共享",
        "share_condition": "限环保、执法部门使用",
        "update_cycle": "每日",
        "grade": "一般",
        "sensitivity": 2,
        "key_field": "site_no",
        "linked_codes": ["101001/000001"],
        "items": [
            {"name": "工地编号", "field_name": "site_no", "required": True, "sensitivity": 1},
            {"name": "负责人电话", "field_name": "phone", "rule": "手机号", "sensitivity": 2, "masking": "手机号"},
        ],
    }
    body.update(kw)
    return body


def test_item_graded_above_resource_is_refused_with_chinese_reason(as_user, db):
    client = as_user("zjj_officer")
    body = resource()
    body["items"][1]["grade"] = "重要"  # type: ignore[index]
    body["items"][1]["sensitivity"] = None  # type: ignore[index]
    resp = client.post("/api/v1/catalog/resources", json=body)
    assert resp.status_code == 422
    assert "就高从严" in resp.json()["detail"]
    assert "负责人电话" in resp.json()["detail"]
    assert db.execute(select(Resource).where(Resource.code == body["code"])).first() is None
    body["grade"], body["sensitivity"] = "重要", None
    assert client.post("/api/v1/catalog/resources", json=body).status_code == 201


def test_bad_category_and_missing_share_condition_are_explained(as_user):
    client = as_user("zjj_officer")
    resp = client.post("/api/v1/catalog/resources", json=resource(code="101001/009001"))
    assert resp.status_code == 422
    assert "基础信息资源" in resp.json()["detail"]
    resp = client.post("/api/v1/catalog/resources", json=resource(share_condition=""))
    assert resp.status_code == 422
    assert "共享条件" in resp.json()["detail"]


def test_officer_edits_only_own_department(as_user, db):
    client = as_user("zjj_officer")
    resp = client.post("/api/v1/catalog/resources", json=resource(dept="gaj"))
    assert resp.status_code == 403
    gaj_res = db.execute(select(Resource).where(Resource.code == "101001/000001")).scalar_one()
    body = resource(code=gaj_res.code, dept="zjj", kind="基础")
    assert client.put(f"/api/v1/catalog/resources/{gaj_res.id}", json=body).status_code == 403


def test_draft_review_publish_records_reviewer_and_audits(as_user, db):
    officer = as_user("zjj_officer")
    rid = officer.post("/api/v1/catalog/resources", json=resource()).json()["id"]
    # drafts are not visible to other departments
    assert as_user("gaj_officer").get(f"/api/v1/catalog/resources/{rid}").status_code == 404
    assert officer.post(f"/api/v1/catalog/resources/{rid}/review", json={"decision": "approve"}).status_code == 403
    assert officer.post(f"/api/v1/catalog/resources/{rid}/submit").json()["status"] == "review"
    hub = as_user("datahub")
    resp = hub.post(f"/api/v1/catalog/resources/{rid}/review", json={"decision": "reject"})
    assert resp.status_code == 422  # a rejection needs a reason
    published = hub.post(f"/api/v1/catalog/resources/{rid}/review", json={"decision": "approve", "note": "合规"})
    assert published.json()["status"] == "published"
    assert published.json()["reviewer"] == "datahub"
    assert as_user("gaj_officer").get(f"/api/v1/catalog/resources/{rid}").status_code == 200
    withdrawn = hub.post(f"/api/v1/catalog/resources/{rid}/withdraw", json={"decision": "reject", "note": "停用"})
    assert withdrawn.json()["status"] == "withdrawn"
    actions = (
        db.execute(
            select(AuditRecord.action).where(
                AuditRecord.object_type == "catalog_resource", AuditRecord.object_id == str(rid)
            )
        )
        .scalars()
        .all()
    )
    assert actions == [
        "catalog.resource.create",
        "catalog.resource.submit",
        "catalog.resource.publish",
        "catalog.resource.withdraw",
    ]


def _strip(doc: list[dict]) -> list[dict]:
    return sorted(doc, key=lambda r: r["code"])


def test_excel_json_xml_round_trip_without_loss(as_user, db):
    hub = as_user("datahub")
    tricky = resource(
        code="301001/009002",
        name="=cmd|' /C calc'!A0 扬尘",
        summary="+1 含公式前缀",
        management_mode="-集中管理",
        service_info="@服务",
        online_url="https://data.example/api",
        maintainer="住建局",
        metadata_version="2.1",
    )
    tricky["items"][0]["min_value"] = -1.5  # type: ignore[index]
    assert hub.post("/api/v1/catalog/resources", json=tricky).status_code == 201
    before = hub.get("/api/v1/catalog/export.json").content
    for fmt, element_set in (
        ("xlsx", "modern"),
        ("json", "modern"),
        ("json", "legacy"),
        ("xml", "modern"),
        ("xml", "legacy"),
    ):
        exported = hub.get(f"/api/v1/catalog/export.{fmt}?element_set={element_set}")
        assert exported.status_code == 200
        # re-import into the same catalogue: idempotent
        report = hub.post("/api/v1/catalog/import", files={"file": (f"c.{fmt}", exported.content)}).json()
        total = db.execute(select(func.count()).select_from(Resource)).scalar_one()
        assert report == {"created": 0, "updated": 0, "unchanged": total}, (fmt, element_set, report)
        # delete our resource, import again: it comes back identical
        rid = db.execute(select(Resource.id).where(Resource.code == "301001/009002")).scalar_one()
        assert hub.delete(f"/api/v1/catalog/resources/{rid}").status_code == 204
        report = hub.post("/api/v1/catalog/import", files={"file": (f"c.{fmt}", exported.content)}).json()
        assert report["created"] == 1
        assert report["updated"] == 0
        assert hub.get("/api/v1/catalog/export.json").content == before, (fmt, element_set)


def test_formula_cells_are_neutralised_in_excel_export(as_user):
    hub = as_user("datahub")
    hub.post("/api/v1/catalog/resources", json=resource(name="=cmd|' /C calc'!A0"))
    wb = load_workbook(io.BytesIO(hub.get("/api/v1/catalog/export.xlsx").content))
    names = [row[2].value for row in wb["信息资源"].iter_rows(min_row=2)]
    assert "'=cmd|' /C calc'!A0" in names
    assert not any(isinstance(n, str) and n.startswith("=") for n in names)
    for row in wb["信息资源"].iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)


def test_import_with_one_bad_row_changes_nothing(as_user, db):
    hub = as_user("datahub")
    doc = json.loads(hub.get("/api/v1/catalog/export.json").content)
    entries = doc["政务信息资源目录"]
    good = copy.deepcopy(entries[5])
    good["信息资源代码"] = "301001/009003"
    good["信息资源分类"] = "301001"
    good["目录类型"] = "部门"
    bad = copy.deepcopy(good)
    bad["信息资源代码"] = "301001/009004"
    bad["数据分级"], bad["敏感级别"] = "一般", 1
    bad["信息项"][0]["数据分级"], bad["信息项"][0]["敏感级别"] = "核心", None
    doc["政务信息资源目录"] = [good, bad]
    count = db.execute(select(func.count()).select_from(Resource)).scalar_one()
    resp = hub.post("/api/v1/catalog/import", files={"file": ("c.json", json.dumps(doc, ensure_ascii=False).encode())})
    assert resp.status_code == 422
    assert "就高从严" in resp.json()["errors"][0]["message"]
    assert db.execute(select(func.count()).select_from(Resource)).scalar_one() == count


def test_empty_and_wrong_files_are_refused(as_user):
    hub = as_user("datahub")
    resp = hub.post("/api/v1/catalog/import", files={"file": ("c.xlsx", b"")})
    assert resp.status_code == 422
    assert "0 字节" in resp.json()["detail"]
    resp = hub.post("/api/v1/catalog/import", files={"file": ("c.xlsx", b"not a workbook")})
    assert resp.status_code == 422
    assert "Excel" in resp.json()["detail"]
    resp = hub.post(
        "/api/v1/catalog/import", files={"file": ("c.xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x/>")}
    )
    assert resp.status_code == 422


def test_chinese_search_with_filters(as_user):
    client = as_user("gaj_officer")
    found = client.get("/api/v1/catalog/resources", params={"q": "人口"}).json()
    assert any(r["name"] == "人口基础信息" for r in found["items"])
    found = client.get("/api/v1/catalog/resources", params={"q": "身份号码"}).json()  # an item name
    # the population base and the two departmental resources keyed by ID number (the portal's lookups)
    assert sorted(r["name"] for r in found["items"]) == ["人口基础信息", "住房公积金缴存信息", "机动车交通违法信息"]
    basic = client.get("/api/v1/catalog/resources", params={"kind": "基础", "size": 200}).json()
    assert basic["total"] == 5
    cond = client.get("/api/v1/catalog/resources", params={"q": "行政处罚", "share_type": "无条件共享"}).json()
    assert cond["total"] > 0
    assert all(r["share_type"] == "无条件共享" for r in cond["items"])
    assert all("行政处罚" in r["name"] for r in cond["items"])


def test_registry_counts_and_upward_application(as_user, db):
    client = as_user("gaj_officer")
    summary = client.get("/api/v1/catalog/systems/summary").json()
    assert summary["total"] == 107
    assert summary["by_level"] == {"部建": 38, "省建": 61, "市建": 3, "县建": 5}
    gaj = client.get("/api/v1/me").json()["department_id"]
    system = (
        db.execute(
            select(BusinessSystem).where(BusinessSystem.department_id == gaj, BusinessSystem.builder_level != "县建")
        )
        .scalars()
        .first()
    )
    assert system is not None
    app = client.post(
        f"/api/v1/catalog/systems/{system.id}/applications",
        json={"applied_on": "2026-10-01", "addressee": "省公安厅", "scope": "本县户籍人口数据"},
    )
    assert app.status_code == 201
    refused = client.post(
        f"/api/v1/catalog/applications/{app.json()['id']}/decision",
        json={"outcome": "granted", "decided_on": "2026-10-20"},
    )
    assert refused.status_code == 422  # a grant names its scope
    done = client.post(
        f"/api/v1/catalog/applications/{app.json()['id']}/decision",
        json={
            "outcome": "granted",
            "decided_on": "2026-10-20",
            "granted_scope": "户籍人口只读",
            "expires": (local_today() + timedelta(days=365)).isoformat(),  # valid whatever today is
        },
    )
    assert done.status_code == 200
    got = client.get(f"/api/v1/catalog/systems/{system.id}").json()
    assert got["access_status"] == "granted"
    assert got["integrable"] is True
    assert got["applications"][0]["outcome"] == "granted"
