"""The matter catalogue's workbook: bad rows reported by sheet, row and column, nothing imported on any error;
an exported workbook imports back unchanged; a department keeps only its own matters."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests.services.helpers import actor
from zhixian.errors import Invalid, NotPermitted
from zhixian.services.matters import excel
from zhixian.services.matters import service as matters
from zhixian.services.models import Matter
from zhixian.services.schemas import MatterIn


def _book(matter_rows: list[list[object]], material_rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = excel.MATTER_SHEET
    ws.append([label for _, label in excel.MATTER_COLUMNS])
    for r in matter_rows:
        ws.append(r)
    ws2 = wb.create_sheet(excel.MATERIAL_SHEET)
    ws2.append([label for _, label in excel.MATERIAL_COLUMNS])
    for r in material_rows:
        ws2.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(code: str, **kw: object) -> list[object]:
    base = {
        "code": code,
        "name": "测试事项",
        "department_code": "scj",
        "kind": "行政许可",
        "level": "县",
        "legal_basis": "《测试条例》第一条",
        "conditions": "",
        "statutory_days": 20,
        "promised_days": 5,
        "fee": "不收费",
        "channels": "窗口、网上",
        "online_depth": "全程网办",
        "faqs": "问：要带复印件吗？|答：不需要",
    }
    base.update(kw)
    return [base[k] for k, _ in excel.MATTER_COLUMNS]


def _count(db) -> int:
    return int(db.execute(select(func.count()).select_from(Matter)).scalar_one())


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_imported(db):
    before = _count(db)
    content = _book(
        [
            _row("330421XK90000001"),
            _row("330421XK90000002", promised_days=30),  # longer than the statutory limit
            _row("330421XK90000003", kind="行政乱收费"),
            _row("330421XK90000004", department_code="nosuch"),
            _row("330421XK90000001"),  # duplicate code
        ],
        [
            ["330421XK90000001", "营业执照", "是", "电子证照", "nosuch", "", "", "", ""],
            ["330421XK90000001", "申请表", "是", "传真", "", "", "", "", ""],
        ],
    )
    with pytest.raises(Invalid) as caught:
        excel.import_matters(db, actor=actor(db, "scj_officer"), content=content)
    messages = [e.message for e in caught.value.errors]
    rows = {e.row for e in caught.value.errors}
    assert "未导入任何事项" in caught.value.detail
    assert any(m.startswith("事项清单第 3 行") and "承诺办结时限不能长于法定办结时限" in m for m in messages)
    assert any(m.startswith("事项清单第 4 行“事项类型”") for m in messages)
    assert any("第 5 行" in m and "实施部门代码 nosuch 不存在" in m for m in messages)
    assert any(m.startswith("事项清单第 6 行“实施编码”") and "重复" in m for m in messages)
    assert any(m.startswith("申请材料第 3 行“满足方式”") for m in messages)
    assert any("电子证照类型 nosuch 不存在" in m for m in messages)
    assert {3, 4, 5, 6} <= rows
    assert _count(db) == before


def test_good_workbook_imports_and_export_imports_back_unchanged(db):
    content = _book(
        [_row("330421XK90000011"), _row("330421XK90000012", name="另一个事项", level="乡镇")],
        [
            ["330421XK90000011", "申请表", "是", "申请人提交", "", "", "", "", ""],
            ["330421XK90000011", "营业执照", "是", "电子证照", "yyzz", "", "", "", ""],
            ["330421XK90000011", "企业登记信息", "否", "共享数据", "", "102001/000001", "uscc、name", "", "按授权"],
        ],
    )
    officer = actor(db, "scj_officer")
    result = excel.import_matters(db, actor=officer, content=content)
    assert (result.created, result.updated, result.rows) == (2, 0, 2)
    row = db.execute(select(Matter).where(Matter.code == "330421XK90000011")).scalar_one()
    assert [(m.name, m.source, m.required) for m in row.materials] == [
        ("申请表", "upload", True),
        ("营业执照", "licence", True),
        ("企业登记信息", "shared", False),
    ]
    assert row.faqs == [{"q": "要带复印件吗？", "a": "不需要"}]
    exported = excel.export_matters(db, actor=officer, flt=matters.MatterFilter(q="330421XK9000001"))
    sheet = load_workbook(io.BytesIO(exported))[excel.MATTER_SHEET]
    assert sheet.max_row == 3
    again = excel.import_matters(db, actor=officer, content=exported)
    assert (again.created, again.updated) == (0, 2)


def test_a_department_keeps_only_its_own_matters(db):
    data = MatterIn.model_validate(
        {
            "code": "330421XK90000021",
            "name": "越权事项",
            "department_code": "gaj",
            "kind": "行政许可",
            "level": "县",
            "statutory_days": 5,
            "promised_days": 5,
        }
    )
    with pytest.raises(Invalid, match="只能维护本部门的事项"):
        matters.save_matter(db, actor=actor(db, "scj_officer"), data=data)
    with pytest.raises(NotPermitted):
        matters.save_matter(db, actor=actor(db, "window01"), data=data)
    saved = matters.save_matter(db, actor=actor(db, "datahub"), data=data)  # the data authority keeps all
    assert saved.department_id == actor(db, "gaj_officer").department_id


def test_the_demo_county_has_a_few_hundred_matters_with_shared_and_licence_materials(db):
    viewer = actor(db, "window01")
    _, total = matters.list_matters(db, actor=viewer, flt=matters.MatterFilter(), limit=0)
    _, shared = matters.list_matters(db, actor=viewer, flt=matters.MatterFilter(source="shared"), limit=0)
    _, licence = matters.list_matters(db, actor=viewer, flt=matters.MatterFilter(source="licence"), limit=0)
    assert total >= 300
    assert shared > 100
    assert licence > 50
