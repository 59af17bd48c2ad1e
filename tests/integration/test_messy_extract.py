"""A held-out messy extract loses nothing silently: every row is counted once, rows repeating an ID
number with other values are held with both values, and uploading the same file again adds nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.integration.extract import messy_extract
from tests.integration.helpers import csv_bytes, person_resource, run_source, set_people_mapping, upload
from zhixian.integration import pipeline, tasks
from zhixian.integration.models import Change, FieldConflict, Person, QuarantineRow, Record, Run

COUNTED = ("loaded", "updated", "unchanged", "quarantined", "key_conflicts", "duplicates")


def _counts(run: dict) -> dict[str, int]:
    return {k: run[k] for k in ("read", *COUNTED)}


def _everything(db) -> dict[str, int]:
    """Row counts of every table a load writes to (the runs themselves aside)."""
    return {
        model.__tablename__: db.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Person, Record, QuarantineRow, Change, FieldConflict)
    }


def _load(client, db, content: bytes, filename: str, name: str) -> tuple[int, dict]:
    resp = upload(client, db, content, filename, name=name)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    set_people_mapping(client, sid)
    return sid, run_source(client, sid)


def _page(client, url: str) -> str:
    resp = client.get(url, headers={"Accept": "text/html"})
    assert resp.status_code == 200, (url, resp.text[:300])
    return resp.text


@pytest.mark.parametrize("fmt", ["gb18030.csv", "xlsx"])
def test_held_out_extract_counts_every_row_once_and_holds_conflicts_with_both_values(as_user, db, fmt):
    extract = messy_extract(f"held-out-{fmt}")
    content = extract.csv_gb18030() if fmt.endswith("csv") else extract.xlsx()
    filename = "人口.csv" if fmt.endswith("csv") else "人口.xlsx"
    client = as_user("gaj_officer")
    before = _everything(db)

    sid, run = _load(client, db, content, filename, "公安户籍抽取")
    assert run["status"] == "succeeded"
    assert _counts(run) == extract.counts
    assert run["read"] == sum(run[k] for k in COUNTED)
    after_first = _everything(db)
    assert after_first["integration_person"] == before["integration_person"] + extract.counts["loaded"]
    assert after_first["integration_quarantine"] == before["integration_quarantine"] + 2 + 3

    held = client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "conflict"}).json()
    assert {q["row_number"]: q["other_row"] for q in held} == {r: o for r, (o, _) in extract.conflicts.items()}
    for q in held:
        assert f"与第 {extract.conflicts[q['row_number']][0]} 行" in q["reason"]
    bad = client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "invalid"}).json()
    assert {q["row_number"] for q in bad} == set(extract.invalid)
    for q in bad:
        assert extract.invalid[q["row_number"]] in q["reason"]

    # the run page says what happened and links to what is still open; the list behind the link matches
    report = _page(client, f"/integration/runs/{run['id']}")
    assert "19 = 19" in report
    link = re.search(r'id="open-conflict" href="([^"]+)">(\d+) 行', report)
    assert link
    assert int(link.group(2)) == 3
    listing = _page(client, link.group(1).replace("&amp;", "&"))
    assert re.search(r'id="total">3<', listing)
    # both values, masked as the record is: phone 138****0004 in row 6, 139****0004 in row 14
    phone_a, phone_b = extract.phones["p4"]
    assert f"第 6 行 {phone_a[:3]}****{phone_a[-4:]} ↔ 第 14 行 {phone_b[:3]}****{phone_b[-4:]}" in listing
    assert phone_a not in listing

    # the same file again, as a new source of the same department: nothing new anywhere
    sid2, again = _load(client, db, content, filename, "公安户籍抽取（重传）")
    assert sid2 != sid
    assert _counts(again) == {**extract.counts, "loaded": 0, "unchanged": extract.counts["loaded"]}
    assert _everything(db) == after_first
    # its report still links to the rows it met, which are the same entries
    met = client.get("/api/v1/integration/quarantine", params={"run_id": again["id"], "status": "open"}).json()
    assert sorted(q["id"] for q in met) == sorted(q["id"] for q in [*held, *bad])
    assert again["still_open"] == 5


def test_conflicts_across_batches_are_held_like_conflicts_within_one(as_user, db, node):
    """Batches of 4 rows: row 14 repeats row 6 of an earlier batch, row 20 repeats row 8."""
    extract = messy_extract("batches")
    client = as_user("gaj_officer")
    resp = upload(client, db, extract.csv_gb18030(), "人口.csv", name="分批")
    sid = resp.json()["id"]
    set_people_mapping(client, sid)
    run_id = tasks.start_system_run(node, sid, trigger="manual")
    pipeline.execute(node.db, node.cipher, run_id, county_code="330421", batch_size=4, data_dir=node.settings.data_dir)
    run = db.get(Run, run_id)
    db.refresh(run)
    assert {k: getattr(run, k) for k in ("read", *COUNTED)} == extract.counts
    held = db.execute(
        select(QuarantineRow.row_number, QuarantineRow.other_row).where(
            QuarantineRow.run_id == run_id, QuarantineRow.kind == "conflict"
        )
    ).all()
    assert dict(held) == {r: o for r, (o, _) in extract.conflicts.items()}


def test_choosing_the_held_value_updates_the_record_and_keeps_the_old_one_in_its_history(as_user, db, node):
    extract = messy_extract("choose")
    client = as_user("gaj_officer")
    _, run = _load(client, db, extract.csv_gb18030(), "人口.csv", "选择")
    entry = next(
        q
        for q in client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "conflict"}).json()
        if q["row_number"] == 14
    )
    page = _page(client, f"/integration/quarantine/{entry['id']}")
    phone_a, phone_b = extract.phones["p4"]
    assert phone_a in page
    assert phone_b in page  # the officer who chooses sees both (the read is audited)
    refused = client.post(
        f"/integration/quarantine/{entry['id']}",
        data={"csrf_token": client.headers["X-CSRF-Token"], "do": "choose"},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 422
    assert "请为每个有差异的信息项选择" in refused.text
    done = client.post(
        f"/integration/quarantine/{entry['id']}",
        data={"csrf_token": client.headers["X-CSRF-Token"], "do": "choose", "pick_phone": "held"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:300]
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(extract.ids[4]))).scalar_one()
    db.refresh(person)
    assert node.cipher.decrypt(person.phone_enc, index=person.phone_index) == phone_b
    history = _page(client, f"/integration/persons/{person.id}")
    assert f"{phone_a[:3]}****{phone_a[-4:]}" in history
    assert f"{phone_b[:3]}****{phone_b[-4:]}" in history
    assert phone_a not in history
    assert "gaj_officer" in history
    assert "同键异值：采用第 14 行的值" in history
    # the run's report now links to two conflicts still open
    report = _page(client, f"/integration/runs/{run['id']}")
    assert re.search(r'id="open-conflict" href="[^"]+">2 行', report)


def test_a_later_extract_updates_a_person_and_the_record_page_shows_who_when_which_run(as_user, db, node):
    extract = messy_extract("history")
    client = as_user("gaj_officer")
    _load(client, db, extract.csv_gb18030(), "人口.csv", "第一批")
    changed = [list(extract.rows[0])]
    changed[0][4] = "13700001111"
    _, second = _load(client, db, csv_bytes(changed, encoding="gb18030"), "人口-更正.csv", "第二批")
    assert _counts(second) == {
        "read": 1,
        "loaded": 0,
        "updated": 1,
        "unchanged": 0,
        "quarantined": 0,
        "key_conflicts": 0,
        "duplicates": 0,
    }
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(extract.ids[0]))).scalar_one()
    change = db.execute(select(Change).where(Change.entity == "person", Change.entity_id == person.id)).scalar_one()
    assert (change.field, change.run_id, change.operator) == ("phone", second["id"], "gaj_officer")
    assert node.cipher.decrypt(change.old_enc) == "13812340000"
    page = _page(client, f"/integration/persons/{person.id}")
    assert "138****0000" in page
    assert "137****1111" in page
    assert f'href="/integration/runs/{second["id"]}"' in page
    assert "13812340000" not in page
    # the run's 更新 figure opens the records it changed
    changes = _page(client, f"/integration/runs/{second['id']}/changes")
    assert "更新的记录（1）" in changes
    assert f"/integration/persons/{person.id}" in changes
    # another department's officer does not see the record at all
    assert as_user("zjj_officer").get(f"/integration/persons/{person.id}").status_code == 404


def test_quality_describes_the_records_and_follows_a_fixed_quarantine_row(as_user, db):
    extract = messy_extract("quality")
    client = as_user("gaj_officer")
    _, run = _load(client, db, extract.csv_gb18030(), "人口.csv", "质量")
    resource = person_resource(db)

    def expected() -> float:
        records = db.execute(select(func.count()).select_from(Person)).scalar_one()
        invalid = db.execute(
            select(func.count()).where(
                QuarantineRow.resource_id == resource.id,
                QuarantineRow.status == "open",
                QuarantineRow.kind == "invalid",
            )
        ).scalar_one()
        return records / (records + invalid)

    def shown() -> dict:
        return next(q for q in client.get("/api/v1/integration/quality").json() if q["resource_id"] == resource.id)

    first = shown()
    assert first["validity"] == pytest.approx(expected(), abs=1e-4)
    assert first["validity"] > 0.9  # one 19-row file does not make a 400-person resource 60 % valid
    entry = next(
        q
        for q in client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "invalid"}).json()
        if q["row_number"] == 19
    )
    fixed = client.post(
        f"/integration/quarantine/{entry['id']}",
        data={"csrf_token": client.headers["X-CSRF-Token"], "do": "resubmit", "col_出生日期": "1990-12-15"},
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text[:500]
    second = shown()
    assert second["records"] == first["records"] + 1
    assert second["validity"] == pytest.approx(expected(), abs=1e-4)
    assert second["validity"] > first["validity"]
    report = _page(client, f"/integration/runs/{run['id']}")
    assert re.search(r'id="open-invalid" href="[^"]+">1 行', report)


def test_the_api_shows_both_values_and_keeping_the_loaded_one_changes_nothing(as_user, db):
    extract = messy_extract("api-keep")
    client = as_user("gaj_officer")
    _, run = _load(client, db, extract.csv_gb18030(), "人口.csv", "接口")
    listed = client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "conflict"}).json()
    entry = next(q for q in listed if q["row_number"] == 20)
    detail = client.get(f"/api/v1/integration/quarantine/{entry['id']}").json()
    assert set(detail["pairs"]) == {"name", "phone"}
    assert detail["pairs"]["name"] == ["周志强", "周智强"]
    before = _everything(db)
    wrong = client.post(f"/api/v1/integration/quarantine/{entry['id']}/choose", json={"choices": {"name": "kept"}})
    assert wrong.status_code == 422
    assert "联系电话" in wrong.json()["detail"]
    kept = client.post(
        f"/api/v1/integration/quarantine/{entry['id']}/choose", json={"choices": {"name": "kept", "phone": "kept"}}
    )
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"status": "resolved", "run": None}
    assert _everything(db) == before
    assert client.post(f"/api/v1/integration/quarantine/{entry['id']}/choose", json={"choices": {}}).status_code == 409
