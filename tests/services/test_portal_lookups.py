"""A published lookup (住房公积金) on the portal: refused until the person consents, then read through the
exchange under the portal department's grant — one audited call that shows in "who used my data"."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.services.portal_helpers import HTML, citizen
from zhixian.catalog.models import Resource
from zhixian.exchange.models import Call, Grant
from zhixian.integration.models import Person, Record
from zhixian.platform.models import AuditRecord, Department


def _someone_with_an_account(db, cipher) -> tuple[str, str, Resource, Record]:
    """A demo person with a 公积金 record (the demo seeds the resource, its records and the portal's grant)."""
    res = db.execute(select(Resource).where(Resource.code == "380001/900001")).scalar_one()
    for record in db.execute(select(Record).where(Record.resource_id == res.id).order_by(Record.id)).scalars():
        person = db.execute(
            select(Person).where(Person.id_index == cipher.blind_index(record.key))
        ).scalar_one_or_none()
        if person is not None and person.name:
            return record.key, person.name, res, record
    raise AssertionError("no demo person with a 公积金 account")


def test_a_lookup_needs_consent_then_is_an_audited_exchange_call_seen_in_who_used_my_data(server, node, db):
    key, name, res, record = _someone_with_an_account(db, node.cipher)
    sjb = db.execute(select(Department).where(Department.code == "sjb")).scalar_one()
    grant = db.execute(select(Grant).where(Grant.resource_id == res.id)).scalar_one()
    assert grant.consumer_department_id == sjb.id
    person = citizen(server, node, name, key)
    calls = db.execute(select(func.count()).select_from(Call).where(Call.resource_id == res.id)).scalar_one()
    before = person.get("/portal/me/lookups/gjj", headers=HTML)
    assert before.status_code == 200
    assert "需要你同意" in before.text
    assert record.data["unit"] not in before.text
    assert db.execute(select(func.count()).select_from(Call).where(Call.resource_id == res.id)).scalar_one() == calls

    person.post("/portal/me/consents", data={"scope": "lookup:gjj", "do": "give"}, headers=HTML)
    page = person.get("/portal/me/lookups/gjj", headers=HTML)
    assert page.status_code == 200
    assert record.data["unit"] in page.text
    assert str(record.data["monthly"]) in page.text
    call = db.execute(select(Call).where(Call.resource_id == res.id).order_by(Call.id.desc()).limit(1)).scalar_one()
    assert call.result == "成功"
    assert call.grant_id == grant.id
    audit_row = db.execute(
        select(AuditRecord)
        .where(AuditRecord.action == "exchange.department_read")
        .order_by(AuditRecord.id.desc())
        .limit(1)
    ).scalar_one()
    assert audit_row.username.startswith("citizen:")
    usage = person.get("/portal/me/usage", headers=HTML).text
    assert "本人查询住房公积金" in usage
    assert "住房公积金缴存信息" in usage
    assert person.get("/portal/me/lookups/nosuch", headers=HTML).status_code == 404
    person.close()
