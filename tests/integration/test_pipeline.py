"""Loading messy files over HTTP: exact counts, quarantine reasons, idempotent re-runs, resume after a kill."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.integration.helpers import (
    counts,
    csv_bytes,
    json_bytes,
    messy_people,
    run_source,
    set_people_mapping,
    upload,
    wait_run,
    xls_bytes,
    xlsx_bytes,
)
from zhixian.integration import pipeline, tasks
from zhixian.integration.models import Person, QuarantineRow, Run


def _persons(db) -> int:
    return db.execute(select(func.count()).select_from(Person)).scalar_one()


@pytest.mark.parametrize(
    ("filename", "make"),
    [
        ("people.csv", csv_bytes),
        ("people_gbk.csv", lambda r: csv_bytes(r, encoding="gb18030")),
        ("people.xlsx", xlsx_bytes),
        ("people.xls", xls_bytes),
        ("people.json", json_bytes),
    ],
)
def test_messy_file_loads_exact_counts_and_rerun_changes_nothing(as_user, db, filename, make):
    client = as_user("gaj_officer")
    rows, expected, reasons = messy_people()
    before = _persons(db)
    source = upload(client, db, make(rows), filename)
    assert source.status_code == 201, source.text
    sid = source.json()["id"]
    set_people_mapping(client, sid)
    report = run_source(client, sid)
    assert report["status"] == "succeeded"
    assert counts(report) == expected
    assert (
        report["read"]
        == report["loaded"] + report["updated"] + report["unchanged"] + report["quarantined"] + report["duplicates"]
    )
    assert report["lineage"]["mapping_version"] == 1
    assert report["lineage"]["operator"] == "gaj_officer"
    assert _persons(db) == before + 5
    quarantined = client.get("/api/v1/integration/quarantine", params={"source_id": sid}).json()
    first_row = 1 if filename.endswith(".json") else 2
    got = {q["row_number"] + (2 - first_row): q["reason"] for q in quarantined}
    assert set(got) == set(reasons)
    for number, fragment in reasons.items():
        assert fragment in got[number], (number, got[number])

    again = run_source(client, sid)
    assert counts(again) == {**expected, "loaded": 0, "unchanged": 5}
    assert _persons(db) == before + 5
    assert len(client.get("/api/v1/integration/quarantine", params={"source_id": sid}).json()) == len(reasons)


def test_full_width_id_is_stored_encrypted_and_found_by_blind_index(as_user, db, node):
    client = as_user("gaj_officer")
    rows, _, _ = messy_people("blind")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_source(client, sid)
    plain = str(rows[1][0]).translate({0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: 0x58})
    found = client.get("/api/v1/integration/persons/lookup", params={"id_number": plain})
    assert found.status_code == 200
    person = found.json()
    assert person["masked"]
    assert person["id_number"] == plain[0] + "*" * 16 + plain[-1]  # no area or birth digits (item 20)
    assert person["phone"] == "139****5678"
    assert person["name"] == "李*"
    assert (person["birth_date"], person["birth_year"]) == (None, 1981)
    row = db.get(Person, person["id"])
    assert plain not in row.id_enc
    assert row.id_enc.startswith("sm4c.")  # sealed in bulk with SM4-CTR, opened against the blind index
    # unmasked read needs the permission and is audited
    assert client.get(f"/api/v1/integration/persons/{person['id']}", params={"unmasked": True}).status_code == 403
    hub = as_user("datahub")
    full = hub.get(f"/api/v1/integration/persons/{person['id']}", params={"unmasked": True}).json()
    assert full["id_number"] == plain
    assert full["phone"] == "13912345678"
    from zhixian.platform.models import AuditRecord

    audited = (
        db.execute(
            select(AuditRecord).where(
                AuditRecord.action == "integration.person.read_unmasked", AuditRecord.object_id == str(person["id"])
            )
        )
        .scalars()
        .all()
    )
    assert [a.username for a in audited] == ["datahub"]


def test_run_killed_midway_resumes_to_the_same_result(as_user, db, node):
    client = as_user("gaj_officer")
    rows, expected, _ = messy_people("resume")
    before = _persons(db)
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_id = tasks.start_system_run(node, sid, trigger="manual")
    with pytest.raises(pipeline.Interrupted):
        pipeline.execute(
            node.db,
            node.cipher,
            run_id,
            county_code="330421",
            batch_size=5,
            stop_after_batches=1,
            data_dir=node.settings.data_dir,
        )
    partial = db.get(Run, run_id)
    db.refresh(partial)
    assert partial.status == "running"
    assert partial.checkpoint == 5
    assert partial.read == 5
    # a new run is refused while this one is unfinished
    assert client.post(f"/api/v1/integration/sources/{sid}/runs").status_code == 409
    resumed = wait_run(client, client.post(f"/api/v1/integration/runs/{run_id}/resume"))
    assert counts(resumed) == expected
    assert resumed["status"] == "succeeded"
    assert resumed["batches"] == 2
    assert resumed["checkpoint"] == resumed["total"] == expected["read"]
    assert resumed["progress"] == 1.0
    # a finished run cannot be resumed again
    assert client.post(f"/api/v1/integration/runs/{run_id}/resume").status_code == 409
    assert _persons(db) == before + 5
    n_quarantine = db.execute(select(func.count()).select_from(QuarantineRow).where(QuarantineRow.source_id == sid))
    assert n_quarantine.scalar_one() == 6


def test_quarantined_row_fixed_and_resubmitted_loads_once(as_user, db):
    client = as_user("gaj_officer")
    rows, _, _ = messy_people("fix")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_source(client, sid)
    before = _persons(db)
    entry = next(
        q
        for q in client.get("/api/v1/integration/quarantine", params={"source_id": sid}).json()
        if q["row_number"] == 6
    )
    detail = client.get(f"/api/v1/integration/quarantine/{entry['id']}").json()
    assert detail["data"]["姓名"] is None or detail["data"]["姓名"] == ""
    still_bad = client.post(f"/api/v1/integration/quarantine/{entry['id']}/resubmit", json={"values": {"性别": "?"}})
    assert still_bad.json()["status"] == "open"
    assert still_bad.json()["errors"]
    fixed = client.post(
        f"/api/v1/integration/quarantine/{entry['id']}/resubmit", json={"values": {"姓名": "陈小红", "性别": "2"}}
    )
    body = fixed.json()
    assert body["status"] == "resubmitted"
    assert body["run"]["loaded"] == 1
    assert body["run"]["kind"] == "resubmit"
    assert _persons(db) == before + 1
    assert client.post(f"/api/v1/integration/quarantine/{entry['id']}/resubmit", json={"values": {}}).status_code == 409
    # re-running the original file leaves the fixed row alone
    again = run_source(client, sid)
    assert again["loaded"] == 0
    assert _persons(db) == before + 1


def test_batches_prepared_in_a_worker_process_load_the_same_and_resume(as_user, db, node):
    client = as_user("gaj_officer")
    rows, expected, reasons = messy_people("worker-process")
    before = _persons(db)
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_id = tasks.start_system_run(node, sid, trigger="manual")
    with pytest.raises(pipeline.Interrupted):
        pipeline.execute(
            node.db,
            node.cipher,
            run_id,
            county_code="330421",
            batch_size=5,
            stop_after_batches=1,
            workers=1,
            data_dir=node.settings.data_dir,
        )
    run = db.get(Run, run_id)
    db.refresh(run)
    assert (run.status, run.checkpoint, run.read) == ("running", 5, 5)
    pipeline.execute(
        node.db, node.cipher, run_id, county_code="330421", batch_size=5, workers=1, data_dir=node.settings.data_dir
    )
    db.refresh(run)
    assert run.status == "succeeded"
    assert {k: getattr(run, k) for k in expected} == expected
    assert run.batches == 3
    assert _persons(db) == before + 5
    quarantined = db.execute(
        select(QuarantineRow.row_number, QuarantineRow.reason).where(QuarantineRow.source_id == sid)
    ).all()
    assert sorted(n for n, _ in quarantined) == sorted(reasons)
    assert all(reasons[n] in reason for n, reason in quarantined)
    # the worker's ciphertexts and blind indexes are the node's own
    first = rows[0][0]
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(str(first)))).scalar_one()
    assert node.cipher.decrypt(person.id_enc, index=person.id_index) == first
    assert node.cipher.decrypt(person.phone_enc, index=person.phone_index) == "13812345678"
    assert person.phone_index == node.cipher.blind_index("13812345678")
