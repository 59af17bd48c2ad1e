"""Usage transparency: a provider sees who uses its data, every figure opens exactly its calls, the data
authority's statistics add up, and one person's "who used my data" list is found by an audited lookup."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import func, select
from tests.exchange.helpers import people

from zhixian.exchange.models import Call
from zhixian.platform.models import AuditRecord


def _calls_total(client, href: str) -> int:
    query = dict(parse_qsl(urlsplit(href).query))
    resp = client.get("/api/v1/exchange/calls", params={**query, "size": 1})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


def test_the_provider_sees_who_uses_its_data_and_each_figure_opens_its_calls(mzj, as_user, node, db) -> None:
    for _, idn in people(db, node.cipher, 3):
        assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 200
    provider = as_user("gaj_officer")
    rows = provider.get("/api/v1/exchange/usage", params={"side": "provider"}).json()
    assert rows, "公安局应能看到其数据的使用情况"
    mine = next(r for r in rows if r["application_id"] == mzj.app["id"])
    assert mine["calls"] == 3
    assert mine["rows"] == 3
    assert mine["purpose"] == "测试用途：办件核验"
    for row in rows[:5]:
        assert _calls_total(provider, row["href"]) == row["calls"]
    # a department that neither provides nor consumes sees none of these calls
    other = as_user("zjj_officer").get("/api/v1/exchange/calls", params={"resource_id": mzj.resource}).json()
    assert other["total"] == 0


def test_statistics_add_up_and_link_to_their_records(as_user, db) -> None:
    hub = as_user("datahub")
    stats = hub.get("/api/v1/exchange/statistics").json()
    assert stats["requests_total"] == sum(stats["requests"].values()) > 0
    assert stats["calls_total"] == db.execute(select(func.count()).select_from(Call)).scalar_one()
    assert stats["top_resources"]
    for item in stats["top_resources"][:3]:
        assert _calls_total(hub, item["href"]) == item["calls"]
    assert stats["limits"] == {"check": 2.0, "answer": 10.0, "dispute": 10.0}
    assert as_user("gaj_officer").get("/api/v1/exchange/statistics").status_code == 403


def test_one_persons_data_use_is_listed_by_an_authorised_officer_and_the_lookup_is_audited(
    mzj, as_user, node, db
) -> None:
    (person, idn), *_ = people(db, node.cipher, 1)
    mzj.gateway.call("lookup", mzj.resource, {"key": idn, "reason": "JZ-0001"})
    mzj.gateway.call("verify", mzj.resource, {"key": idn, "name": person.name})
    hub = as_user("datahub")
    before = db.execute(select(func.count()).where(AuditRecord.action == "exchange.person_usage.lookup")).scalar_one()
    resp = hub.post("/api/v1/exchange/person-usage", json={"id_number": idn, "note": "市民来电查询"})
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert len([r for r in rows if r["reason"] == "JZ-0001"]) == 1
    assert {"按主键查询", "核验"} <= {r["operation"] for r in rows}
    assert all(r["department_name"] == "嘉善县民政局" for r in rows[:2])
    after = db.execute(select(func.count()).where(AuditRecord.action == "exchange.person_usage.lookup")).scalar_one()
    assert after == before + 1
    rec = (
        db.execute(
            select(AuditRecord)
            .where(AuditRecord.action == "exchange.person_usage.lookup")
            .order_by(AuditRecord.id.desc())
        )
        .scalars()
        .first()
    )
    assert idn not in str(rec.detail) + rec.object_id
    assert as_user("gaj_officer").post("/api/v1/exchange/person-usage", json={"id_number": idn}).status_code == 403
    bad = hub.post("/api/v1/exchange/person-usage", json={"id_number": idn[:17] + "Y"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "id_number"
