"""The gateway as a consumer sees it: signed calls, granted items only, masked as a whole, 核验, paging."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text
from tests.exchange.helpers import GATEWAY, audit_count, people

from zhixian.exchange.models import Call, Disclosure
from zhixian.integration.models import Person
from zhixian.platform.models import AuditRecord


def test_lookup_returns_only_granted_items_masked_as_a_whole(mzj, node, db) -> None:
    (person, idn), *_ = people(db, node.cipher, 1)
    resp = mzj.gateway.call("lookup", mzj.resource, {"key": idn, "reason": "JZ2026-001"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    record = body["record"]
    assert set(record) == {"id_number", "name", "gender", "birth_date", "address", "division_code"}
    assert record["id_number"] == idn[0] + "*" * 16 + idn[-1]
    assert record["name"] == person.name[0] + "*" * (len(person.name) - 1)
    assert record["birth_date"] == f"{person.birth_date.year}年"  # never beside a masked ID in full
    assert record["division_code"] == person.division_code
    raw = resp.text
    assert idn not in raw
    assert idn[6:14] not in raw
    assert person.birth_date.isoformat() not in raw
    assert not any(ch.isdigit() for ch in record["address"].split("…")[0][-3:])  # house numbers cut off
    assert set(body["masked"]) >= {"id_number", "name", "birth_date", "address"}
    assert resp.headers["X-ZX-Call-Id"] == str(body["call_id"])
    assert int(resp.headers["X-RateLimit-Remaining"]) >= 0


def test_asking_for_an_item_outside_the_grant_is_refused_not_trimmed(mzj, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    resp = mzj.gateway.call("lookup", mzj.resource, {"key": idn, "items": ["name", "phone"]})
    assert resp.status_code == 403
    assert "未获授权的信息项：phone" in resp.json()["detail"]
    resp = mzj.gateway.call("lookup", mzj.resource, {"key": idn, "items": ["name", "gender"]})
    assert resp.status_code == 200
    assert set(resp.json()["record"]) == {"name", "gender"}


def test_verify_answers_yes_or_no_and_returns_nothing_of_the_record(mzj, node, db) -> None:
    (person, idn), (other, _) = people(db, node.cipher, 2)
    yes = mzj.gateway.call("verify", mzj.resource, {"key": idn, "name": person.name})
    no = mzj.gateway.call("verify", mzj.resource, {"key": idn, "name": other.name + "甲"})
    unknown = mzj.gateway.call("verify", mzj.resource, {"key": "11010519491231002X", "name": person.name})
    assert (yes.status_code, no.status_code, unknown.status_code) == (200, 200, 200)
    assert yes.json()["match"] is True
    assert no.json()["match"] is False
    assert unknown.json()["match"] is False
    assert set(yes.json()) == {"resource", "match", "call_id"}
    assert person.name not in yes.text
    assert idn not in yes.text
    bad = mzj.gateway.call("verify", mzj.resource, {"key": idn[:17] + ("0" if idn[17] != "0" else "1"), "name": "x"})
    assert bad.status_code == 422
    assert "校验位" in bad.json()["detail"]


def test_every_call_writes_exactly_one_audit_record_whatever_its_result(mzj, node, db) -> None:
    (person, idn), *_ = people(db, node.cipher, 1)
    before, calls_before = audit_count(db), db.execute(select(func.count()).select_from(Call)).scalar_one()
    answers = [
        mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code,
        mzj.gateway.call("verify", mzj.resource, {"key": idn, "name": person.name}).status_code,
        mzj.gateway.call("query", mzj.resource, {"page_size": 5}).status_code,
        mzj.gateway.call("lookup", mzj.resource, {"key": idn}, secret="wrong").status_code,
        mzj.gateway.call("lookup", 999_999, {"key": idn}).status_code,
        mzj.gateway.call("lookup", mzj.resource, raw=b"{not json").status_code,
        mzj.gateway.signed("GET", f"{GATEWAY}/resources").status_code,
    ]
    assert answers == [200, 200, 200, 401, 404, 400, 200]
    assert audit_count(db) - before == len(answers)
    assert db.execute(select(func.count()).select_from(Call)).scalar_one() - calls_before == len(answers)
    rec = (
        db.execute(
            select(AuditRecord).where(AuditRecord.action == "exchange.gateway.lookup").order_by(AuditRecord.id.desc())
        )
        .scalars()
        .first()
    )
    assert rec is not None
    detail = rec.detail
    assert rec.username == f"app:{mzj.app['client_id']}"
    assert {"application", "resource", "items", "rows", "purpose", "status"} <= set(detail)
    first = (
        db.execute(
            select(AuditRecord)
            .where(AuditRecord.id > 0, AuditRecord.action == "exchange.gateway.lookup", AuditRecord.result == "成功")
            .order_by(AuditRecord.id.desc())
        )
        .scalars()
        .first()
    )
    assert first is not None
    assert first.detail["rows"] == 1
    assert first.detail["purpose"] == "测试用途：办件核验"
    assert idn not in json.dumps(detail, ensure_ascii=False)


def test_whose_records_were_returned_is_kept_by_blind_index_only(mzj, node, db) -> None:
    (person, idn), *_ = people(db, node.cipher, 1)
    resp = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    call_id = resp.json()["call_id"]
    rows = db.execute(select(Disclosure).where(Disclosure.call_id == call_id)).scalars().all()
    assert [(d.kind, d.subject) for d in rows] == [("person", person.id_index)]
    page = mzj.gateway.call("query", mzj.resource, {"page_size": 7}).json()
    assert (
        db.execute(
            select(func.count()).select_from(Disclosure).where(Disclosure.call_id == page["call_id"])
        ).scalar_one()
        == len(page["rows"])
        == 7
    )


def test_query_pages_through_everything_with_signed_cursors(mzj, node, db) -> None:
    prefix = db.execute(
        text("SELECT substr(division_code, 1, 9) FROM integration_person ORDER BY id LIMIT 1")
    ).scalar_one()
    expected = db.execute(
        select(func.count()).select_from(Person).where(Person.division_code.like(prefix + "%"))
    ).scalar_one()
    body = {"filters": [{"field": "division_code", "op": "prefix", "value": prefix}], "page_size": 10, "count": True}
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        resp = mzj.gateway.call("query", mzj.resource, {**body, "cursor": cursor} if cursor else body)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert page["count"] == expected
        seen += [r["id_number"] for r in page["rows"]]
        assert all(r["division_code"].startswith(prefix) for r in page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == expected
    assert expected > 10


def test_bad_paging_and_filters_answer_in_chinese_naming_the_field(mzj, node) -> None:
    gw, rid = mzj.gateway, mzj.resource
    big = gw.call("query", rid, {"page_size": 100_000})
    assert big.status_code == 422
    assert "每页条数不能超过" in big.json()["detail"]
    assert big.json()["errors"][0]["field"] == "page_size"
    unknown = gw.call("query", rid, {"filters": [{"field": "phone", "op": "eq", "value": "1"}]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "filters[0].field"
    bad_op = gw.call("query", rid, {"filters": [{"field": "gender", "op": "like", "value": "男"}]})
    assert bad_op.status_code == 422
    assert bad_op.json()["errors"][0]["field"] == "filters[0].op"
    masked = gw.call("query", rid, {"filters": [{"field": "name", "op": "eq", "value": "张三"}]})
    assert masked.status_code == 422
    assert "脱敏" in masked.json()["detail"]
    shape = gw.call("query", rid, {"filters": ["gender=男"]})
    assert shape.status_code == 422
    tampered = gw.call("query", rid, {"page_size": 2})
    cursor = tampered.json()["next_cursor"]
    forged = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    resp = gw.call("query", rid, {"page_size": 2, "cursor": forged})
    assert resp.status_code == 400
    assert "篡改" in resp.json()["detail"]
    other = gw.call(
        "query", rid, {"page_size": 2, "cursor": cursor, "filters": [{"field": "gender", "op": "eq", "value": "男"}]}
    )
    assert other.status_code == 400
    assert "条件" in other.json()["detail"]
    wrong_shape = gw.call("query", rid, {"page_size": "many"})
    assert wrong_shape.status_code == 422
    assert wrong_shape.json()["errors"][0]["field"] == "page_size"
