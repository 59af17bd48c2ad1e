"""Applying online on the portal: consent-gated pre-fill of shared data and a licence (each use audited and
named as the person), a household member pre-filled, uploads, a 补正 answered, accepted by the online hall's
window, finished, and a bad rating that opens a rectification as at the window."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from tests.conftest import Client
from tests.services.helpers import actor, five_material_matter, licensed_person, person_resource
from tests.services.portal_helpers import HTML, citizen
from zhixian.integration.models import Person
from zhixian.platform.models import AuditRecord
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.models import ApplicationEvent, Rating, Rectification, ServiceApplication
from zhixian.services.schemas import DecisionIn, MatterIn

APP = re.compile(r"/portal/me/applications/(\d+)")


def _audits(db, action: str) -> list[AuditRecord]:
    return list(db.execute(select(AuditRecord).where(AuditRecord.action == action)).scalars())


def _apply(person, matter_id: int, consent: bool = True) -> int:
    resp = person.post(
        f"/portal/matters/{matter_id}/apply", data={"consent": "on"} if consent else {}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    return int(APP.search(resp.headers["location"]).group(1))


def _upload(person, app_id: int, material_id: int, name: str = "申请表.pdf") -> None:
    resp = person.post(
        f"/portal/me/applications/{app_id}/materials/{material_id}",
        files={"file": (name, b"%PDF-1.4 test", "application/pdf")},
        headers=HTML,
    )
    assert resp.status_code == 200, resp.text


def test_online_application_prefills_two_shared_materials_and_a_licence_each_use_audited(server, node, db):
    matter = five_material_matter(db)
    key, name, person_row = licensed_person(db, node.cipher)
    reads, uses = len(_audits(db, "exchange.department_read")), len(_audits(db, "services.licence_use"))
    person = citizen(server, node, name, key)
    app_id = _apply(person, matter.id)

    app = db.get(ServiceApplication, app_id)
    assert app.channel == "online"
    assert app.applicant_index == person_row.id_index
    assert app.consent
    assert {m.name: m.state for m in app.materials} == {
        "申请表": "missing",
        "身份信息": "shared",
        "户籍信息": "shared",
        "居民身份证": "licence",
        "收入证明": "missing",
    }
    new_reads = _audits(db, "exchange.department_read")[reads:]
    new_uses = _audits(db, "services.licence_use")[uses:]
    assert len(new_reads) == 2
    assert len(new_uses) == 1
    who = {r.username for r in new_reads + new_uses}
    assert len(who) == 1
    assert who.pop().startswith("citizen:")
    assert all(r.user_id is None and r.department_id is None for r in new_reads + new_uses)
    page = person.get(f"/portal/me/applications/{app_id}", headers=HTML)
    assert page.status_code == 200
    assert "共享数据" in page.text
    assert "电子证照" in page.text
    assert key not in page.text
    assert "从共享数据和电子证照预填" not in page.text  # only uploads are left: nothing more to pre-fill
    person.close()


def test_without_consent_nothing_is_prefilled_and_withdrawing_stops_prefill_for_new_applications(server, node, db):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    person = citizen(server, node, name, key)
    first = _apply(person, matter.id, consent=True)
    assert db.get(ServiceApplication, first).consent
    out = person.post("/portal/me/consents", data={"scope": "prefill", "do": "withdraw"}, headers=HTML)
    assert out.status_code == 200
    assert "已撤回" in out.text
    reads = len(_audits(db, "exchange.department_read"))
    second = _apply(person, matter.id, consent=False)
    row = db.get(ServiceApplication, second)
    assert not row.consent
    assert {m.state for m in row.materials} == {"missing"}
    assert len(_audits(db, "exchange.department_read")) == reads
    refused = person.post(f"/portal/me/applications/{second}/prefill", headers=HTML)
    assert refused.status_code == 409
    assert "尚未同意" in refused.text
    history = person.get("/portal/me/consents", headers=HTML).text
    assert history.count("办事时使用我的共享数据和电子证照") >= 2  # the live line and the withdrawn record
    person.close()


def test_household_member_is_prefilled_for_an_online_application(server, node, db):
    key, name, holder = licensed_person(db, node.cipher)
    db.add(
        Person(
            id_index=node.cipher.blind_index("330421201001010011"),
            id_enc=node.cipher.encrypt("330421201001010011"),
            id_masked="330421********0011",
            name="同户成员",
            gender="1",
            birth_date=date(2010, 1, 1),
            address=holder.address,
            division_code=holder.division_code,
        )
    )
    data = MatterIn.model_validate(
        {
            "code": "330421TEST0000778",
            "name": "测试网上户籍事项",
            "department_code": "mzj",
            "kind": "公共服务",
            "level": "县",
            "statutory_days": 10,
            "promised_days": 5,
            "online_depth": "全程网办",
            "materials": [
                {
                    "name": "家庭成员信息",
                    "source": "shared",
                    "resource_id": person_resource(db),
                    "items": ["name", "gender"],
                    "household": True,
                }
            ],
        }
    )
    matter, _ = matters.apply(db, data, matters.Departments(db), "test")
    db.flush()
    person = citizen(server, node, name, key)
    app_id = _apply(person, matter.id)
    app = db.get(ServiceApplication, app_id)
    assert len(app.household) >= 1
    page = person.get(f"/portal/me/applications/{app_id}", headers=HTML).text
    assert "同户成员" in page
    person.close()


def test_correction_is_answered_online_and_a_bad_rating_opens_a_rectification(server, node, db):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    person = citizen(server, node, name, key)
    app_id = _apply(person, matter.id)
    app = db.get(ServiceApplication, app_id)
    form = next(m for m in app.materials if m.name == "申请表")
    _upload(person, app_id, form.id)
    early = person.post(f"/portal/me/applications/{app_id}/submit", data={"note": ""}, headers=HTML)
    assert early.status_code == 422
    assert "收入证明" in early.text

    window = actor(db, "window01")  # the online hall's window (政务服务中心) takes online applications in
    applications.request_correction(db, actor=window, application_id=app_id, notes=["申请表未签字"])
    page = person.get(f"/portal/me/applications/{app_id}", headers=HTML).text
    assert "需要补正" in page
    assert "申请表未签字" in page
    assert "缺少材料：收入证明" in page
    income = next(m for m in app.materials if m.name == "收入证明")
    _upload(person, app_id, income.id, "收入证明.pdf")
    answered = person.post(f"/portal/me/applications/{app_id}/submit", data={"note": "已签字"}, headers=HTML)
    assert answered.status_code == 200, answered.text
    db.refresh(app)
    assert app.status == "received"
    actions = (
        db.execute(select(ApplicationEvent.action).where(ApplicationEvent.application_id == app_id)).scalars().all()
    )
    assert "answer" in actions

    approver = actor(db, "mzj_approver")
    applications.accept(db, actor=window, settings=node.settings, application_id=app_id)
    applications.review(db, actor=approver, application_id=app_id, note="符合条件")
    applications.decide(
        db, actor=approver, application_id=app_id, data=DecisionIn(decision="approve", note="经审查，符合规定")
    )
    applications.finish(db, actor=approver, application_id=app_id)

    no_reason = person.post(f"/portal/me/applications/{app_id}/rate", data={"grade": "1"}, headers=HTML)
    assert no_reason.status_code == 422
    assert "差评须说明理由" in no_reason.text
    rated = person.post(
        f"/portal/me/applications/{app_id}/rate", data={"grade": "1", "reasons": ["多次跑腿"]}, headers=HTML
    )
    assert rated.status_code == 200, rated.text
    rating = db.execute(select(Rating).where(Rating.application_id == app_id)).scalar_one()
    assert rating.grade == 1
    assert rating.channel == "online"
    assert rating.recorded_by.startswith("citizen:")
    task = db.execute(select(Rectification).where(Rectification.rating_id == rating.id)).scalar_one()
    assert task.department_id == app.department_id
    assert task.status == "open"
    again = person.post(
        f"/portal/me/applications/{app_id}/rate", data={"grade": "5", "reasons": ["办事效率高"]}, headers=HTML
    )
    assert again.status_code == 409
    assert db.execute(select(func.count()).select_from(Rating).where(Rating.application_id == app_id)).scalar_one() == 1
    person.close()


def test_matter_page_names_the_handling_department_for_visitors_and_signed_in_people(server, node, db):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    person = citizen(server, node, name, key)
    department = matters.Departments(db).name(matter.department_id)
    with Client(base_url=server.url) as visitor:
        for client in (visitor, person):
            page = client.get(f"/portal/matters/{matter.id}", headers=HTML)
            assert page.status_code == 200, page.text
            assert f"<dt>办理部门</dt><dd>{department}</dd>" in page.text
    person.close()
