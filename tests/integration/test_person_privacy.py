"""Base-database records over HTTP: masked as a whole, read only within department scope, every read audited.

Security test item 2: a masked ID (area + last four) beside the full birth date rebuilt the number, any
department read any person, and none of it was audited (standard items 10, 16, 20).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.integration.helpers import csv_bytes, ids, run_source, set_people_mapping, upload
from zhixian.integration.models import LegalPerson, Person
from zhixian.platform import masking
from zhixian.platform.models import AuditRecord, Department

SAMPLES = 8


def _dept(db, code: str) -> int:
    return db.execute(select(Department.id).where(Department.code == code)).scalar_one()


def _persons(db, *, provided_by: set[int], only: bool = False) -> list[Person]:
    """Demo persons with a birth date whose provenance names one of these departments (or only them)."""
    out = []
    for p in db.execute(select(Person).where(Person.birth_date.is_not(None)).order_by(Person.id)).scalars():
        depts = {m.get("dept") for m in (p.provenance or {}).values()}
        if (depts <= provided_by) if only else (depts & provided_by):
            out.append(p)
        if len(out) == SAMPLES:
            break
    assert len(out) == SAMPLES
    return out


def _audits(db, action: str, after: int) -> list[AuditRecord]:
    return list(
        db.execute(select(AuditRecord).where(AuditRecord.action == action, AuditRecord.id > after)).scalars().all()
    )


def _last_audit_id(db) -> int:
    return db.execute(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)).scalar() or 0


def _assert_nothing_rebuilds(body: str, person: Person, full_id: str, phone: str) -> None:
    birth = person.birth_date
    assert birth is not None
    assert birth.isoformat() not in body
    assert full_id[6:14] not in body  # the 8 birth digits the mask hides
    assert full_id[:6] + "*" not in body  # area code beside the stars
    assert full_id not in body
    if phone:
        assert phone not in body
    if len(person.name) >= 2:
        assert person.name not in body
    if any(ch.isdigit() for ch in person.address):
        assert person.address not in body  # house numbers are cut off


def test_masked_person_reads_carry_nothing_that_rebuilds_the_id(as_user, db, node):
    gaj = as_user("gaj_officer")
    for person in _persons(db, provided_by={_dept(db, "gaj")}):
        full_id = node.cipher.decrypt(person.id_enc, index=person.id_index)
        phone = node.cipher.decrypt(person.phone_enc, index=person.phone_index) if person.phone_enc else ""
        for resp in (
            gaj.get(f"/api/v1/integration/persons/{person.id}"),
            gaj.get("/api/v1/integration/persons/lookup", params={"id_number": full_id}),
        ):
            assert resp.status_code == 200, resp.text
            _assert_nothing_rebuilds(resp.text, person, full_id, phone)
            got = resp.json()
            assert got["masked"] is True
            assert got["birth_date"] is None
            assert got["birth_year"] == person.birth_date.year
            assert got["id_number"] == full_id[0] + "*" * 16 + full_id[-1]
            assert got["name"] == masking.person_name(person.name)
            assert got["address"] == masking.address(person.address)


def test_conflicts_show_values_masked_like_the_record(as_user, db, node):
    gaj, mzj = as_user("gaj_officer"), as_user("mzj_officer")
    (idn,) = ids("privacy-conflict", 1)
    for client, row, name in (
        (gaj, [idn, "林三木", "1", "1971-03-04", "13800000011", "罗星街道解放路8号", "330421001001"], "公安"),
        (mzj, [idn, "林叁木", "1", "1972-05-06", "13900000012", "西塘镇南大街9号", "330421001001"], "民政"),
    ):
        source = upload(client, db, csv_bytes([row]), name=name)
        assert source.status_code == 201, source.text
        set_people_mapping(client, source.json()["id"])
        run_source(client, source.json()["id"])
    person = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(idn))).scalar_one()
    before = _last_audit_id(db)
    api = gaj.get("/api/v1/integration/conflicts")
    page = gaj.get("/integration/conflicts")
    assert api.status_code == page.status_code == 200
    mine = {c["field"]: c for c in api.json() if c["entity_id"] == person.id}
    assert mine["出生日期"]["current_value"] == "1971年"
    assert mine["出生日期"]["incoming_value"] == "1972年"
    assert mine["姓名/名称"]["incoming_value"] == "林**"
    assert mine["联系电话"]["incoming_value"] == "139****0012"
    for body in (api.text, page.text):
        for secret in ("1971-03-04", "19710304", "1972-05-06", "19720506", idn, "林叁木", "13900000012", "南大街9号"):
            assert secret not in body
    listed = _audits(db, "integration.conflict.list", before)
    assert [a.username for a in listed] == ["gaj_officer", "gaj_officer"]  # one per request: API and page
    assert person.id in listed[0].detail["persons"]
    assert listed[0].detail["count"] == len(api.json())


def test_other_departments_get_404_and_empty_lists(as_user, db, node):
    person = _persons(db, provided_by={_dept(db, "gaj")}, only=True)[0]
    full_id = node.cipher.decrypt(person.id_enc, index=person.id_index)
    legal = db.execute(select(LegalPerson).order_by(LegalPerson.id)).scalars().first()
    assert legal is not None
    # 农业农村局 provided none of it; a county leader has county scope but is no data authority;
    # 民政局 provided other persons, not this one.
    for username in ("nyj_officer", "leader", "mzj_officer"):
        client = as_user(username)
        assert client.get(f"/api/v1/integration/persons/{person.id}").status_code == 404, username
        assert client.get(f"/api/v1/integration/persons/{person.id}", params={"unmasked": True}).status_code == 404
        found = client.get("/api/v1/integration/persons/lookup", params={"id_number": full_id})
        assert found.status_code == 404
        assert full_id[6:14] not in found.text
        assert client.get("/api/v1/integration/persons/999999999").status_code == 404
    nyj = as_user("nyj_officer")
    assert nyj.get("/api/v1/integration/legal-persons/lookup", params={"uscc": legal.uscc}).status_code == 404
    assert nyj.get("/api/v1/integration/conflicts").json() == []
    assert "没有待处理的冲突" in nyj.get("/integration/conflicts").text
    # 民政局 reads a person once it provided a field of it (here the address), masked
    (idn,) = ids("privacy-scope", 1)
    for username, row in (
        ("gaj_officer", [idn, "林四", "1", "1973-01-01", "", "", "330421001001"]),
        ("mzj_officer", [idn, "林四", "1", "1973-01-01", "", "罗星街道民政路8号", "330421001001"]),
    ):
        client = as_user(username)
        source = upload(client, db, csv_bytes([row]), name=username)
        set_people_mapping(client, source.json()["id"])
        run_source(client, source.json()["id"])
    shared = db.execute(select(Person).where(Person.id_index == node.cipher.blind_index(idn))).scalar_one()
    mzj_read = as_user("mzj_officer").get(f"/api/v1/integration/persons/{shared.id}")
    assert mzj_read.status_code == 200, mzj_read.text
    assert (mzj_read.json()["masked"], mzj_read.json()["address"]) == (True, "罗星街道…")
    assert nyj.get(f"/api/v1/integration/persons/{shared.id}").status_code == 404
    # 市场监管局 owns 法人; the legal representative and phone are masked
    scj = as_user("scj_officer").get("/api/v1/integration/legal-persons/lookup", params={"uscc": legal.uscc})
    assert scj.status_code == 200, scj.text
    assert scj.json()["legal_rep"] == masking.person_name(legal.legal_rep)
    if len(legal.legal_rep) >= 2:
        assert legal.legal_rep not in scj.text


def test_every_masked_read_is_audited_once_naming_the_record(as_user, db, node):
    gaj = as_user("gaj_officer")
    person = _persons(db, provided_by={_dept(db, "gaj")})[1]
    full_id = node.cipher.decrypt(person.id_enc, index=person.id_index)
    legal = db.execute(select(LegalPerson).order_by(LegalPerson.id)).scalars().first()
    assert legal is not None
    before = _last_audit_id(db)
    assert gaj.get(f"/api/v1/integration/persons/{person.id}").status_code == 200
    assert gaj.get("/api/v1/integration/persons/lookup", params={"id_number": full_id}).status_code == 200
    assert (
        as_user("scj_officer").get("/api/v1/integration/legal-persons/lookup", params={"uscc": legal.uscc}).status_code
        == 200
    )
    for action, object_id, username in (
        ("integration.person.read", person.id, "gaj_officer"),
        ("integration.person.lookup", person.id, "gaj_officer"),
        ("integration.legal.read", legal.id, "scj_officer"),
    ):
        records = _audits(db, action, before)
        assert len(records) == 1, action
        (rec,) = records
        assert (rec.username, rec.object_id) == (username, str(object_id))
        assert rec.detail["ids"] == [object_id]
        assert rec.detail["count"] == 1
        assert rec.detail["masked"] is True
        assert full_id not in json.dumps(rec.detail)


def test_unmasked_read_needs_the_authority_and_is_audited_with_the_record(as_user, db, node):
    person = _persons(db, provided_by={_dept(db, "gaj")})[2]
    full_id = node.cipher.decrypt(person.id_enc, index=person.id_index)
    before = _last_audit_id(db)
    assert (
        as_user("gaj_officer").get(f"/api/v1/integration/persons/{person.id}", params={"unmasked": True}).status_code
        == 403
    )
    full = as_user("datahub").get(f"/api/v1/integration/persons/{person.id}", params={"unmasked": True})
    assert full.status_code == 200
    got = full.json()
    assert (got["masked"], got["id_number"], got["birth_date"]) == (False, full_id, person.birth_date.isoformat())
    (rec,) = _audits(db, "integration.person.read_unmasked", before)
    assert (rec.username, rec.object_id) == ("datahub", str(person.id))
    assert rec.detail["ids"] == [person.id]
    assert rec.detail["masked"] is False
    assert "id_number" in rec.detail["fields"]
    # the data authority's default read is masked too
    masked = as_user("datahub").get(f"/api/v1/integration/persons/{person.id}")
    assert masked.json()["masked"] is True
    assert person.birth_date.isoformat() not in masked.text


def test_masking_rules_per_field_kind() -> None:
    assert masking.address("浙江省湖州市长兴县雉城街道金陵北路66号") == "浙江省湖州市长兴县雉城街道…"
    assert masking.address("城东村解放路12号") == "城东村…"
    assert masking.address("某某小区3幢201室") == masking.HIDDEN
    assert masking.mask_value("birth_date", "2002-11-09") == "2002年"
    view = masking.person_view({"id_number": "330421********7540", "birth_date": "2002-11-09", "name": "张三丰"})
    assert view == {"id_number": "3****************0", "birth_date": None, "birth_year": 2002, "name": "张**"}
    # a company's address is public; a sole trader's (个体工商户, USCC 92…) is a person's
    company = {"uscc": "91330421MA2B3C4D5E", "legal_rep": "李四", "address": "城东村解放路12号"}
    assert masking.legal_view(company)["address"] == "城东村解放路12号"
    assert masking.legal_view({**company, "uscc": "92330421MA2B3C4D5E"})["address"] == "城东村…"
    assert masking.legal_view(company)["legal_rep"] == "李*"
