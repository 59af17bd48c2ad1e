"""Every page renders for the roles that use it, with the figures behind it."""

from __future__ import annotations

from sqlalchemy import select

from zhixian.catalog.models import Resource
from zhixian.integration.models import Source


def test_pages_render_for_officer_and_authority(as_user, db):
    person = db.execute(select(Resource).where(Resource.base_library == "人口")).scalar_one()
    source = db.execute(select(Source).order_by(Source.id)).scalars().first()
    for user in ("gaj_officer", "datahub"):
        client = as_user(user)
        client.headers["Accept"] = "text/html"
        for path in (
            "/catalog",
            "/catalog?q=人口",
            f"/catalog/resources/{person.id}",
            "/catalog/systems",
            "/catalog/new",
            "/integration",
            "/integration/quarantine",
            "/integration/conflicts",
            "/integration/quality",
            "/integration/lookup",
            f"/integration/resources/{person.id}/template.xlsx",
        ):
            resp = client.get(path)
            assert resp.status_code == 200, (user, path, resp.text[:300])
    hub = as_user("datahub")
    hub.headers["Accept"] = "text/html"
    page = hub.get(f"/integration/sources/{source.id}")
    assert page.status_code == 200
    assert "预览前" in page.text
    home = hub.get("/")
    assert "超期未更新的资源" in home.text
    assert "待处理的数据冲突" in home.text


def test_editor_form_refuses_grade_below_item_with_message(as_user, db):
    client = as_user("zjj_officer")
    client.headers["Accept"] = "text/html"
    resp = client.post(
        "/catalog/save",
        data={
            "csrf_token": client.headers["X-CSRF-Token"],
            "name": "工地信息",
            "category": "301001",
            "code": "301001/009100",
            "kind": "部门",
            "department_code": "zjj",
            "share_type": "无条件共享",
            "share_method": "接口",
            "open_type": "不予开放",
            "update_cycle": "每月",
            "grade": "一般",
            "sensitivity": "1",
            "key_field": "site",
            "items_text": "工地编号|site|字符串|20|无条件共享|一般|1||是\n负责人身份证|idn|字符串|18|有条件共享|重要|||否",
        },
    )
    assert resp.status_code == 422
    assert "就高从严" in resp.text
