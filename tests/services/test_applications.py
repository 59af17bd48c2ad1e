"""Applications at the window: consent-gated pre-fill from shared data and licences (each use audited, refused
once the grant is revoked), 一次性告知补正, 不予受理, working-day limits across a holiday, household members."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.services.helpers import actor, at, complete_materials, five_material_matter, licensed_person, person_resource
from zhixian import clock
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.exchange import service as exchange_service
from zhixian.exchange.models import Call, Disclosure, Grant
from zhixian.integration.models import Person
from zhixian.platform.models import AuditRecord
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.schemas import ApplicationIn, DecisionIn, MatterIn


def _apply(db, node, matter, key, name, *, consent=True, clerk="window01"):
    data = ApplicationIn(matter_id=matter.id, applicant_key=key, applicant_name=name, consent=consent)
    return applications.create(db, actor=actor(db, clerk), settings=node.settings, cipher=node.cipher, data=data)


def _audits(db, action: str) -> int:
    return int(
        db.execute(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)).scalar_one()
    )


def _mzj_grant(db) -> Grant:
    grant = exchange_service.department_grant(
        db, department_id=actor(db, "mzj_approver").department_id, resource_id=person_resource(db)
    )
    assert grant is not None, "the demo gives 民政局 a grant on the population base"
    return grant


def test_two_shared_and_one_licence_material_prefill_only_after_consent_each_use_audited(db, node):
    matter = five_material_matter(db)
    key, name, person = licensed_person(db, node.cipher)
    app = _apply(db, node, matter, key, name, consent=False)
    window = actor(db, "window01")
    with pytest.raises(Conflict, match="尚未同意"):
        materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)

    reads, uses = _audits(db, "exchange.department_read"), _audits(db, "services.licence_use")
    applications.record_consent(db, actor=window, application_id=app.id)
    got = materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)

    assert sorted(got.filled) == ["居民身份证", "户籍信息", "身份信息"]
    states = {m.name: m.state for m in app.materials}
    assert states == {
        "申请表": "missing",
        "身份信息": "shared",
        "户籍信息": "shared",
        "居民身份证": "licence",
        "收入证明": "missing",
    }
    shared = next(m for m in app.materials if m.name == "身份信息").shared
    assert shared["姓名"]
    assert shared["公民身份号码"] != key
    assert _audits(db, "exchange.department_read") == reads + 2
    assert _audits(db, "services.licence_use") == uses + 1
    # the person can see the use: each read is a call with a disclosure under their blind index
    calls = [m.call_id for m in app.materials if m.call_id]
    assert len(calls) == 2
    subjects = db.execute(select(Disclosure.subject).where(Disclosure.call_id.in_(calls))).scalars().all()
    assert subjects == [person.id_index, person.id_index]


def test_prefill_is_refused_once_the_departments_grant_is_revoked(db, node):
    grant = _mzj_grant(db)
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    exchange_service.revoke(db, actor=actor(db, "gaj_officer"), grant_id=grant.id, reason="核查工作结束")
    still = exchange_service.department_grant(
        db, department_id=grant.consumer_department_id, resource_id=grant.resource_id
    )
    if still is not None:  # the demo may hold more than one live grant for 民政局: revoke them all
        for g in db.execute(
            select(Grant).where(Grant.consumer_department_id == grant.consumer_department_id, Grant.status == "active")
        ).scalars():
            exchange_service.revoke(db, actor=actor(db, "gaj_officer"), grant_id=g.id, reason="核查工作结束")
    app = _apply(db, node, matter, key, name)
    got = materials.prefill(
        db, actor=actor(db, "window01"), settings=node.settings, cipher=node.cipher, application_id=app.id
    )

    assert "撤销" in got.refused["身份信息"]
    assert "撤销" in got.refused["户籍信息"]
    assert got.filled == ["居民身份证"]  # the licence does not depend on the grant
    assert {m.name: m.state for m in app.materials}["身份信息"] == "missing"
    refused = (
        db.execute(
            select(Call)
            .where(Call.consumer_department_id == grant.consumer_department_id)
            .order_by(Call.id.desc())
            .limit(2)
        )
        .scalars()
        .all()
    )
    assert [c.result for c in refused] == ["拒绝", "拒绝"]
    assert all(c.rows == 0 for c in refused)


def test_correction_lists_every_missing_material_at_once(db, node):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    app = _apply(db, node, matter, key, name, consent=False)
    window = actor(db, "window01")
    with pytest.raises(Conflict, match="材料不齐"):
        applications.accept(db, actor=window, settings=node.settings, application_id=app.id)
    applications.request_correction(db, actor=window, application_id=app.id, notes=["申请表未签字"])
    assert app.status == "correction"
    assert app.correction == [
        "缺少材料：申请表",
        "缺少材料：身份信息",
        "缺少材料：户籍信息",
        "缺少材料：居民身份证",
        "缺少材料：收入证明",
        "申请表未签字",
    ]


def test_not_accepted_needs_a_reason_and_ends_the_application(db, node, as_user):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    app = _apply(db, node, matter, key, name)
    db.commit()
    window = as_user("window01")
    resp = window.post(f"/api/v1/services/applications/{app.id}/reject", json={"reason": ""})
    assert resp.status_code == 422
    assert "理由" in resp.text
    resp = window.post(f"/api/v1/services/applications/{app.id}/reject", json={"reason": "不属于本机关职权范围"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "rejected"
    assert resp.json()["reason"] == "不属于本机关职权范围"
    assert "accept" not in resp.json()["actions"]


def _ready(db, node, matter, key, name):
    app = _apply(db, node, matter, key, name)
    complete_materials(db, node, app, file_name="scan.pdf")
    return app


def test_limit_runs_in_working_days_across_the_national_day_holiday(db, node):
    matter = five_material_matter(db)
    matter.promised_days = 3
    key, name, _ = licensed_person(db, node.cipher)
    with at(datetime(2026, 9, 30, 10, 0, tzinfo=clock.LOCAL_TZ)):
        app = _ready(db, node, matter, key, name)
        applications.accept(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id)
    # 30 Sep 10:00 + 3 working days: 1–7 Oct are holidays, Sat 10 Oct is a 调休 working day
    assert app.due_at is not None
    assert app.due_at.astimezone(clock.LOCAL_TZ).date() == date(2026, 10, 10)
    with at(datetime(2026, 10, 9, 9, 0, tzinfo=clock.LOCAL_TZ)):
        assert (
            applications.application_read(db, actor(db, "mzj_approver"), app, matters.Departments(db)).light == "yellow"
        )
    with at(datetime(2026, 10, 12, 9, 0, tzinfo=clock.LOCAL_TZ)):
        red = applications.ApplicationFilter(box="handling", light="red")
        rows, n = applications.list_applications(db, actor=actor(db, "mzj_approver"), flt=red, limit=500)
        assert app.id in [r.id for r in rows]
        assert n == len(rows)


def test_approver_reviews_decides_and_finishes_only_in_order(db, node):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    app = _ready(db, node, matter, key, name)
    approver = actor(db, "mzj_approver")
    with pytest.raises(Conflict):
        applications.review(db, actor=approver, application_id=app.id, note="")
    applications.accept(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id)
    with pytest.raises(NotPermitted):
        applications.review(db, actor=actor(db, "window01"), application_id=app.id, note="")
    applications.review(db, actor=approver, application_id=app.id, note="符合条件")
    applications.decide(db, actor=approver, application_id=app.id, data=DecisionIn(decision="approve", note="准予"))
    applications.finish(db, actor=approver, application_id=app.id)
    assert app.status == "done"
    assert app.done_at is not None


def test_household_members_are_prefilled_from_the_population_base(db, node):
    key, name, person = licensed_person(db, node.cipher)
    member = Person(
        id_index=node.cipher.blind_index("330421201001010011"),
        id_enc=node.cipher.encrypt("330421201001010011"),
        id_masked="330421********0011",
        name="同户成员",
        gender="1",
        birth_date=date(2010, 1, 1),
        address=person.address,
        division_code=person.division_code,
    )
    db.add(member)
    db.flush()
    resource = person_resource(db)
    data = MatterIn.model_validate(
        {
            "code": "330421TEST0000777",
            "name": "测试户籍事项",
            "department_code": "mzj",
            "kind": "公共服务",
            "level": "县",
            "statutory_days": 10,
            "promised_days": 5,
            "materials": [
                {
                    "name": "家庭成员信息",
                    "source": "shared",
                    "resource_id": resource,
                    "items": ["id_number", "name"],
                    "household": True,
                }
            ],
        }
    )
    matter, _ = matters.apply(db, data, matters.Departments(db), "test")
    app = _apply(db, node, matter, key, name)
    materials.prefill(
        db, actor=actor(db, "window01"), settings=node.settings, cipher=node.cipher, application_id=app.id
    )
    names = [m["姓名"] for m in app.household]
    assert len(app.household) >= 1
    assert any(n.startswith("同") for n in names)
    assert all(m["公民身份号码"] != "330421201001010011" for m in app.household)  # masked


def test_other_departments_and_windows_get_404(db, node):
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    app = _apply(db, node, matter, key, name)
    for other in ("scj_approver", "window_xz101"):
        with pytest.raises(NotFound):
            applications.get_application(db, actor=actor(db, other), application_id=app.id)
    with pytest.raises(Invalid):
        _apply(db, node, matter, "110101199003071234", name)  # bad check digit, named field


def test_prefill_is_refused_while_the_grant_is_suspended_and_works_again_once_resumed(db, node):
    grant = _mzj_grant(db)
    provider = actor(db, "gaj_officer")
    live = (
        db.execute(
            select(Grant).where(
                Grant.consumer_department_id == grant.consumer_department_id,
                Grant.resource_id == grant.resource_id,
                Grant.status == "active",
            )
        )
        .scalars()
        .all()
    )
    for g in live:
        exchange_service.suspend(db, actor=provider, grant_id=g.id, reason="安全整改")
    matter = five_material_matter(db)
    key, name, _ = licensed_person(db, node.cipher)
    window = actor(db, "window01")
    app = _apply(db, node, matter, key, name)
    got = materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)
    assert "暂停" in got.refused["身份信息"]
    for g in live:
        exchange_service.resume(db, actor=provider, grant_id=g.id)
    again = materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)
    assert sorted(again.filled) == ["户籍信息", "身份信息"]
