"""The change feed on the gateway: granted rows changed since a signed cursor, masked, in feed order."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.exchange.feedkit import sweep, touch
from tests.exchange.helpers import Gateway, new_app, request_and_approve, resource_id

from zhixian.exchange.models import Call, Disclosure, FeedEntry
from zhixian.integration.models import Person
from zhixian.platform.models import AuditRecord


def _latest(mzj) -> str:
    resp = mzj.gateway.call("changes", mzj.resource, {"from_latest": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["changes"] == []
    return str(resp.json()["next_cursor"])


def test_changes_since_a_cursor_come_masked_in_feed_order_and_are_audited(mzj, node, db) -> None:
    sweep(node)  # the demo's rows are in the feed already
    cursor = _latest(mzj)
    changed = touch(db, 5)
    logged, _ = sweep(node)
    assert logged == 5
    audits = db.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    resp = mzj.gateway.call("changes", mzj.resource, {"cursor": cursor, "page_size": 3, "reason": "同步"})
    assert resp.status_code == 200, resp.text
    first = resp.json()
    assert first["more"] is True
    assert len(first["changes"]) == 3
    resp = mzj.gateway.call("changes", mzj.resource, {"cursor": first["next_cursor"], "page_size": 3})
    second = resp.json()
    assert second["more"] is False
    got = first["changes"] + second["changes"]
    seqs = [c["seq"] for c in got]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert [c["record"]["address"][:3] for c in got] == ["测试镇"] * 5
    assert all("*" in c["record"]["id_number"] for c in got)  # masked per grant
    assert {c["record"]["name"][0] for c in got} == {p.name[0] for p in changed}
    assert "id_number" in first["masked"]
    # one audit record per call, the disclosures of the rows returned
    assert db.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == audits + 2
    call = db.execute(select(Call).where(Call.id == first["call_id"])).scalar_one()
    assert (call.operation, call.rows, call.reason) == ("changes", 3, "同步")
    assert (
        db.execute(select(func.count()).select_from(Disclosure).where(Disclosure.call_id == call.id)).scalar_one() == 3
    )
    # nothing new: an empty page and a cursor that still works
    again = mzj.gateway.call("changes", mzj.resource, {"cursor": second["next_cursor"]}).json()
    assert again["changes"] == []
    assert again["more"] is False


def test_a_row_changed_twice_is_logged_twice_and_unchanged_rows_not_again(mzj, node, db) -> None:
    sweep(node)
    (person,) = touch(db, 1)
    assert sweep(node)[0] == 1
    assert sweep(node)[0] == 0  # the same version is not logged twice
    touch(db, 1)
    assert sweep(node)[0] == 1
    versions = db.execute(
        select(func.count()).select_from(FeedEntry).where(FeedEntry.kind == "person", FeedEntry.row_id == person.id)
    ).scalar_one()
    assert versions >= 2


def test_changes_honour_the_grants_row_filter_and_items(township, node, db) -> None:
    gateway, grant, prefix = township
    sweep(node)
    cursor = gateway.call("changes", grant.resource_id, {"from_latest": True}).json()["next_cursor"]
    touch(db, 3, where=Person.division_code.like(prefix + "%"))
    touch(db, 3, where=Person.division_code.not_like(prefix + "%"))
    sweep(node)
    body = gateway.call("changes", grant.resource_id, {"cursor": cursor}).json()
    assert len(body["changes"]) == 3
    assert all(c["record"]["division_code"].startswith(prefix) for c in body["changes"])
    assert all("address" not in c["record"] for c in body["changes"])  # not a granted item
    refused = gateway.call("changes", grant.resource_id, {"cursor": cursor, "items": ["address"]})
    assert refused.status_code == 403
    assert "未获授权的信息项" in refused.json()["detail"]


def test_a_tampered_or_foreign_cursor_is_a_chinese_400(mzj, node, db) -> None:
    sweep(node)
    cursor = _latest(mzj)
    body, _, tag = cursor.partition(".")
    tampered = ("A" if body[0] != "A" else "B") + body[1:] + "." + tag
    resp = mzj.gateway.call("changes", mzj.resource, {"cursor": tampered})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "游标无效或已被篡改" in resp.json()["detail"]
    # a query's cursor is not a feed cursor
    page = mzj.gateway.call("query", mzj.resource, {"page_size": 1}).json()
    resp = mzj.gateway.call("changes", mzj.resource, {"cursor": page["next_cursor"]})
    assert resp.status_code == 400
    assert "条件查询" in resp.json()["detail"]
    bad = mzj.gateway.call("changes", mzj.resource, {"page_size": 0})
    assert bad.status_code == 422


def test_changes_need_a_grant_with_query(as_user, server, node, db) -> None:
    officer = as_user("mzj_officer")
    created = new_app(officer, "只核验（测试）")
    resource = resource_id(db, "人口")
    request_and_approve(
        officer,
        as_user("gaj_officer"),
        resource=resource,
        items=["id_number", "name"],
        operations=["verify"],
        application_id=created["application"]["id"],
    )
    gateway = Gateway(server.url, created["application"]["client_id"], created["client_secret"])
    try:
        resp = gateway.call("changes", resource, {})
        assert resp.status_code == 403
        assert "条件查询" in resp.json()["detail"]
    finally:
        gateway.close()
