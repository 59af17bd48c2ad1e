"""An Excel bomb uploaded as a data source: refused from its sheet XML size before calamine builds it."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from tests.integration.helpers import upload, xlsx_bytes
from zhixian.integration.models import Source

CELL = b'<c t="inlineStr"><is><t>x</t></is></c>'


def bomb_xlsx(sheet_bytes: int) -> bytes:
    """A real workbook whose first sheet is replaced by sheet_bytes of repeated cells (compresses ~1000×)."""
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([]))) as src:
        members = {n: src.read(n) for n in src.namelist()}
    members["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        + CELL * (sheet_bytes // len(CELL))
        + b"</row></sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_excel_with_a_huge_sheet_is_refused_naming_the_limit(as_user, db):
    before = db.execute(select(func.count()).select_from(Source)).scalar_one()
    bomb = bomb_xlsx(400 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024
    resp = upload(as_user("gaj_officer"), db, bomb, "people.xlsx")
    assert resp.status_code == 422, resp.text
    message = resp.json()["errors"][0]["message"]
    assert "sheet1.xml" in message
    assert "MB" in message or "压缩比" in message  # the limit is named
    assert db.execute(select(func.count()).select_from(Source)).scalar_one() == before
