"""数字城管's refusals reach people in Chinese, once, by the field's label: the phone report's API answer, the
case page's workflow forms, the class Excel import and Open311 — never "4 validation errors for ClassIn"."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

from tests.citymgmt.conftest import jpeg
from tests.citymgmt.test_workflow_api import report

HTML = {"accept": "text/html"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_phone_report_with_empty_fields_names_each_field_once_in_chinese(as_user) -> None:
    inspector = as_user("inspector01")
    resp = inspector.post(
        "/api/v1/citymgmt/reports",
        data={"class_code": "", "lon": "", "lat": "", "crs": "WGS84"},
        files={"photo": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert resp.status_code == 422
    body = resp.json()
    assert {e["field"]: e["message"] for e in body["errors"]} == {"class_code": "必填", "lon": "必填", "lat": "必填"}
    assert body["detail"] == "问题类别：必填；经度：必填；纬度：必填"
    assert not re.search(r"[a-z_]{3,}", body["detail"])  # no field's code name


def test_phone_report_with_a_word_for_a_coordinate_says_which_one(as_user, spot) -> None:
    resp = report(as_user("inspector01"), spot, lon="东边")
    assert resp.status_code == 422
    assert resp.json()["detail"] == "经度：必须是数字"
    assert resp.json()["errors"] == [{"field": "lon", "message": "必须是数字"}]


def test_case_page_form_refused_comes_back_with_its_message_beside_the_field(as_user, spot) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    cid = report(inspector, spot).json()["id"]
    resp = acceptor.post(f"/citymgmt/cases/{cid}/act/reject", data={"note": ""}, headers=HTML)
    assert resp.status_code == 422
    assert "未能不予立案" in resp.text
    assert re.search(rf'id="c{cid}-reject-note"[^>]*aria-invalid="true"', resp.text)
    assert f'<div class="field-error" id="c{cid}-reject-note-error">请填写' in resp.text
    assert "note：" not in resp.text
    # the page is the case itself: the other forms are still there to use
    assert f'action="/citymgmt/cases/{cid}/act/file"' in resp.text
    ok = acceptor.post(f"/citymgmt/cases/{cid}/act/reject", data={"note": "已有物业负责"}, follow_redirects=False)
    assert ok.status_code == 303


def _class_book(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["代码", "名称", "立案标准", "结案标准", "时限", "时限单位(hours/days)", "紧急时限",
                  "紧急时限单位(hours/days)", "责任部门代码", "启用"])  # fmt: skip
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_class_import_lists_each_bad_cell_by_its_column_not_pydantics_summary(as_user) -> None:
    lead = as_user("shiftlead")
    content = _class_book(
        [
            ["S0102", "暴露垃圾", "有", "无", "很多", "hours", 1, "hours", "", "是"],
            ["S0103", "", "有", "无", 2, "weeks", 1, "hours", "", "是"],
        ]
    )
    resp = lead.post(
        "/citymgmt/config/classes-import",
        files={"file": ("c.xlsx", content, XLSX)},
        headers=HTML,
        follow_redirects=False,
    )
    assert resp.status_code == 422
    assert "validation error" not in resp.text
    assert "分类表有错误，未导入任何行" in resp.text
    assert "第 2 行“时限”：" in resp.text
    assert "第 3 行“名称”：" in resp.text
    assert "第 3 行“时限单位(hours/days)”：" in resp.text
    api = lead.post("/api/v1/citymgmt/classes/import", files={"file": ("c.xlsx", content, XLSX)})
    assert api.status_code == 422
    assert "validation error" not in api.text


def test_open311_refusal_names_the_georeport_parameter_in_chinese(http, spot) -> None:
    lon, lat, _ = spot
    resp = http.post(
        "/open311/v2/requests.json",
        data={"service_code": "S0102", "lat": str(lat), "long": str(lon), "description": "长" * 1001},
    )
    assert resp.status_code == 422
    described = [e["description"] for e in resp.json()]
    assert "validation error" not in " ".join(described)
    assert "description: 长度不能超过 1000 个字符" in described
