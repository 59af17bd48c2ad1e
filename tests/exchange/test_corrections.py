"""数据异议 as the departments walk it: 民政局 objects to an address it received from the population base
database through the gateway; 公安局 answers within the limit, or the data authority once it is late."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from tests.conftest import TEST_NOW
from tests.exchange.helpers import people
from tests.figures import figures_on, mismatches

from zhixian import clock
from zhixian.exchange import corrections
from zhixian.exchange.models import Correction
from zhixian.integration.models import Change, Person
from zhixian.platform import service as platform_service
from zhixian.platform.models import AuditRecord

API = "/api/v1/exchange/corrections"
HTML = {"Accept": "text/html"}
NEW_ADDRESS = "浙江省嘉兴市嘉善县罗星街道晋阳东路 88 号 3 幢 201 室"


def _received(mzj, db, node, n: int = 1, **body) -> tuple[int, list[tuple[Person, str]]]:
    """A lookup (or query) by 民政局's application: the call id and the persons whose records it returned."""
    found = people(db, node.cipher, n)
    resp = mzj.gateway.call("lookup", mzj.resource, {"key": found[0][1], **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["call_id"], found


def _object(client, call_id: object, key: str, **extra) -> object:
    body = {
        "call_id": call_id,
        "key": key,
        "values": {"address": NEW_ADDRESS},
        "evidence": "申请人提供了 2026 年 10 月的户籍迁移证明",
        **extra,
    }
    return client.post(API, json=body)


def _actions(timeline: list[dict]) -> list[str]:
    return [e["action"] for e in timeline]


def test_accepted_correction_changes_the_record_and_its_history_names_the_correction(mzj, as_user, db, node) -> None:
    call_id, [(person, idn)] = _received(mzj, db, node)
    consumer, provider = as_user("mzj_officer"), as_user("gaj_officer")
    resp = _object(consumer, call_id, idn)
    assert resp.status_code == 201, resp.text
    corr = resp.json()
    assert (corr["status"], corr["items"], corr["actions"]) == ("open", ["address"], [])
    assert corr["record_label"] == idn[0] + "*" * 16 + idn[-1]
    assert corr["values"][0]["proposed"] == NEW_ADDRESS
    created = datetime.fromisoformat(corr["created_at"])
    days = node.settings.declared(corrections.ANSWER_DAYS)
    assert days == 5
    due = platform_service.add_working_time(db, settings=node.settings, start=created, days=days).at
    assert datetime.fromisoformat(corr["due_at"]) == due
    # the provider sees it in its list with the deadline's light
    todo = provider.get(API, params={"box": "todo"}).json()
    row = next(r for r in todo["items"] if r["id"] == corr["id"])
    assert (row["light"], row["actions"]) == ("green", ["accept", "reject"])

    done = provider.post(f"{API}/{corr['id']}/accept", json={"note": "已核实户籍迁移"})
    assert done.status_code == 200, done.text
    accepted = done.json()
    assert (accepted["status"], accepted["changed_fields"], accepted["on_time"]) == ("accepted", ["address"], True)
    assert _actions(accepted["timeline"]) == ["submitted", "accepted"]
    db.expire_all()
    assert db.get(Person, person.id).address == NEW_ADDRESS
    history = (
        db.execute(
            select(Change).where(Change.entity == "person", Change.entity_id == person.id, Change.field == "address")
        )
        .scalars()
        .all()
    )
    entry = history[-1]
    assert corr["number"] in entry.note
    assert (entry.operator, entry.run_id) == ("gaj_officer", None)
    assert node.cipher.decrypt(entry.new_enc) == NEW_ADDRESS
    assert entry.id in accepted["timeline"][-1]["detail"]["changes"]
    audited = set(
        db.execute(
            select(AuditRecord.action).where(
                AuditRecord.object_type == "exchange_correction", AuditRecord.object_id == str(corr["id"])
            )
        ).scalars()
    )
    assert {"exchange.correction.submitted", "exchange.correction.accepted"} <= audited
    assert db.execute(select(AuditRecord.id).where(AuditRecord.action == "integration.record.amend")).first()
    # nothing left to answer, for anyone
    assert provider.post(f"{API}/{corr['id']}/reject", json={"reason": "再议"}).status_code == 403


def test_rejection_needs_a_reason_and_leaves_the_record_alone(mzj, as_user, db, node) -> None:
    call_id, [(person, idn)] = _received(mzj, db, node)
    before = person.address
    corr = _object(as_user("mzj_officer"), call_id, idn).json()
    provider = as_user("gaj_officer")
    empty = provider.post(f"{API}/{corr['id']}/reject", json={"reason": "  "})
    assert empty.status_code == 422
    problem = empty.json()
    assert problem["errors"][0]["field"] == "reason"
    assert "理由" in problem["errors"][0]["message"]
    done = provider.post(f"{API}/{corr['id']}/reject", json={"reason": "经现场核实，原地址无误"}).json()
    assert (done["status"], done["answer"]) == ("rejected", "经现场核实，原地址无误")
    assert done["timeline"][-1]["note"] == "经现场核实，原地址无误"
    db.expire_all()
    assert db.get(Person, person.id).address == before


def test_a_late_answer_is_reminded_then_escalated_counting_working_days_across_national_day(
    mzj, as_user, db, node
) -> None:
    call_id, [(person, idn)] = _received(mzj, db, node)
    consumer, hub = as_user("mzj_officer"), as_user("datahub")
    # objected on the last working day before the National Day holiday (1–7 October 2026)
    clock.pin(datetime.fromisoformat("2026-09-30T10:00:00+08:00"))
    try:
        corr = _object(consumer, call_id, idn).json()
    finally:
        clock.pin(TEST_NOW)
    row = db.get(Correction, corr["id"])
    assert row is not None
    assert row.due_at is not None
    assert row.remind_at is not None
    # five working days: 30 Sep, then 8, 9, 10 (a make-up working Saturday) and 12 October, due on the 13th
    expected = datetime.fromisoformat("2026-10-13T10:00:00+08:00")
    assert abs(row.due_at - expected) < timedelta(minutes=1)  # the pinned clock keeps running
    corrections.deadlines(db, now=row.remind_at - timedelta(minutes=1))
    assert (row.reminded_at, row.escalated_at) == (None, None)
    assert "accept" not in hub.get(f"{API}/{corr['id']}").json()["actions"]
    corrections.deadlines(db, now=row.remind_at + timedelta(minutes=1))
    assert row.reminded_at is not None
    assert row.escalated_at is None
    corrections.deadlines(db, now=row.due_at + timedelta(minutes=1))
    assert row.escalated_at is not None
    db.flush()
    clock.pin(row.due_at + timedelta(minutes=1))  # the pages are read after the deadline, whatever the suite's date
    try:
        hub = as_user("datahub")  # a fresh sign-in: days may have passed since the last one
        late = hub.get(f"{API}/{corr['id']}").json()
        assert _actions(late["timeline"]) == ["submitted", "reminded", "escalated"]
        assert (late["light"], late["actions"]) == ("red", ["accept", "reject"])
        assert corr["id"] in {r["id"] for r in hub.get(API, params={"box": "todo", "size": 200}).json()["items"]}
        assert corr["id"] in {r["id"] for r in hub.get(API, params={"light": "red", "size": 200}).json()["items"]}
        # the data authority answers in the provider's place; the answer is recorded as late
        done = hub.post(f"{API}/{corr['id']}/accept", json={"values": {"address": NEW_ADDRESS + "（核实）"}}).json()
    finally:
        clock.pin(TEST_NOW)
    assert (done["status"], done["decided_by"], done["on_time"]) == ("accepted", "datahub", False)
    db.expire_all()
    assert db.get(Person, person.id).address == NEW_ADDRESS + "(核实)"  # normalised as a load would (half-width)


def test_a_department_objects_only_to_records_its_own_calls_returned(mzj, as_user, db, node) -> None:
    call_id, found = _received(mzj, db, node, n=2)
    (_, idn), (_, other_idn) = found
    consumer = as_user("mzj_officer")
    # a record that call never returned
    resp = _object(consumer, call_id, other_idn)
    assert resp.status_code == 404
    assert resp.json()["errors"][0]["field"] == "key"
    # another department with the call's number
    resp = _object(as_user("zjj_officer"), call_id, idn)
    assert resp.status_code == 404
    assert resp.json()["errors"][0]["field"] == "call_id"
    # an item the call did not return
    narrow = mzj.gateway.call("lookup", mzj.resource, {"key": idn, "items": ["id_number", "name"]}).json()
    resp = _object(consumer, narrow["call_id"], idn)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "values.address"
    # another department neither sees nor answers a correction it is not party to
    corr = _object(consumer, call_id, idn).json()
    other = as_user("zjj_officer")
    assert other.get(f"{API}/{corr['id']}").status_code == 404
    assert corr["id"] not in {r["id"] for r in other.get(API, params={"size": 200}).json()["items"]}
    assert other.post(f"{API}/{corr['id']}/accept", json={}).status_code == 404
    assert other.get(f"/exchange/corrections/{corr['id']}", headers=HTML).status_code == 404
    # the objecting department cannot answer its own objection
    assert consumer.post(f"{API}/{corr['id']}/accept", json={}).status_code == 403
    # nor object twice to the same item while the first is open
    assert _object(consumer, call_id, idn).status_code == 409


def test_bad_input_is_refused_in_chinese_naming_the_field(mzj, as_user, db, node) -> None:
    call_id, [(_, idn)] = _received(mzj, db, node)
    consumer = as_user("mzj_officer")
    cases = [
        ({"evidence": ""}, "evidence"),
        ({"values": {}}, "values"),
        ({"values": {"birth_date": "2026-13-45"}}, "values.birth_date"),
        ({"values": {"id_number": idn}}, "values.id_number"),
        ({"values": {"address": "长" * 300}}, "values.address"),  # longer than the base database holds
        ({"key": "12345"}, "key"),
        ({"call_id": "abc"}, "call_id"),
    ]
    for extra, field in cases:
        resp = _object(consumer, extra.pop("call_id", call_id), extra.pop("key", idn), **extra)
        assert resp.status_code == 422, (extra, resp.text)
        errors = resp.json()["errors"]
        assert any(e["field"] == field for e in errors), (extra, errors)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in errors), errors


def test_pages_show_both_sides_lists_and_the_statistics_figures_open_their_lists(mzj, as_user, db, node) -> None:
    call_id, [(_, idn)] = _received(mzj, db, node)
    consumer, provider, hub = as_user("mzj_officer"), as_user("gaj_officer"), as_user("datahub")
    # the consumer starts from its call list: the call offers the form, which lists the items it returned
    calls = consumer.get("/exchange/calls", headers=HTML).text
    assert f'href="/exchange/corrections/new?call_id={call_id}"' in calls
    start = consumer.get(f"/exchange/corrections/new?call_id={call_id}", headers=HTML)
    assert start.status_code == 200
    assert 'name="value_address"' in start.text
    assert 'name="value_id_number"' not in start.text  # the key is not correctable
    foreign = as_user("zjj_officer").get(f"/exchange/corrections/new?call_id={call_id}", headers=HTML).text
    assert 'id="f-call_id-error"' in foreign
    assert 'name="value_address"' not in foreign
    form = {"csrf_token": consumer.headers["X-CSRF-Token"], "call_id": str(call_id), "key": idn, "evidence": ""}
    refused = consumer.post("/exchange/corrections/new", data={**form, "value_address": NEW_ADDRESS}, headers=HTML)
    assert refused.status_code == 422
    assert 'id="f-evidence-error"' in refused.text
    assert 'id="f-value_address"' in refused.text
    made = consumer.post(
        "/exchange/corrections/new",
        data={**form, "value_address": NEW_ADDRESS, "evidence": "户籍迁移证明"},
        headers=HTML,
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = provider.get(made.headers["location"], headers=HTML).text
    assert "采纳并更正记录" in page
    assert NEW_ADDRESS in page
    assert "提出异议" in page
    assert "待我答复" in provider.get("/exchange/corrections?box=todo", headers=HTML).text
    for client, path in ((hub, "/exchange/statistics"), (provider, "/")):
        page = client.get(path, headers=HTML).text
        checked, problems = mismatches(path, page, _fetch(client))
        assert not problems, "\n".join(problems)
        assert checked >= 2
    stats = {f.href: f.value for f in figures_on(hub.get("/exchange/statistics", headers=HTML).text)}
    assert stats["/exchange/corrections?box=all&status=open"] >= 1
    cards = {f.href: f.value for f in figures_on(provider.get("/", headers=HTML).text)}
    assert cards["/exchange/corrections?box=todo"] >= 1


def _fetch(client):
    def fetch(url: str) -> tuple[int, str]:
        resp = client.get(url, headers=HTML)
        return resp.status_code, resp.text

    return fetch
