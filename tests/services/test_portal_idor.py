"""IDOR on the citizen portal: every route that takes an id answers another person's object with 404 — the
same as an id that does not exist — and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.helpers import five_material_matter, licensed_person
from tests.services.portal_helpers import HTML, citizen
from zhixian.services.models import Licence, Rating, ServiceApplication
from zhixian.services.portal import notices
from zhixian.services.portal.models import CitizenNotice


def test_person_b_gets_404_for_every_object_of_person_a(server, node, db):
    matter = five_material_matter(db)
    a_key, a_name, a_row = licensed_person(db, node.cipher)
    b_key, b_name, _ = licensed_person(db, node.cipher, skip=1)
    a = citizen(server, node, a_name, a_key)
    made = a.post(f"/portal/matters/{matter.id}/apply", data={"consent": "on"}, follow_redirects=False)
    app_id = int(made.headers["location"].rsplit("/", 1)[1])
    app = db.get(ServiceApplication, app_id)
    material = next(m for m in app.materials if m.state == "missing")
    licence = db.execute(select(Licence).where(Licence.holder_index == a_row.id_index).limit(1)).scalar_one()
    notices.notify(db, recipient_index=a_row.id_index, kind="result", title="A 的通知")
    notice = db.execute(select(CitizenNotice).where(CitizenNotice.recipient_index == a_row.id_index)).scalars().first()
    assert a.get(f"/portal/me/applications/{app_id}", headers=HTML).status_code == 200
    assert a.get(f"/portal/me/licences/{licence.id}", headers=HTML).status_code == 200

    b = citizen(server, node, b_name, b_key)
    gets = [
        f"/portal/me/applications/{app_id}",
        f"/portal/me/licences/{licence.id}",
        f"/portal/me/notices/{notice.id}",
    ]
    for path in gets:
        resp = b.get(path, headers=HTML, follow_redirects=False)
        assert resp.status_code == 404, path
        assert a_name not in resp.text
    posts = [
        (f"/portal/me/applications/{app_id}/prefill", {}, None),
        (f"/portal/me/applications/{app_id}/submit", {"note": "x"}, None),
        (f"/portal/me/applications/{app_id}/rate", {"grade": "5"}, None),
        (
            f"/portal/me/applications/{app_id}/materials/{material.id}",
            {},
            {"file": ("x.pdf", b"%PDF", "application/pdf")},
        ),
    ]
    for path, data, files in posts:
        resp = b.post(path, data=data, files=files, headers=HTML)
        assert resp.status_code == 404, path
    db.refresh(material)
    assert material.state == "missing"
    assert db.execute(select(Rating).where(Rating.application_id == app_id)).first() is None
    db.refresh(notice)
    assert notice.read_at is None
    # an id that exists nowhere answers the same
    assert b.get("/portal/me/applications/999999999", headers=HTML).status_code == 404
    a.close()
    b.close()
