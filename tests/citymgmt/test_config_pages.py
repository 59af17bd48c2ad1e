"""应用维护 pages: class editing with messages beside fields, grid import with the per-feature report."""

from __future__ import annotations

import json

from tests.citymgmt.test_base_data import FAR, community, feature, square
from zhixian.citymgmt.config.parameters import key_fingerprint

HTML = {"accept": "text/html"}


def form_for(**changes: str) -> dict[str, str]:
    base = {
        "name": "暴露垃圾",
        "filing_standard": "道路、绿地等处有暴露垃圾",
        "closing_standard": "垃圾已清除",
        "limit_value": "2",
        "limit_unit": "hours",
        "urgent_value": "1",
        "urgent_unit": "hours",
        "department_code": "zfj",
        "active": "on",
    }
    return {**base, **changes}


def test_class_edit_page_shows_errors_beside_fields_and_saves(as_user) -> None:
    lead = as_user("shiftlead")
    page = lead.get("/citymgmt/config/classes/S0102", headers=HTML)
    assert page.status_code == 200
    assert 'name="limit_value"' in page.text
    bad = lead.post(
        "/citymgmt/config/classes/S0102",
        data=form_for(name="", limit_value="很多", department_code="nosuch"),
        headers=HTML,
    )
    assert bad.status_code == 422
    assert 'id="f-limit_value-error"' in bad.text
    assert 'id="f-name-error"' in bad.text
    assert "很多" in bad.text  # what was typed is kept
    unknown_dept = lead.post("/citymgmt/config/classes/S0102", data=form_for(department_code="nosuch"), headers=HTML)
    assert unknown_dept.status_code == 422
    assert 'id="f-department_code-error"' in unknown_dept.text
    assert "部门代码 nosuch 不存在" in unknown_dept.text
    ok = lead.post(
        "/citymgmt/config/classes/S0102",
        data=form_for(limit_value="3", limit_unit="days"),
        headers=HTML,
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/citymgmt/config?saved=S0102"
    row = next(c for c in lead.get("/api/v1/citymgmt/classes").json() if c["code"] == "S0102")
    assert (row["limit_value"], row["limit_unit"]) == (3, "days")
    listing = lead.get(ok.headers["location"], headers=HTML).text
    assert "分类 S0102 已保存" in listing
    assert "3.0 工作日" in listing


def test_config_pages_need_the_config_permission(as_user) -> None:
    acceptor = as_user("acceptor")
    assert acceptor.get("/citymgmt/config/classes/S0102", headers=HTML).status_code == 403
    assert acceptor.post("/citymgmt/config/classes/S0102", data=form_for(), headers=HTML).status_code == 403
    assert acceptor.get("/citymgmt/config/geo", headers=HTML).status_code == 403


def test_grid_import_page_shows_the_per_feature_report(as_user, db) -> None:
    lead = as_user("shiftlead")
    assert lead.get("/citymgmt/config/geo", headers=HTML).status_code == 200
    lon, lat = FAR
    comm = community(db)
    bowtie = [[lon, lat], [lon + 0.002, lat + 0.002], [lon + 0.002, lat], [lon, lat + 0.002], [lon, lat]]
    fc = {
        "type": "FeatureCollection",
        "features": [feature(f"{comm}921", bowtie), feature("330421", square(lon + 0.01, lat))],
    }
    resp = lead.post(
        "/citymgmt/config/geo",
        data={"kind": "grid"},
        files={"file": ("g.geojson", json.dumps(fc).encode(), "application/geo+json")},
        headers=HTML,
    )
    assert resp.status_code == 200, resp.text[:500]
    assert "第 1 个要素的多边形无效，已自动修复" in resp.text
    assert "<td>2</td><td>code</td><td>网格编码必须是 15 位数字" in resp.text
    broken = lead.post(
        "/citymgmt/config/geo",
        data={"kind": "grid"},
        files={"file": ("g.geojson", b"{not json", "application/json")},
        headers=HTML,
    )
    assert broken.status_code == 422
    assert "不是有效的 GeoJSON" in broken.text


def _parameters(**changes: str) -> dict[str, str]:
    base = {
        "yellow_percent": "25",
        "duplicate_distance_m": "80",
        "duplicate_hours": "12",
        "photo_max_mb": "5",
        "filing_limit_hours": "1",
        "verify_limit_hours": "1.5",
        "check_limit_hours": "2",
        "open311_reports_per_hour": "30",
        "w_ontime_close_rate": "0.6",
        "w_close_rate": "0.2",
        "w_no_rework_rate": "0.2",
        "open311_api_keys_add": "county-app-2026\n  wechat-mini-prog  \n",
        "open311_public_sources": ["open311"],
    }
    return {**base, **changes}


def test_run_parameters_form_saves_in_the_centres_units_and_audits(as_user, db) -> None:
    from sqlalchemy import select

    from zhixian.platform.models import AuditRecord

    lead = as_user("shiftlead")
    page = lead.get("/citymgmt/config/parameters", headers=HTML)
    assert page.status_code == 200
    assert 'name="yellow_percent" type="text" value="20"' in page.text  # 0.2 shown as 20 %
    assert 'name="photo_max_mb" type="text" value="5"' in page.text
    ok = lead.post("/citymgmt/config/parameters", data=_parameters(), headers=HTML, follow_redirects=False)
    assert ok.status_code == 303, ok.text[:500]
    cfg = lead.get("/api/v1/citymgmt/config").json()
    assert cfg["yellow_ratio"] == 0.25
    assert cfg["duplicate_distance_m"] == 80
    assert cfg["verify_limit_hours"] == 1.5
    assert cfg["photo_max_bytes"] == 5 * 1024 * 1024
    assert cfg["open311_reports_per_hour"] == 30
    assert cfg["weights"] == {"ontime_close_rate": 0.6, "close_rate": 0.2, "no_rework_rate": 0.2}
    assert [k["fingerprint"] for k in cfg["open311_api_keys"]] == [
        key_fingerprint("county-app-2026"),
        key_fingerprint("wechat-mini-prog"),
    ]
    assert "运行参数已保存" in lead.get(ok.headers["location"], headers=HTML).text
    audited = db.execute(select(AuditRecord).where(AuditRecord.action == "citymgmt.config")).scalars().all()
    assert audited
    assert audited[-1].username == "shiftlead"
    overview = lead.get("/citymgmt/config", headers=HTML).text
    assert "剩余时限不足 25.0%" in overview


def test_run_parameters_form_refuses_bad_values_beside_their_fields_and_saves_nothing(as_user) -> None:
    lead = as_user("shiftlead")
    before = lead.get("/api/v1/citymgmt/config").json()
    bad = lead.post(
        "/citymgmt/config/parameters",
        data=_parameters(yellow_percent="很多", duplicate_distance_m="-5", open311_api_keys_add="short"),
        headers=HTML,
    )
    assert bad.status_code == 422
    for field in ("yellow_percent", "duplicate_distance_m", "open311_api_keys_add"):
        assert f'id="f-{field}-error"' in bad.text, field
    assert "很多" in bad.text  # what was typed is kept
    weights = lead.post("/citymgmt/config/parameters", data=_parameters(w_close_rate="0.5"), headers=HTML)
    assert weights.status_code == 422
    assert 'id="f-w_ontime_close_rate-error"' in weights.text
    assert "合计为 1" in weights.text
    assert lead.get("/api/v1/citymgmt/config").json() == before


def test_run_parameters_need_the_config_permission(as_user) -> None:
    acceptor = as_user("acceptor")
    assert acceptor.get("/citymgmt/config/parameters", headers=HTML).status_code == 403
    assert acceptor.post("/citymgmt/config/parameters", data=_parameters(), headers=HTML).status_code == 403
