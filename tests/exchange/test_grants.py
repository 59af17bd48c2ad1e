"""Grants: scope and row filters hold in every operation; suspension, revocation and expiry act on the next call."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text
from tests.exchange.helpers import Gateway, dept_id, people, period, resource_id

from zhixian import clock
from zhixian.exchange.models import Grant
from zhixian.integration.models import Person


def test_row_filter_holds_for_query_lookup_verify_and_count(township, node, db) -> None:
    gateway, grant, prefix = township
    assert grant.row_filter == [{"field": "division_code", "op": "prefix", "value": prefix}]
    rid = grant.resource_id
    inside = db.execute(
        select(func.count()).select_from(Person).where(Person.division_code.like(prefix + "%"))
    ).scalar_one()
    assert 0 < inside < db.execute(select(func.count()).select_from(Person)).scalar_one()
    page = gateway.call("query", rid, {"page_size": 500, "count": True}).json()
    assert page["count"] == len(page["rows"]) == inside
    assert all(r["division_code"].startswith(prefix) for r in page["rows"])
    # asking for another town's rows gives nothing, not more
    other = gateway.call(
        "query", rid, {"filters": [{"field": "division_code", "op": "prefix", "value": "330421"}], "count": True}
    )
    assert other.json()["count"] == inside
    elsewhere = gateway.call(
        "query", rid, {"filters": [{"field": "division_code", "op": "prefix", "value": "330421002"}], "count": True}
    )
    assert elsewhere.json()["count"] == 0
    (outsider, outsider_id), *_ = people(db, node.cipher, 1, where=f"division_code NOT LIKE '{prefix}%'")
    (insider, insider_id), *_ = people(db, node.cipher, 1, where=f"division_code LIKE '{prefix}%'")
    assert gateway.call("lookup", rid, {"key": outsider_id}).status_code == 404
    assert gateway.call("lookup", rid, {"key": insider_id}).status_code == 200
    assert gateway.call("verify", rid, {"key": outsider_id, "name": outsider.name}).json()["match"] is False
    assert gateway.call("verify", rid, {"key": insider_id, "name": insider.name}).json()["match"] is True


def test_suspension_revocation_and_expiry_act_on_the_next_call(mzj, as_user, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    grant_url = f"/api/v1/exchange/grants/{mzj.grant['id']}"
    provider, consumer = as_user("gaj_officer"), as_user("mzj_officer")
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 200
    # the consumer reads its grant but cannot change it
    assert consumer.get(grant_url).json()["actions"] == []
    assert consumer.post(grant_url + "/suspend", json={"reason": "x1"}).status_code == 403
    assert provider.post(grant_url + "/suspend", json={"reason": "数据核查期间暂停"}).status_code == 200
    refused = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert refused.status_code == 403
    assert "暂停：数据核查期间暂停" in refused.json()["detail"]
    assert provider.post(grant_url + "/resume", json={}).status_code == 200
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 200
    # expiry: the day after valid_until the same call is refused, a renewal brings it back
    db.execute(
        text("UPDATE exchange_grant SET valid_until = :d WHERE id = :g"),
        {"d": clock.local_today() - timedelta(days=1), "g": mzj.grant["id"]},
    )
    db.flush()
    expired = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert expired.status_code == 403
    assert "到期" in expired.json()["detail"]
    renewed = provider.post(
        grant_url + "/renew", json={"valid_until": (clock.local_today() + timedelta(days=30)).isoformat()}
    )
    assert renewed.status_code == 200, renewed.text
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 200
    assert provider.post(grant_url + "/revoke", json={"reason": "项目结束"}).status_code == 200
    gone = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert gone.status_code == 403
    assert "撤销：项目结束" in gone.json()["detail"]
    assert provider.post(grant_url + "/resume", json={}).status_code == 409
    steps = [e["action"] for e in provider.get(grant_url).json()["timeline"]]
    assert steps[-4:] == ["suspended", "resumed", "renewed", "revoked"]


def test_plain_delivery_is_the_authoritys_decision_and_still_masks_what_it_must(as_user, server, db, node) -> None:
    consumer, hub = as_user("zjj_officer"), as_user("datahub")
    created = consumer.post("/api/v1/exchange/applications", json={"name": "住房保障（测试）"}).json()
    body = {
        "resource_id": resource_id(db, "人口"),
        "items": ["id_number", "name", "birth_date", "phone"],
        "operations": ["lookup"],
        "application_id": created["application"]["id"],
        "purpose": "住房保障资格审核",
        "legal_basis": "住房保障条例",
        **period(),
    }
    req = consumer.post("/api/v1/exchange/requests", json=body).json()
    # escalate so the authority may decide, then deliver phone plain but the ID masked
    db.execute(text("UPDATE exchange_request SET escalated_at = due_at WHERE id = :i"), {"i": req["id"]})
    db.flush()
    grant = hub.post(f"/api/v1/exchange/requests/{req['id']}/approve", json={"plain_items": ["phone", "birth_date"]})
    assert grant.status_code == 200, grant.text
    gateway = Gateway(server.url, created["application"]["client_id"], created["client_secret"])
    person = (
        db.execute(select(Person).where(Person.phone_enc.is_not(None), Person.birth_date.is_not(None)))
        .scalars()
        .first()
    )
    idn = node.cipher.decrypt(person.id_enc, index=person.id_index)
    phone = node.cipher.decrypt(person.phone_enc, index=person.phone_index)
    record = gateway.call("lookup", req["resource_id"], {"key": idn}).json()["record"]
    gateway.close()
    assert record["phone"] == phone
    assert record["id_number"] != idn
    assert record["birth_date"] == f"{person.birth_date.year}年"  # plain granted, but never beside a masked ID


def test_base_database_pages_honour_a_department_wide_grant(as_user, db) -> None:
    """integration.access.register_grant: 民政 reads a 公安-provided person only once it holds a grant."""
    mzj = dept_id(db, "mzj")
    person = next(
        p
        for p in db.execute(select(Person).order_by(Person.id)).scalars()
        if {m.get("dept") for m in (p.provenance or {}).values()} == {dept_id(db, "gaj")}
    )
    officer = as_user("mzj_officer")
    live = db.execute(
        select(func.count())
        .select_from(Grant)
        .where(Grant.consumer_department_id == mzj, Grant.base_library == "人口", Grant.application_id.is_(None))
    ).scalar_one()
    assert live == 0
    assert officer.get(f"/api/v1/integration/persons/{person.id}").status_code == 404
    request = officer.post(
        "/api/v1/exchange/requests",
        json={
            "resource_id": resource_id(db, "人口"),
            "items": ["id_number", "name", "division_code"],
            "operations": ["lookup"],
            "purpose": "救助对象走访",
            "legal_basis": "社会救助暂行办法",
            **period(),
        },
    ).json()
    assert as_user("gaj_officer").post(f"/api/v1/exchange/requests/{request['id']}/approve", json={}).status_code == 200
    seen = officer.get(f"/api/v1/integration/persons/{person.id}")
    assert seen.status_code == 200
    assert seen.json()["masked"] is True
