"""The catalogue's pages as its users meet them: a long registry searched and paged, each system on
its own page, each resource as a readable sheet with what is known about its data, and no 修改 link
where the reader may not change the record."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

ROWS = re.compile(r"<tbody>(.*?)</tbody>", re.S)


def _rows(html: str) -> int:
    body = ROWS.search(html)
    return body.group(1).count("<tr>") if body else 0


def test_registry_pages_fifty_systems_at_a_time_and_searches(as_user: Any, db: Session) -> None:
    leader = as_user("leader")
    total = db.execute(text("SELECT count(*) FROM catalog_system")).scalar_one()
    assert total > 100  # the demo county registers over a hundred systems
    first = leader.get("/catalog/systems")
    assert first.status_code == 200
    assert _rows(first.text) == 50
    assert f"共 {total} 条，第 1/{(total + 49) // 50} 页" in first.text
    last = leader.get(f"/catalog/systems?page={(total + 49) // 50}")
    assert _rows(last.text) == total - 50 * ((total - 1) // 50)

    name, code = db.execute(text("SELECT name, code FROM catalog_system ORDER BY id DESC LIMIT 1")).one()
    found = leader.get("/catalog/systems", params={"q": code})
    assert _rows(found.text) == 1
    assert name in found.text
    by_word = leader.get("/catalog/systems", params={"q": name[-4:], "builder_level": "", "department_id": ""})
    assert by_word.status_code == 200  # empty filters mean 全部, not a 422
    assert 1 <= _rows(by_word.text) < total
    assert "下一页" not in leader.get("/catalog/systems", params={"q": "没有这样的系统"}).text


def test_a_system_name_opens_its_record_with_its_resources(as_user: Any, db: Session) -> None:
    leader = as_user("leader")
    system_id, name = db.execute(
        text("SELECT s.id, s.name FROM catalog_system s JOIN catalog_resource r ON r.system_id = s.id LIMIT 1")
    ).one()
    listed = leader.get("/catalog/systems", params={"q": name})
    assert f'<a href="/catalog/systems/{system_id}">{name}</a>' in listed.text
    page = leader.get(f"/catalog/systems/{system_id}")
    assert page.status_code == 200
    assert "本系统提供的目录资源" in page.text
    resource = db.execute(text("SELECT id, name FROM catalog_resource WHERE system_id = :s"), {"s": system_id}).first()
    assert f'href="/catalog/resources/{resource.id}"' in page.text
    assert leader.get("/catalog/systems/999999").status_code == 404


def test_resource_page_is_a_sheet_with_records_quality_sources_and_downloads(as_user: Any, db: Session) -> None:
    rid = db.execute(text("SELECT id FROM catalog_resource WHERE name = '人口基础信息'")).scalar_one()
    officer = as_user("gaj_officer")  # the providing department's data officer
    page = officer.get(f"/catalog/resources/{rid}").text
    for heading in ("基本信息", "共享与开放", "数据", "数据来源", "接口与下载", "信息项"):
        assert f"<h2>{heading}" in page
    assert re.search(r"<dt>记录数</dt><dd>[\d,]+ 条", page)
    assert "<dt>数据质量</dt>" in page
    assert "完整性" in page
    assert f'href="/integration/resources/{rid}/template.xlsx"' in page
    assert f'href="/api/v1/catalog/resources/{rid}"' in page
    sources = db.execute(text("SELECT id, name FROM integration_source WHERE resource_id = :r"), {"r": rid}).all()
    assert sources
    assert all(s.name in page for s in sources)
    assert f'href="/catalog/resources/{rid}/edit"' in page  # its own department's resource

    leader_page = as_user("leader").get(f"/catalog/resources/{rid}").text
    assert all(s.name in leader_page for s in sources)  # the leader sees where data comes from …
    assert 'href="/integration/sources/' not in leader_page  # … without links to pages the leader may not open
    assert "/edit" not in leader_page


def test_no_edit_link_on_another_departments_resource(as_user: Any, db: Session) -> None:
    other = db.execute(
        text(
            "SELECT r.id FROM catalog_resource r JOIN department d ON d.id = r.department_id "
            "WHERE d.code = 'scj' AND r.status = 'published' LIMIT 1"
        )
    ).scalar_one()
    officer = as_user("zjj_officer")
    page = officer.get(f"/catalog/resources/{other}")
    assert page.status_code == 200
    assert f"/catalog/resources/{other}/edit" not in page.text
    assert "提交审核" not in page.text
    assert officer.get(f"/catalog/resources/{other}/edit").status_code == 403  # the link was rightly hidden


def test_browse_pages_keep_the_filters(as_user: Any, db: Session) -> None:
    kind = db.execute(text("SELECT kind FROM catalog_resource GROUP BY kind ORDER BY count(*) DESC LIMIT 1")).scalar()
    total = db.execute(text("SELECT count(*) FROM catalog_resource WHERE kind = :k"), {"k": kind}).scalar_one()
    datahub = as_user("datahub")
    page = datahub.get("/catalog", params={"q": "", "kind": kind, "department_id": "", "page": 1})
    assert page.status_code == 200
    assert f"共 {total} 条" in page.text
    assert _rows(page.text) == min(total, 50)
    if total > 50:
        nxt = re.search(r'href="\?([^"]*page=2)"', page.text).group(1).replace("&amp;", "&")
        second = datahub.get("/catalog?" + nxt)
        assert _rows(second.text) == min(total - 50, 50)  # the same filter on the next page
