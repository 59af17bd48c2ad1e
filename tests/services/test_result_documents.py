"""结果文书 and notices: 办结, 不予受理 and 补正 each give a printable document whose QR code opens a public
check that shows no personal data; the applicant is left a notice at each step that concerns them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.services.helpers import actor, complete_materials, five_material_matter, licensed_person
from zhixian.errors import Invalid, NotFound
from zhixian.services.applications import results
from zhixian.services.applications import service as applications
from zhixian.services.portal.models import CitizenNotice
from zhixian.services.schemas import ApplicationIn, DecisionIn

HTML = {"Accept": "text/html"}


def _new(db, node, *, skip: int = 0, code: str = "330421TEST0000701"):
    matter = five_material_matter(db, code=code)
    key, name, _ = licensed_person(db, node.cipher, skip=skip)
    data = ApplicationIn(matter_id=matter.id, applicant_key=key, applicant_name=name, consent=True)
    app = applications.create(db, actor=actor(db, "window01"), settings=node.settings, cipher=node.cipher, data=data)
    return app, key, name


def _complete(db, node, app) -> None:
    complete_materials(db, node, app)


def _finish(db, node, app) -> None:
    approver = actor(db, "mzj_approver")
    applications.accept(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id)
    applications.review(db, actor=approver, application_id=app.id, note="符合条件")
    applications.decide(db, actor=approver, application_id=app.id, data=DecisionIn(decision="approve", note="准予"))
    applications.finish(db, actor=approver, application_id=app.id)


def _notices(db, app) -> list[CitizenNotice]:
    return list(
        db.execute(
            select(CitizenNotice)
            .where(
                CitizenNotice.recipient_index == app.applicant_index,
                CitizenNotice.link == f"/portal/me/applications/{app.id}",  # the demo person has applied before
            )
            .order_by(CitizenNotice.id)
        ).scalars()
    )


def test_the_applicant_is_left_a_notice_at_each_step_linking_to_the_application(db, node):
    app, _, _ = _new(db, node)
    applications.request_correction(db, actor=actor(db, "window01"), application_id=app.id, notes=[])
    _complete(db, node, app)
    _finish(db, node, app)
    got = _notices(db, app)
    assert [n.kind for n in got] == [
        "app_create",
        "app_correction",
        "app_accept",
        "app_decide",
        "app_finish",
    ]  # 审查 is internal: no notice
    assert "测试救助认定" in got[-1].title
    assert applications.number(app) in got[-1].body


def test_refusal_leaves_a_notice_with_the_reason(db, node):
    app, _, _ = _new(db, node, skip=1, code="330421TEST0000702")
    applications.reject(db, actor=actor(db, "window01"), application_id=app.id, reason="不属于本县受理范围")
    last = _notices(db, app)[-1]
    assert last.kind == "app_reject"
    assert "不属于本县受理范围" in last.body


def test_result_document_verifies_publicly_without_personal_data(db, node, as_user, http):
    app, key, name = _new(db, node, skip=2, code="330421TEST0000703")
    _complete(db, node, app)
    _finish(db, node, app)
    db.flush()
    page = as_user("mzj_approver").get(f"/services/applications/{app.id}/result", headers=HTML)
    assert page.status_code == 200
    assert "办理结果通知书" in page.text
    assert "<svg" in page.text  # the QR code, drawn in the page
    code = re.search(r"扫码核验：([A-Z]{2}\d+-[0-9a-f]{16})", page.text)
    assert code is not None
    check = http.get(f"/services/verify/{code.group(1)}", headers=HTML)  # signed out
    assert check.status_code == 200
    assert code.group(1).split("-")[0] in check.text
    assert "测试救助认定" in check.text
    assert "有效" in check.text
    for personal in (name, key, app.applicant_masked, "符合条件"):
        assert personal not in check.text


def test_a_forged_or_altered_code_is_not_found(db, node, http):
    app, _, _ = _new(db, node, skip=3, code="330421TEST0000704")
    _complete(db, node, app)
    _finish(db, node, app)
    doc = results.document(db, actor=actor(db, "mzj_approver"), cipher=node.cipher, application_id=app.id)
    number, signature = doc.code.split("-")
    with pytest.raises(NotFound):
        results.verify(db, cipher=node.cipher, code=f"{number}-{'0' * 16}")
    with pytest.raises(NotFound):
        results.verify(db, cipher=node.cipher, code=f"BY{number[2:]}-{signature}")  # another kind, same signature
    assert http.get(f"/services/verify/{number}-{'0' * 16}", headers=HTML).status_code == 404


def test_a_correction_notice_stops_being_valid_once_the_applicant_has_corrected(db, node):
    app, _, _ = _new(db, node, skip=4, code="330421TEST0000705")
    applications.request_correction(db, actor=actor(db, "window01"), application_id=app.id, notes=["签名不清"])
    doc = results.document(db, actor=actor(db, "window01"), cipher=node.cipher, application_id=app.id)
    assert doc.title == "补正材料一次性告知书"
    assert "签名不清" in doc.items
    assert results.verify(db, cipher=node.cipher, code=doc.code).valid
    _complete(db, node, app)
    applications.accept(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id)
    later = results.verify(db, cipher=node.cipher, code=doc.code)
    assert not later.valid
    assert "已失效" in later.validity
    with pytest.raises(Invalid):  # while it is being examined there is no document
        results.document(db, actor=actor(db, "window01"), cipher=node.cipher, application_id=app.id)


def test_another_departments_user_cannot_open_the_document(db, node, as_user):
    app, _, _ = _new(db, node, skip=5, code="330421TEST0000706")
    applications.reject(db, actor=actor(db, "window01"), application_id=app.id, reason="材料虚假")
    db.flush()
    assert as_user("scj_approver").get(f"/services/applications/{app.id}/result", headers=HTML).status_code == 404
    assert as_user("window01").get(f"/services/applications/{app.id}/result", headers=HTML).status_code == 200
