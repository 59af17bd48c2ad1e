"""The same person from two departments: one record, per-field provenance, conflicts flagged not overwritten."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.helpers import csv_bytes, ids, run_source, set_people_mapping, upload
from zhixian.integration.models import FieldConflict, Person
from zhixian.platform.models import Department


def _load(client, db, rows, name):
    source = upload(client, db, csv_bytes(rows), name=name)
    assert source.status_code == 201, source.text
    set_people_mapping(client, source.json()["id"])
    return source.json()["id"], run_source(client, source.json()["id"])


def test_two_departments_conflict_is_flagged_for_owner_and_resolved(as_user, db, node):
    gaj, mzj = as_user("gaj_officer"), as_user("mzj_officer")
    (idn,) = ids("resolution", 1)
    _, first = _load(gaj, db, [[idn, "林一", "1", "1970-01-01", "13800000001", "", "330421001001"]], "公安")
    assert first["loaded"] == 1
    mzj_sid, second = _load(
        mzj, db, [[idn, "林一", "男", "1970/1/1", "13900000002", "罗星街道民政地址8号", "330421001001"]], "民政"
    )
    assert (second["loaded"], second["updated"], second["conflicts"]) == (0, 1, 1)  # address filled, phone disputed
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(idn))).scalar_one()
    db.refresh(person)
    depts = {d.code: d.id for d in db.execute(select(Department)).scalars()}
    assert node.cipher.decrypt(person.phone_enc, index=person.phone_index) == "13800000001"  # not overwritten
    assert person.address == "罗星街道民政地址8号"
    assert person.provenance["phone"]["dept"] == depts["gaj"]
    assert person.provenance["address"]["dept"] == depts["mzj"]
    assert person.provenance["name"]["dept"] == depts["gaj"]

    # the owning department (公安, provider of 人口基础信息) sees it; 民政 does not own it
    open_for_gaj = gaj.get("/api/v1/integration/conflicts").json()
    mine = [c for c in open_for_gaj if c["entity_id"] == person.id]
    assert len(mine) == 1
    assert mine[0]["current_value"] == "138****0001"
    assert mine[0]["incoming_value"] == "139****0002"
    assert mine[0]["incoming_department"].endswith("民政局")
    assert all(c["entity_id"] != person.id for c in mzj.get("/api/v1/integration/conflicts").json())

    # re-running 民政's file raises no second conflict
    again = run_source(mzj, mzj_sid)
    assert (again["updated"], again["unchanged"], again["conflicts"]) == (0, 1, 0)
    assert len(db.execute(select(FieldConflict).where(FieldConflict.entity_id == person.id)).scalars().all()) == 1

    resolved = gaj.post(f"/api/v1/integration/conflicts/{mine[0]['id']}/resolve", json={"action": "replace"})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "replaced"
    db.refresh(person)
    assert node.cipher.decrypt(person.phone_enc, index=person.phone_index) == "13900000002"
    assert person.provenance["phone"]["dept"] == depts["mzj"]
    assert (
        gaj.post(f"/api/v1/integration/conflicts/{mine[0]['id']}/resolve", json={"action": "keep"}).status_code == 409
    )


def test_same_department_update_overwrites_its_own_value(as_user, db, node):
    gaj = as_user("gaj_officer")
    (idn,) = ids("own-update", 1)
    _load(gaj, db, [[idn, "林二", "1", "1970-01-01", "13800000003", "旧地址", "330421001001"]], "公安一")
    _, run = _load(gaj, db, [[idn, "林二", "1", "1970-01-01", "13800000003", "新地址", "330421001001"]], "公安二")
    assert (run["updated"], run["conflicts"]) == (1, 0)
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(idn))).scalar_one()
    db.refresh(person)
    assert person.address == "新地址"
