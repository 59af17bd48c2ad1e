"""The matter catalogue as a workbook in the layout provinces exchange (事项清单 + 申请材料 sheets).

Import is all or nothing: every bad row is reported by sheet, row number and column name, and then
nothing is imported — a half-loaded catalogue would promise citizens materials and limits nobody set.
"""

from __future__ import annotations

import io
from typing import Any

from pydantic import ValidationError
from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.errors import DomainError, FieldError, Invalid, pydantic_errors_to_chinese
from zhixian.exports import Sheet, plain_cell, xlsx_bytes
from zhixian.platform import audit, uploads
from zhixian.platform.actor import Actor
from zhixian.services.matters import service as matters
from zhixian.services.schemas import SOURCES, ImportResult, MatterIn

MATTER_SHEET, MATERIAL_SHEET = "事项清单", "申请材料"
MATTER_COLUMNS = [
    ("code", "实施编码"),
    ("name", "事项名称"),
    ("department_code", "实施部门代码"),
    ("kind", "事项类型"),
    ("level", "办理层级"),
    ("legal_basis", "设定依据"),
    ("conditions", "受理条件"),
    ("statutory_days", "法定办结时限（工作日）"),
    ("promised_days", "承诺办结时限（工作日）"),
    ("fee", "收费标准"),
    ("channels", "办理渠道"),
    ("online_depth", "网办深度"),
    ("faqs", "常见问题"),
]
MATERIAL_COLUMNS = [
    ("code", "实施编码"),
    ("name", "材料名称"),
    ("required", "是否必需"),
    ("source", "满足方式"),
    ("licence_type", "电子证照类型代码"),
    ("resource_code", "共享资源编码"),
    ("items", "共享信息项"),
    ("household", "含同户成员"),
    ("note", "备注"),
]
_SOURCE_FROM_LABEL = {v: k for k, v in SOURCES.items()}
_SEP = "、"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return plain_cell(str(value).strip())


def _rows(book: CalamineWorkbook, sheet: str, columns: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    if sheet not in book.sheet_names:
        raise Invalid(f"工作簿缺少工作表“{sheet}”", field="file")
    data = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if not data:
        return []
    header = [_cell(h) for h in data[0]]
    index: dict[str, int] = {}
    for key, label in columns:
        if label not in header:
            raise Invalid(f"工作表“{sheet}”缺少列“{label}”", field="file")
        index[key] = header.index(label)
    out = []
    for number, row in enumerate(data[1:], start=2):
        values = {key: _cell(row[i]) if i < len(row) else "" for key, i in index.items()}
        if any(values.values()):
            out.append((number, values))
    return out


def _faqs(text: str) -> list[dict[str, str]]:
    """常见问题 as lines "问：…｜答：…" (the separator may be | or ｜)."""
    out = []
    for line in text.splitlines():
        parts = line.replace("｜", "|").split("|", 1)
        if len(parts) == 2:
            out.append({"q": parts[0].removeprefix("问：").strip(), "a": parts[1].removeprefix("答：").strip()})
    return out


def _located(sheet: str, number: int, label: str, message: str, name: str) -> FieldError:
    return FieldError(f"{sheet}第 {number} 行“{label}”：{message}", field=name, row=number)


def parse(session: Session, content: bytes) -> tuple[list[tuple[int, MatterIn]], list[FieldError]]:
    """Rows as contracts, and every problem found (by sheet, row and column)."""
    uploads.check_xlsx(content, uploads.UploadLimits())
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field="file") from exc
    errors: list[FieldError] = []
    materials: dict[str, list[dict[str, Any]]] = {}
    mat_labels = dict(MATERIAL_COLUMNS)
    for number, v in _rows(book, MATERIAL_SHEET, MATERIAL_COLUMNS):
        source = _SOURCE_FROM_LABEL.get(v["source"] or "申请人提交")
        if source is None:
            errors.append(
                _located(MATERIAL_SHEET, number, mat_labels["source"], "应为申请人提交、电子证照或共享数据", "source")
            )
            continue
        resource_id = None
        if v["resource_code"]:
            resource = catalog_service.resource_by_code(session, v["resource_code"])
            if resource is None:
                errors.append(
                    _located(MATERIAL_SHEET, number, mat_labels["resource_code"], "目录中没有该资源", "resource_code")
                )
                continue
            resource_id = resource.id
        materials.setdefault(v["code"], []).append(
            {
                "name": v["name"],
                "required": v["required"] != "否",
                "source": source,
                "licence_type": v["licence_type"],
                "resource_id": resource_id,
                "items": [s for s in v["items"].split(_SEP) if s],
                "household": v["household"] == "是",
                "note": v["note"],
                "_row": number,
            }
        )
    out: list[tuple[int, MatterIn]] = []
    labels = dict(MATTER_COLUMNS)
    seen: dict[str, int] = {}
    for number, v in _rows(book, MATTER_SHEET, MATTER_COLUMNS):
        if v["code"] in seen:
            errors.append(_located(MATTER_SHEET, number, labels["code"], f"与第 {seen[v['code']]} 行重复", "code"))
            continue
        seen[v["code"]] = number
        raw: dict[str, Any] = {**v, "channels": [c for c in v["channels"].split(_SEP) if c], "faqs": _faqs(v["faqs"])}
        raw["materials"] = [{k: x for k, x in m.items() if k != "_row"} for m in materials.get(v["code"], [])]
        try:
            out.append((number, MatterIn.model_validate(raw)))
        except ValidationError as exc:
            for err in pydantic_errors_to_chinese(list(exc.errors())):
                name = (err.field or "").split(".")[0]
                if name == "materials":
                    rows = materials.get(v["code"], [])
                    parts = (err.field or "").split(".")
                    at = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows) else 0
                    key = parts[2] if len(parts) > 2 else "name"
                    row_no = rows[at]["_row"] if rows else number
                    errors.append(_located(MATERIAL_SHEET, row_no, mat_labels.get(key, key), err.message, key))
                else:
                    errors.append(_located(MATTER_SHEET, number, labels.get(name, name or "整行"), err.message, name))
    orphans = sorted(set(materials) - set(seen))
    for code in orphans:
        first = materials[code][0]["_row"]
        errors.append(_located(MATERIAL_SHEET, first, mat_labels["code"], f"事项清单中没有实施编码 {code}", "code"))
    return out, errors


