"""我的 on the portal: one's own record, licences, applications and notices, each read audited; "who used my
data" lists exactly the calls on one's own record; consents and their history; the published lookups."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.services.helpers import actor, five_material_matter, licensed_person
from tests.services.portal_helpers import HTML, citizen
from zhixian.exchange.models import Call, Disclosure
from zhixian.platform.models import AuditRecord
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.models import Licence, ServiceApplication
from zhixian.services.portal import notices
from zhixian.services.schemas import ApplicationIn


def _audits(db, action: str) -> int:
    return int(
        db.execute(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)).scalar_one()
    )


def _window_prefill(db, node, matter, key, name):
    window = actor(db, "window01")
    data = ApplicationIn(matter_id=matter.id, applicant_key=key, applicant_name=name, consent=True)
    app = applications.create(db, actor=window, settings=node.settings, cipher=node.cipher, data=data)
    materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)
    return app


def test_me_shows_my_record_licences_and_window_applications_and_each_read_is_audited(server, node, db):
    matter = five_material_matter(db)
    key, name, person_row = licensed_person(db, node.cipher)
    app = _window_prefill(db, node, matter, key, name)
    own, reads = _audits(db, "integration.person.own_read"), _audits(db, "services.citizen_read")
    person = citizen(server, node, name, key)
    page = person.get("/portal/me", headers=HTML)
    assert page.status_code == 200
    assert person_row.address in page.text
    assert key not in page.text
    assert person_row.id_masked[:6] in page.text
    assert f"/portal/me/applications/{app.id}" in page.text
    assert "居民身份证" in page.text
    # one record per view of 我的 (the landing page after sign-in, and this one), naming what it showed
    assert _audits(db, "integration.person.own_read") == own
    views = (
        db.execute(
            select(AuditRecord)
            .where(AuditRecord.action == "services.citizen_read")
            .order_by(AuditRecord.id)
            .offset(reads)
        )
        .scalars()
        .all()
    )
    assert len(views) == 2
    assert views[-1].object_type == "services_citizen_data"
    assert views[-1].username == f"citizen:{person_row.id_masked}"
    held = db.execute(select(func.count()).select_from(Licence).where(Licence.holder_index == person_row.id_index))
    applied = db.execute(
        select(func.count())
        .select_from(ServiceApplication)
        .where(ServiceApplication.applicant_index == person_row.id_index)
    )
    assert views[-1].detail == {
        "person": person_row.id,
        "fields": ["name", "gender", "birth_date", "address"],
        "licences": held.scalar_one(),
        "applications": applied.scalar_one(),
    }
    detail = person.get(f"/portal/me/applications/{app.id}", headers=HTML)
    assert detail.status_code == 200
    assert "待受理" in detail.text
    person.close()


def test_who_used_my_data_lists_exactly_my_calls_and_nobody_elses(server, node, db):
    matter = five_material_matter(db)
    a_key, a_name, a_row = licensed_person(db, node.cipher)
    b_key, b_name, b_row = licensed_person(db, node.cipher, skip=1)
    app = _window_prefill(db, node, matter, a_key, a_name)
    mine = db.execute(
        select(func.count()).select_from(Disclosure).where(Disclosure.subject == a_row.id_index)
    ).scalar_one()
    b_calls = db.execute(
        select(func.count()).select_from(Disclosure).where(Disclosure.subject == b_row.id_index)
    ).scalar_one()
    a = citizen(server, node, a_name, a_key)
    b = citizen(server, node, b_name, b_key)
    a_page = a.get("/portal/me/usage", headers=HTML).text
    b_page = b.get("/portal/me/usage", headers=HTML).text
    number = applications.number(app)
    assert f'data-total="{mine}"' in a_page
    assert a_page.count(number) == 2  # the two shared materials, each one call
    assert f'data-total="{b_calls}"' in b_page
    assert number not in b_page
    call = db.execute(select(Call).where(Call.reason.contains(number)).limit(1)).scalar_one()
    assert call.purpose in a_page
    assert _audits(db, "exchange.citizen_usage") >= 2
    a.close()
    b.close()


def test_consent_is_given_and_withdrawn_with_its_history_kept(server, node, db):
    key, name, _ = licensed_person(db, node.cipher)
    person = citizen(server, node, name, key)
    for do in ("give", "withdraw", "give"):
        resp = person.post("/portal/me/consents", data={"scope": "lookup:gjj", "do": do}, headers=HTML)
        assert resp.status_code == 200
    bad = person.post("/portal/me/consents", data={"scope": "everything", "do": "give"}, headers=HTML)
    assert bad.status_code == 422
    page = person.get("/portal/me/consents", headers=HTML).text
    assert page.count("查询我的住房公积金") == 3  # the live line, one withdrawn and one live record
    assert _audits(db, "services.citizen_consent") >= 2
    assert _audits(db, "services.citizen_consent_withdraw") >= 1
    person.close()


def test_notices_are_mine_and_mark_read(server, node, db):
    key, name, row = licensed_person(db, node.cipher)
    person = citizen(server, node, name, key)
    person.post("/portal/me/notices/read", headers=HTML)  # the demo's window applications left notices already
    notices.notify(db, recipient_index=row.id_index, kind="result", title="办件已办结", link="/portal/me")
    page = person.get("/portal/me", headers=HTML).text
    assert "办件已办结" in page
    assert "未读 1" in page
    person.post("/portal/me/notices/read", headers=HTML)
    assert "未读 0" in person.get("/portal/me", headers=HTML).text
    person.close()
