"""An application cannot read a resource, item or row outside its grant by changing ids, filters,
cursors or page sizes; nor can another department's application use a department's grant."""

from __future__ import annotations

from sqlalchemy import text
from tests.exchange.helpers import Gateway, new_app, people, resource_id, resource_where


def test_changing_the_resource_id_reaches_nothing_outside_the_grant(mzj, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    legal = resource_id(db, "法人")
    refused = mzj.gateway.call("lookup", legal, {"key": "91330421MA2B3C4D5E"})
    assert refused.status_code == 403
    assert "未获得该资源的共享授权" in refused.json()["detail"]
    draft = resource_where(db, "r.base_library = '' AND r.status = 'published'")
    db.execute(text("UPDATE catalog_resource SET status = 'draft' WHERE id = :i"), {"i": draft})
    db.flush()
    for rid in (draft, 999_999):
        resp = mzj.gateway.call("lookup", rid, {"key": idn})
        assert resp.status_code == 404
        assert "已发布资源" in resp.json()["detail"]
    assert mzj.gateway.call("lookup", 0, {"key": idn}).status_code == 422
    assert mzj.gateway.call("lookup", 2**40, {"key": idn}).status_code == 422


def test_operations_and_items_outside_the_grant_are_refused(mzj, as_user, server, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    officer = as_user("mzj_officer")
    created = new_app(officer, "仅核验（测试）")
    body = {
        "resource_id": mzj.resource,
        "items": ["id_number", "name"],
        "operations": ["verify"],
        "application_id": created["application"]["id"],
        "purpose": "只核验",
        "legal_basis": "测试依据",
        "period_start": mzj.grant["valid_from"],
        "period_end": mzj.grant["valid_until"],
    }
    req = officer.post("/api/v1/exchange/requests", json=body).json()
    assert as_user("gaj_officer").post(f"/api/v1/exchange/requests/{req['id']}/approve", json={}).status_code == 200
    verifier = Gateway(server.url, created["application"]["client_id"], created["client_secret"])
    try:
        lookup = verifier.call("lookup", mzj.resource, {"key": idn})
        assert lookup.status_code == 403
        assert "按主键查询" in lookup.json()["detail"]
        assert verifier.call("query", mzj.resource, {"page_size": 1}).status_code == 403
        assert verifier.call("verify", mzj.resource, {"key": idn, "name": "某某"}).status_code == 200
    finally:
        verifier.close()
    for items in (["phone"], ["name", "id_number", "phone"]):
        resp = mzj.gateway.call("query", mzj.resource, {"items": items, "page_size": 1})
        assert resp.status_code == 403


def test_a_cursor_is_bound_to_its_application_resource_and_query(mzj, as_user, server, node, db) -> None:
    page = mzj.gateway.call("query", mzj.resource, {"page_size": 2}).json()
    cursor = page["next_cursor"]
    assert cursor
    officer = as_user("mzj_officer")
    created = new_app(officer, "游标（测试）")
    body = {
        "resource_id": mzj.resource,
        "items": ["division_code"],
        "operations": ["query"],
        "application_id": created["application"]["id"],
        "purpose": "游标",
        "legal_basis": "测试依据",
        "period_start": mzj.grant["valid_from"],
        "period_end": mzj.grant["valid_until"],
    }
    req = officer.post("/api/v1/exchange/requests", json=body).json()
    assert as_user("gaj_officer").post(f"/api/v1/exchange/requests/{req['id']}/approve", json={}).status_code == 200
    other = Gateway(server.url, created["application"]["client_id"], created["client_secret"])
    try:
        stolen = other.call("query", mzj.resource, {"page_size": 2, "cursor": cursor})
        assert stolen.status_code == 400
        assert "不属于本应用" in stolen.json()["detail"]
        own = other.call("query", mzj.resource, {"page_size": 2}).json()
        assert set(own["rows"][0]) == {"division_code"}
    finally:
        other.close()
    # the same cursor with more items, or another page size, still only continues the same query
    widened = mzj.gateway.call("query", mzj.resource, {"page_size": 2, "cursor": cursor, "items": ["name"]})
    assert widened.status_code == 400
    resized = mzj.gateway.call("query", mzj.resource, {"page_size": 3, "cursor": cursor})
    assert resized.status_code == 200
    assert len(resized.json()["rows"]) == 3


def test_another_departments_application_cannot_use_a_department_wide_grant(as_user, server, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1, where="division_code LIKE '330421001%'")
    officer = as_user("zjj_officer")
    created = new_app(officer, "越权（测试）")
    gateway = Gateway(server.url, created["application"]["client_id"], created["client_secret"])
    try:
        # the demo township holds a department-wide 人口 grant; 住建局's application is not that department
        resp = gateway.call("lookup", resource_id(db, "人口"), {"key": idn})
        assert resp.status_code == 403
        listing = gateway.signed("GET", "/api/v1/exchange/gateway/resources").json()
        assert listing["grants"] == []
    finally:
        gateway.close()