def import_matters(session: Session, *, actor: Actor, content: bytes) -> ImportResult:
    """All rows or none: any bad row stops the import and every problem is reported."""
    actor.require(matters.MANAGE)
    rows, errors = parse(session, content)
    depts = matters.Departments(session)
    for number, data in rows:
        for e in matters.check(session, data, depts, actor, row=number):
            errors.append(
                FieldError(
                    f"{MATTER_SHEET}第 {number} 行：{e.message.removeprefix(f'第 {number} 行')}",
                    field=e.field,
                    row=number,
                )
            )
    if errors:
        raise Invalid(f"工作簿有 {len(errors)} 处错误，未导入任何事项", errors[:300])
    if not rows:
        raise Invalid("工作簿中没有事项", field="file")
    created = updated = 0
    for _, data in rows:
        _, new = matters.apply(session, data, depts, actor.username)
        created, updated = created + int(new), updated + int(not new)
    audit.record(
        session,
        actor.audit,
        action="services.matter_import",
        object_type="services_matter",
        detail={"created": created, "updated": updated, "rows": len(rows)},
    )
    return ImportResult(created=created, updated=updated, rows=len(rows))


def export_matters(session: Session, *, actor: Actor, flt: matters.MatterFilter) -> bytes:
    """The (filtered) catalogue in the import layout, so an exported workbook imports back unchanged."""
    rows, _ = matters.list_matters(session, actor=actor, flt=flt, limit=100_000)
    depts = matters.Departments(session)
    codes = {r.id: r.code for r in rows}
    resource_codes: dict[int, str] = {}
    matter_rows, material_rows = [], []
    for r in rows:
        d = matters.matter_input(r, depts)
        d["channels"] = _SEP.join(d["channels"])
        d["faqs"] = "\n".join(f"问：{f['q']}|答：{f['a']}" for f in d["faqs"])
        matter_rows.append([d[k] for k, _ in MATTER_COLUMNS])
        for m in r.materials:
            if m.resource_id and m.resource_id not in resource_codes:
                try:
                    resource_codes[m.resource_id] = catalog_service.loadable_resource(session, m.resource_id).code
                except DomainError:
                    resource_codes[m.resource_id] = ""
            material_rows.append(
                [
                    codes[r.id],
                    m.name,
                    "是" if m.required else "否",
                    SOURCES.get(m.source, m.source),
                    m.licence_type,
                    resource_codes.get(m.resource_id or 0, ""),
                    _SEP.join(m.items),
                    "是" if m.household else "",
                    m.note,
                ]
            )
    audit.record(
        session,
        actor.audit,
        action="services.matter_export",
        object_type="services_matter",
        detail={"matters": len(rows)},
    )
    return xlsx_bytes(
        [
            Sheet(
                MATTER_SHEET,
                [label for _, label in MATTER_COLUMNS],
                matter_rows,
                width=18,
                bold_header=True,
                freeze_header=True,
            ),
            Sheet(
                MATERIAL_SHEET,
                [label for _, label in MATERIAL_COLUMNS],
                material_rows,
                width=18,
                bold_header=True,
                freeze_header=True,
            ),
        ]
    )
