"""Every path of a sharing request, as the departments and the data authority walk it over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from tests.exchange.helpers import period, resource_id, resource_where

from zhixian.exchange import policy
from zhixian.exchange import requests as exchange_requests
from zhixian.exchange.models import ShareRequest
from zhixian.exchange.settings import ANSWER_DAYS
from zhixian.platform import service as platform_service
from zhixian.platform.models import AuditRecord

BASIS = "《浙江省公共数据条例》第二十四条"


def _submit(client, resource: int, items: list[str], **extra) -> dict:
    body = {"resource_id": resource, "items": items, "purpose": "住房保障资格审核", "legal_basis": BASIS, **period()}
    body.update(extra)
    resp = client.post("/api/v1/exchange/requests", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _actions(timeline: list[dict]) -> list[str]:
    return [e["action"] for e in timeline]


def test_unconditional_request_is_granted_after_the_authoritys_compliance_check(as_user, db, node) -> None:
    consumer, hub = as_user("zjj_officer"), as_user("datahub")
    req = _submit(consumer, resource_id(db, "法人"), ["uscc", "name", "address"], legal_basis="")
    assert (req["share_type"], req["status"], req["stage"]) == ("无条件共享", "check", "数据主管部门")
    created = datetime.fromisoformat(req["created_at"])
    due = platform_service.add_working_time(db, settings=node.settings, start=created, days=2).at
    assert datetime.fromisoformat(req["due_at"]) == due
    assert req["actions"] == ["withdraw"]
    # the provider department cannot do the authority's check
    assert as_user("scj_officer").post(f"/api/v1/exchange/requests/{req['id']}/approve", json={}).status_code == 403
    grant = hub.post(f"/api/v1/exchange/requests/{req['id']}/approve", json={"note": "合规"}).json()
    assert grant["items"] == ["uscc", "name", "address"]
    assert grant["state"] == "active"
    done = consumer.get(f"/api/v1/exchange/requests/{req['id']}").json()
    assert done["status"] == "granted"
    assert done["grant_id"] == grant["id"]
    assert done["on_time"] is True
    assert _actions(done["timeline"]) == ["submitted", "checked", "granted"]
    audited = db.execute(
        select(AuditRecord.action).where(
            AuditRecord.object_type == "exchange_request", AuditRecord.object_id == str(req["id"])
        )
    ).scalars()
    assert set(audited) == {"exchange.request.submitted", "exchange.request.checked", "exchange.request.granted"}


def test_conditional_request_is_answered_by_the_provider_and_a_refusal_cites_its_reason(as_user, db) -> None:
    consumer, provider = as_user("zjj_officer"), as_user("gaj_officer")
    req = _submit(consumer, resource_id(db, "人口"), ["id_number", "name"], operations=["verify"])
    assert (req["share_type"], req["status"]) == ("有条件共享", "review")
    url = f"/api/v1/exchange/requests/{req['id']}"
    # another department neither sees nor answers it; the authority may not answer before escalation
    assert as_user("scj_officer").post(url + "/approve", json={}).status_code == 404
    assert as_user("datahub").post(url + "/approve", json={}).status_code == 403
    empty = provider.post(url + "/refuse", json={"reason": " "})
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "reason"
    refused = provider.post(url + "/refuse", json={"reason": "依据《居民身份证法》第十九条，仅限公安机关使用"}).json()
    assert (refused["status"], refused["refused_by"]) == ("refused", "provider")
    assert "居民身份证法" in refused["refusal_reason"]
    assert refused["timeline"][-1]["note"] == refused["refusal_reason"]
    # a provider's refusal may be disputed once; the authority upholds it only with a reason
    disputed = consumer.post(url + "/dispute", json={"reason": "住房保障审核确需核验"}).json()
    assert disputed["status"] == "dispute"
    hub = as_user("datahub")
    assert hub.post(url + "/resolve", json={"decision": "refuse"}).status_code == 422
    upheld = hub.post(url + "/resolve", json={"decision": "refuse", "reason": "可改用电子证照核验"}).json()
    assert (upheld["status"], upheld["refused_by"], upheld["actions"]) == ("refused", "authority", [])
    assert consumer.post(url + "/dispute", json={"reason": "再议"}).status_code == 403
    assert _actions(upheld["timeline"]) == ["submitted", "refused", "disputed", "resolved_refuse"]


def test_late_conditional_request_is_reminded_then_escalated_to_the_authority(as_user, db, node) -> None:
    consumer = as_user("zjj_officer")
    req = _submit(consumer, resource_id(db, "人口"), ["id_number", "name"], operations=["verify"])
    row = db.get(ShareRequest, req["id"])
    assert row is not None
    assert row.remind_at is not None
    assert row.due_at is not None
    days = node.settings.declared(ANSWER_DAYS)
    assert (
        row.due_at == platform_service.add_working_time(db, settings=node.settings, start=row.created_at, days=days).at
    )
    exchange_requests.deadlines(db, now=row.remind_at - timedelta(minutes=1))
    assert row.reminded_at is None
    assert row.escalated_at is None
    exchange_requests.deadlines(db, now=row.remind_at + timedelta(minutes=1))
    assert row.reminded_at is not None
    assert row.escalated_at is None
    db.flush()
    seen = consumer.get(f"/api/v1/exchange/requests/{req['id']}").json()
    assert _actions(seen["timeline"])[-1] == "reminded"
    hub = as_user("datahub")
    assert "approve" not in hub.get(f"/api/v1/exchange/requests/{req['id']}").json()["actions"]
    exchange_requests.deadlines(db, now=row.due_at + timedelta(minutes=1))
    assert row.escalated_at is not None
    db.flush()
    late = hub.get(f"/api/v1/exchange/requests/{req['id']}").json()
    assert late["escalated_at"] is not None
    assert _actions(late["timeline"])[-1] == "escalated"
    assert late["actions"] == ["approve", "refuse"]
    todo = hub.get("/api/v1/exchange/requests", params={"box": "todo", "size": 200}).json()
    assert req["id"] in {r["id"] for r in todo["items"]}  # escalated: now on the authority's list
    assert policy.light(row.due_at + timedelta(minutes=1), row.remind_at, row.due_at) == "red"
    assert policy.light(row.remind_at + timedelta(minutes=1), row.remind_at, row.due_at) == "yellow"
    grant = hub.post(f"/api/v1/exchange/requests/{req['id']}/approve", json={})
    assert grant.status_code == 200, grant.text
    decided = db.get(ShareRequest, req["id"])
    db.refresh(decided)
    assert (decided.status, decided.decided_by) == (
        "granted",
        "datahub",
    )  # the authority decided in the provider's place


def test_not_shared_resource_is_refused_at_once_then_granted_only_through_a_dispute(as_user, db) -> None:
    resource = resource_where(db, "r.share_type = '不予共享' AND r.base_library = '' AND r.status = 'published'")
    consumer, hub = as_user("zjj_officer"), as_user("datahub")
    req = _submit(consumer, resource, ["record_no", "title"])
    assert (req["status"], req["refused_by"]) == ("refused", "catalogue")
    assert "不予共享" in req["refusal_reason"]
    assert req["actions"] == ["dispute"]
    url = f"/api/v1/exchange/requests/{req['id']}"
    disputed = consumer.post(url + "/dispute", json={"reason": "违建整治需要核对处罚结果"}).json()
    assert disputed["status"] == "dispute"
    assert disputed["due_at"] is not None
    settled = hub.post(
        url + "/resolve", json={"decision": "grant", "reason": "县政府会议纪要明确", "items": ["record_no"]}
    )
    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert body["status"] == "granted"
    assert _actions(body["timeline"]) == ["submitted", "refused_by_catalogue", "disputed", "resolved_grant", "granted"]
    grant = hub.get(f"/api/v1/exchange/grants/{body['grant_id']}").json()
    assert grant["items"] == ["record_no"]


def test_the_approver_may_narrow_a_grant_but_never_widen_it(as_user, db) -> None:
    consumer, provider = as_user("zjj_officer"), as_user("gaj_officer")
    req = _submit(
        consumer, resource_id(db, "人口"), ["id_number", "name", "address", "division_code"], operations=["lookup"]
    )
    url = f"/api/v1/exchange/requests/{req['id']}/approve"
    assert provider.post(url, json={"items": ["id_number", "phone"]}).status_code == 422
    assert provider.post(url, json={"operations": ["query"]}).status_code == 422
    late = (datetime.fromisoformat(req["period_end"]) + timedelta(days=1)).date().isoformat()
    assert provider.post(url, json={"valid_until": late}).status_code == 422
    # plain ID numbers are the data authority's decision, not the provider's
    assert provider.post(url, json={"plain_items": ["id_number"]}).status_code == 403
    grant = provider.post(
        url,
        json={
            "items": ["id_number", "division_code"],
            "row_filter": [{"field": "division_code", "op": "prefix", "value": "330421001"}],
        },
    ).json()
    assert grant["items"] == ["id_number", "division_code"]
    assert grant["row_filter"] == [{"field": "division_code", "op": "prefix", "value": "330421001"}]


def test_bad_requests_answer_in_chinese_naming_the_field(as_user, db) -> None:
    client = as_user("zjj_officer")
    person = resource_id(db, "人口")
    cases = [
        ({"resource_id": person, "items": ["nope"]}, 422, "items"),
        ({"resource_id": person, "items": ["name"], "legal_basis": ""}, 422, "legal_basis"),
        ({"resource_id": person, "items": ["name"], "operations": ["verify"]}, 422, "items"),
        ({"resource_id": person, "items": ["name"], "row_scope": "own_division"}, 422, "row_scope"),
        ({"resource_id": person, "items": ["name"], "period_end": "2099-01-01"}, 422, "period_end"),
        ({"resource_id": 999_999, "items": ["name"]}, 404, None),
        (
            {
                "resource_id": person,
                "items": ["name"],
                "row_filter": [{"field": "id_number", "op": "eq", "value": "1"}],
            },
            422,
            "row_filter[0].field",
        ),
    ]
    for extra, status, field in cases:
        body = {"purpose": "测试", "legal_basis": BASIS, **period(), **extra}
        resp = client.post("/api/v1/exchange/requests", json=body)
        assert resp.status_code == status, (extra, resp.text)
        problem = resp.json()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"])
        if field:
            assert problem["errors"][0]["field"] == field, problem
    own = as_user("gaj_officer").post(
        "/api/v1/exchange/requests",
        json={"resource_id": person, "items": ["name"], "purpose": "x2", "legal_basis": BASIS, **period()},
    )
    assert own.status_code == 422
    assert "本部门" in own.json()["detail"]


def test_a_second_open_request_is_refused_and_an_open_one_can_be_withdrawn(as_user, db) -> None:
    client = as_user("zjj_officer")
    legal = resource_id(db, "法人")
    first = _submit(client, legal, ["uscc", "name"], legal_basis="")
    again = client.post(
        "/api/v1/exchange/requests", json={"resource_id": legal, "items": ["uscc"], "purpose": "再次", **period()}
    )
    assert again.status_code == 409
    assert f"GX{first['id']:06d}" in again.json()["detail"]
    gone = client.post(f"/api/v1/exchange/requests/{first['id']}/withdraw", json={"note": "改用电子证照"}).json()
    assert gone["status"] == "withdrawn"
    assert gone["actions"] == []
    assert client.post(f"/api/v1/exchange/requests/{first['id']}/withdraw", json={}).status_code == 403
    assert _submit(client, legal, ["uscc"], legal_basis="")["status"] == "check"


def test_lists_show_a_department_only_its_own_requests(as_user, db) -> None:
    mine = as_user("zjj_officer").get("/api/v1/exchange/requests", params={"size": 200}).json()
    # its own: those it asked (consumer) and those on its resources (provider: the portal's 公积金 lookup)
    zjj = (
        db.execute(
            select(ShareRequest.id).where(
                (ShareRequest.consumer_department_id == 7) | (ShareRequest.provider_department_id == 7)
            )
        )
        .scalars()
        .all()
    )
    assert {r["id"] for r in mine["items"]} == set(zjj)
    provided = as_user("gaj_officer").get("/api/v1/exchange/requests", params={"box": "provided", "size": 200}).json()
    assert provided["total"] >= 3
    assert all(r["provider_department_name"].endswith("公安局") for r in provided["items"])
