"""Formula injection: every spreadsheet and CSV the platform serves neutralises text that could run as a formula.

The payloads go into each kind of exported object (department, division, user, case class, catalogue
resource and item, an audit record's source address from X-Forwarded-For); then every cell of every
export is read back over HTTP. A new export route that is not listed here, or a module that writes a
workbook or CSV without ``zhixian.exports``, fails the meta-tests below.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from zhixian.catalog.models import DataItem, Resource
from zhixian.citymgmt.models import CaseClass
from zhixian.clock import local_today
from zhixian.exports import FORMULA_START, Sheet, csv_text, plain_cell, safe_cell, xlsx_bytes
from zhixian.platform.models import Department, Division, User

PAYLOADS = ("=cmd|'/C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "＋1", "－1", "＠A1")
XFF = "=cmd|'/C calc'!A0"
SRC = Path(__file__).resolve().parents[1] / "src" / "zhixian"
# modules that write workbooks or CSV files without going through zhixian.exports, each with its reason
WRITERS_ALLOWED = {
    "exports.py": "the helper itself",
    "integration/demo.py": "writes the demo departments' source files, which must stay as their systems send them",
}

_YEAR = {"start": (local_today() - timedelta(days=365)).isoformat(), "end": local_today().isoformat()}
# (user, path, query, whether the payloads must appear in it); "{resource}" is a catalogue resource id
EXPORTS = (
    ("sysadmin", "/api/v1/org/export.xlsx", {}, True),
    ("shiftlead", "/api/v1/citymgmt/classes.xlsx", {}, True),
    ("leader", "/api/v1/citymgmt/evaluation/department.xlsx", _YEAR, True),
    ("leader", "/api/v1/citymgmt/evaluation/inspector.xlsx", _YEAR, True),
    ("leader", "/api/v1/citymgmt/evaluation/region.xlsx", _YEAR, True),
    ("auditor", "/api/v1/audit/export.csv", {}, True),
    ("datahub", "/api/v1/catalog/export.xlsx", {}, True),
    ("datahub", "/api/v1/catalog/template.xlsx", {}, False),
    ("datahub", "/integration/resources/{resource}/template.xlsx", {}, True),
)


def _cells(resp) -> list[tuple[str, object, str | None]]:
    """(where, value, openpyxl data type) of every cell of an .xlsx or .csv answer."""
    if "csv" in resp.headers["content-type"]:
        text = resp.content.decode("utf-8-sig")
        return [(f"r{n}", v, None) for n, row in enumerate(csv.reader(io.StringIO(text))) for v in row]
    wb = load_workbook(io.BytesIO(resp.content))
    return [(f"{ws.title}!{c.coordinate}", c.value, c.data_type) for ws in wb for row in ws.iter_rows() for c in row]


def _inject(db) -> int:
    """Payloads into every kind of exported text; returns a resource with items (for its template)."""
    for model, column in ((Department, Department.name), (Division, Division.name), (User, User.full_name)):
        pk = model.__mapper__.primary_key[0]
        for n, (key, name) in enumerate(db.execute(select(pk, column)).all()):
            db.execute(update(model).where(pk == key).values({column.key: PAYLOADS[n % len(PAYLOADS)] + name}))
    for n, code in enumerate(db.execute(select(CaseClass.code)).scalars()):
        db.execute(update(CaseClass).where(CaseClass.code == code).values(name=PAYLOADS[n % len(PAYLOADS)] + code))
    resource = db.execute(select(Resource).where(Resource.items.any()).order_by(Resource.id)).scalars().first()
    assert resource is not None
    resource.name = PAYLOADS[0] + resource.name
    for n, item in enumerate(db.execute(select(DataItem).where(DataItem.resource_id == resource.id)).scalars()):
        item.name = PAYLOADS[n % len(PAYLOADS)] + item.name
    db.flush()
    return resource.id


def test_every_export_neutralises_formula_text_in_every_cell(as_user, http, db) -> None:
    resource_id = _inject(db)
    # an audit record whose source address is the payload, as a trusted proxy (127.0.0.1) passes it on
    http.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"}, headers={"X-Forwarded-For": XFF})
    clients: dict[str, object] = {}
    for user, path, params, expects in EXPORTS:
        client = clients.get(user) or clients.setdefault(user, as_user(user))
        resp = client.get(path.format(resource=resource_id), params=params)
        assert resp.status_code == 200, (path, resp.text[:300])
        cells = _cells(resp)
        assert cells, path
        for where, value, dtype in cells:
            assert dtype != "f", (path, where, value)
            if isinstance(value, str):
                assert not value.startswith(FORMULA_START), (path, where, value)
        if expects:
            neutralised = [v for _, v, _ in cells if isinstance(v, str) and plain_cell(v) != v]
            assert neutralised, f"{path}: no payload reached this export, so the test proves nothing"
    audit_csv = clients["auditor"].get("/api/v1/audit/export.csv").content.decode("utf-8-sig")
    assert "'" + XFF in audit_csv


def test_every_export_route_is_checked_above(server) -> None:
    served = {
        route.path
        for route in server.app.routes
        if getattr(route, "methods", None) and "GET" in route.methods and re.search(r"\.(xlsx|xls|csv)$", route.path)
    }
    tested = {
        re.sub(r"/evaluation/\w+\.xlsx$", "/evaluation/{kind}.xlsx", path.replace("{resource}", "{resource_id}"))
        for _, path, _, _ in EXPORTS
    }
    assert served <= tested, f"export routes not covered by this test: {sorted(served - tested)}"


def test_every_workbook_or_csv_writer_goes_through_the_shared_helper() -> None:
    writer = re.compile(r"\bWorkbook\(|csv\.writer\(|csv\.DictWriter\(|from openpyxl import|import openpyxl")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel not in WRITERS_ALLOWED and writer.search(path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert not offenders, f"write spreadsheets/CSV with zhixian.exports (xlsx_bytes, csv_text): {offenders}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_helper_neutralises_and_reads_back_each_formula_start(payload) -> None:
    assert safe_cell(payload) == "'" + payload
    assert plain_cell(safe_cell(payload)) == payload
    assert safe_cell("普通文本") == "普通文本"
    assert safe_cell(-5) == -5  # numbers stay numbers
    assert plain_cell("'普通") == "'普通"  # a quote the user typed is kept
    assert list(csv.reader(io.StringIO(csv_text(["h"], [[payload]], bom=False))))[1] == ["'" + payload]
    wb = load_workbook(io.BytesIO(xlsx_bytes([Sheet("s", [payload], [[payload]])])))
    stored = "'" + payload.replace("\r", "\n")  # XML keeps a carriage return as a line feed
    assert [c.value for c in wb["s"]["A"]] == [stored] * 2
