"""Divisions and departments round-trip through Excel and JSON; a bad workbook changes nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.platform.models import Department, Division


def _counts(db: Session) -> tuple[int, int]:
    return (
        db.execute(select(func.count()).select_from(Division)).scalar_one(),
        db.execute(select(func.count()).select_from(Department)).scalar_one(),
    )


def test_excel_export_reimports_without_changes(as_user, db: Session) -> None:
    admin = as_user("sysadmin")
    exported = admin.get("/api/v1/org/export.xlsx")
    assert exported.status_code == 200
    book = load_workbook(io.BytesIO(exported.content))
    assert book.sheetnames == ["行政区划", "部门"]
    assert book["行政区划"]["A1"].value == "统计用区划代码"
    before = _counts(db)
    report = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", exported.content)}).json()
    assert report["created"] == 0
    assert report["updated"] == 0
    assert report["unchanged"] == sum(before)
    assert _counts(db) == before


def test_json_round_trip_and_idempotent_reimport(as_user, db: Session) -> None:
    admin = as_user("sysadmin")
    bundle = admin.get("/api/v1/org/export.json").json()
    bundle["departments"].append({"code": "newunit", "name": "县新设机构", "parent_code": "zfb"})
    first = admin.post("/api/v1/org/import", json=bundle).json()
    assert first["created"] == 1
    again = admin.post("/api/v1/org/import", json=bundle).json()
    assert again["created"] == again["updated"] == 0
    dept = db.execute(select(Department).where(Department.code == "newunit")).scalar_one()
    parent = db.execute(select(Department).where(Department.code == "zfb")).scalar_one()
    assert dept.parent_id == parent.id
    assert dept.path == f"{parent.path}{dept.id}/"


def _workbook(rows_div: list[list[object]], rows_dept: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "行政区划"
    ws.append(["统计用区划代码", "名称", "层级", "类型", "上级代码"])
    for r in rows_div:
        ws.append(r)
    ws2 = wb.create_sheet("部门")
    ws2.append(["部门代码", "部门名称", "简称", "类别", "上级部门代码", "所在区划代码"])
    for r in rows_dept:
        ws2.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_bad_rows_are_named_by_sheet_and_row_and_nothing_is_written(as_user, db: Session) -> None:
    admin = as_user("sysadmin")
    before = _counts(db)
    content = _workbook(
        [
            [330421001999, "新社区", "村社区", "社区", "330421001000"],  # good, code typed as a number
            ["33042100199", "短代码", "村社区", "社区", "330421001000"],  # 11 digits
            ["330421002998", "", "村社区", "社区", "330421002000"],
        ],  # missing name
        [["okdept", "县某局", "", "", "", ""], ["baddept", "县坏局", "", "", "nosuchparent", ""]],
    )
    resp = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", content)})
    assert resp.status_code == 422
    messages = [e["message"] for e in resp.json()["errors"]]
    assert any(m.startswith("行政区划第 3 行“统计用区划代码”") for m in messages), messages
    assert any(m.startswith("行政区划第 4 行“名称”") for m in messages), messages
    assert _counts(db) == before
    # once the field errors are fixed, the dangling reference is still caught before any write
    fixed = _workbook(
        [[330421001999, "新社区", "村社区", "社区", "330421001000"]],
        [["okdept", "县某局", "", "", "", ""], ["baddept", "县坏局", "", "", "nosuchparent", ""]],
    )
    resp = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", fixed)})
    assert resp.status_code == 422
    assert "nosuchparent" in resp.json()["errors"][0]["message"]
    assert _counts(db) == before


def test_files_that_are_not_workbooks_are_refused_clearly(as_user) -> None:
    admin = as_user("sysadmin")
    empty = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", b"")})
    assert empty.status_code == 422
    assert empty.json()["detail"] == "上传的文件是空的"
    junk = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", b"PK\x03\x04 not really")})
    assert junk.status_code == 422
    assert "不是有效的 Excel" in junk.json()["detail"]
    wrong_sheet = Workbook()
    buf = io.BytesIO()
    wrong_sheet.save(buf)
    resp = admin.post("/api/v1/org/import.xlsx", files={"file": ("org.xlsx", buf.getvalue())})
    assert resp.status_code == 422
    assert "缺少工作表" in resp.json()["detail"]


def test_department_cannot_become_its_own_descendant(as_user) -> None:
    admin = as_user("sysadmin")
    resp = admin.post("/api/v1/departments", json={"code": "gaj", "name": "县公安局", "parent_code": "gaj_jjdd"})
    assert resp.status_code == 409
    assert "下级部门" in resp.json()["detail"]
