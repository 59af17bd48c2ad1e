"""Catalogue exchange: the county 目录编制 workbook, and JSON/XML for reporting up.

Two element sets are written and read: the current one of the 编制指南 and the older one some
provinces still use (标识符, 管理方式, 服务信息, 在线资源链接地址, 元数据维护方, 元数据版本).
Import validates everything before writing anything and is idempotent (upsert by 信息资源代码).
Exported cells that a spreadsheet would run as a formula are prefixed with ``'`` (``zhixian.exports``).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog import service
from zhixian.catalog.models import Resource
from zhixian.catalog.schemas import CatalogImportReport, ResourceIn
from zhixian.errors import FieldError, Invalid, pydantic_errors_to_chinese
from zhixian.exports import Sheet, plain_cell, xlsx_bytes
from zhixian.platform import uploads
from zhixian.platform.actor import Actor

ElementSet = Literal["modern", "legacy"]

RESOURCE_LABELS: dict[ElementSet, list[tuple[str, str]]] = {
    "modern": [
        ("code", "信息资源代码"),
        ("category", "信息资源分类"),
        ("name", "信息资源名称"),
        ("kind", "目录类型"),
        ("base_library", "基础信息资源类别"),
        ("department_code", "信息资源提供方代码"),
        ("system_code", "业务系统代码"),
        ("summary", "信息资源摘要"),
        ("format", "信息资源格式"),
        ("share_type", "共享类型"),
        ("share_condition", "共享条件"),
        ("share_method", "共享方式"),
        ("open_type", "开放类型"),
        ("open_condition", "开放条件"),
        ("update_cycle", "更新周期"),
        ("publish_date", "发布日期"),
        ("linked_codes", "关联资源代码"),
        ("classified", "涉密"),
        ("grade", "数据分级"),
        ("sensitivity", "敏感级别"),
        ("key_field", "主键信息项"),
        ("management_mode", "管理方式"),
        ("service_info", "服务信息"),
        ("online_url", "在线资源链接地址"),
        ("maintainer", "元数据维护方"),
        ("metadata_version", "元数据版本"),
    ],
}
_LEGACY_NAMES = {
    "code": "标识符",
    "name": "名称",
    "category": "分类",
    "summary": "摘要",
    "department_code": "提供方代码",
    "format": "格式",
}
RESOURCE_LABELS["legacy"] = [(f, _LEGACY_NAMES.get(f, label)) for f, label in RESOURCE_LABELS["modern"]]

ITEM_LABELS: list[tuple[str, str]] = [
    ("name", "信息项名称"),
    ("field_name", "字段名"),
    ("data_type", "数据类型"),
    ("length", "数据长度"),
    ("share_type", "共享类型"),
    ("sensitivity", "敏感级别"),
    ("grade", "数据分级"),
    ("rule", "校验规则"),
    ("required", "必填"),
    ("min_value", "最小值"),
    ("max_value", "最大值"),
    ("masking", "脱敏方式"),
]
_BOOL = {"classified", "required"}
_INT = {"sensitivity", "length"}
_FLOAT = {"min_value", "max_value"}
_OPTIONAL = {"system_code", "publish_date"}

ROOT = {"modern": "政务信息资源目录", "legacy": "政务信息资源目录元数据"}
RESOURCE_TAG = {"modern": "信息资源", "legacy": "元数据"}
SHEET_RESOURCES, SHEET_ITEMS = "信息资源", "信息项"


# --- values <-> text


def to_text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in _BOOL:
        return "是" if value else "否"
    if name == "linked_codes":
        return "；".join(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def from_text(name: str, text: str) -> Any:
    text = text.strip()
    if name in _BOOL:
        if text in ("是", "true", "True", "1", "Y", "y"):
            return True
        if text in ("", "否", "false", "False", "0", "N", "n"):
            return False
        return text  # left for validation to report
    if name == "linked_codes":
        return [c.strip() for c in text.replace(";", "；").replace("，", "；").split("；") if c.strip()]
    if text == "" and (name in _OPTIONAL or name in _INT or name in _FLOAT):
        return None
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date):
        return value.isoformat()[:10]
    return plain_cell(str(value))


# --- reading from the database


def export_inputs(session: Session, *, actor: Actor, status: str | None = None) -> list[ResourceIn]:
    actor.require("catalog.view")
    stmt = select(Resource).where(service.visible(actor)).options(selectinload(Resource.items)).order_by(Resource.code)
    if status:
        stmt = stmt.where(Resource.status == status)
    return [service.resource_input(session, r) for r in session.execute(stmt).scalars()]


# --- Excel


def to_excel(resources: Iterable[ResourceIn]) -> bytes:
    resources = list(resources)
    labels = RESOURCE_LABELS["modern"]
    return xlsx_bytes(
        [
            Sheet(
                SHEET_RESOURCES,
                [label for _, label in labels],
                ([to_text(f, getattr(res, f)) for f, _ in labels] for res in resources),
                width=18,
                bold_header=True,
                freeze_header=True,
            ),
            Sheet(
                SHEET_ITEMS,
                ["信息资源代码", "序号", *(label for _, label in ITEM_LABELS)],
                (
                    [res.code, seq, *(to_text(f, getattr(item, f)) for f, _ in ITEM_LABELS)]
                    for res in resources
                    for seq, item in enumerate(res.items, start=1)
                ),
                width=18,
                bold_header=True,
                freeze_header=True,
            ),
        ]
    )


def _sheet_rows(wb: CalamineWorkbook, sheet: str, labels: list[str]) -> list[tuple[int, dict[str, str]]]:
    if sheet not in wb.sheet_names:
        raise Invalid(f"工作簿缺少工作表“{sheet}”", field=sheet)
    data = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if not data:
        return []
    header = [_cell(h) for h in data[0]]
    missing = [label for label in labels if label not in header]
    if missing:
        raise Invalid(f"工作表“{sheet}”缺少列：{'、'.join(missing)}", field=sheet)
    index = {label: header.index(label) for label in labels}
    out = []
    for number, row in enumerate(data[1:], start=2):
        values = {label: _cell(row[i]) if i < len(row) else "" for label, i in index.items()}
        if any(values.values()):
            out.append((number, values))
    return out


def from_excel(content: bytes) -> list[ResourceIn]:
    uploads.check_xlsx(content, uploads.UploadLimits())
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field="file") from exc
    labels = RESOURCE_LABELS["modern"]
    res_rows = _sheet_rows(wb, SHEET_RESOURCES, [label for _, label in labels])
    item_rows = _sheet_rows(wb, SHEET_ITEMS, ["信息资源代码", "序号", *(label for _, label in ITEM_LABELS)])
    items: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    errors: list[FieldError] = []
    for number, values in item_rows:
        try:
            seq = int(float(values["序号"] or 0))
        except ValueError:
            errors.append(FieldError(f"{SHEET_ITEMS}第 {number} 行“序号”：必须是整数", row=number))
            continue
        item = {f: from_text(f, values[label]) for f, label in ITEM_LABELS}
        items.setdefault(values["信息资源代码"], []).append((seq, number, item))
    records = []
    for number, values in res_rows:
        record = {f: from_text(f, values[label]) for f, label in labels}
        record["items"] = [i for _, _, i in sorted(items.pop(values[labels[0][1]], []), key=lambda t: t[0])]
        records.append((number, record))
    for code, orphans in items.items():
        errors.append(
            FieldError(
                f"{SHEET_ITEMS}第 {orphans[0][1]} 行：信息资源代码 {code} 不在“{SHEET_RESOURCES}”中", row=orphans[0][1]
            )
        )
    return _validate(records, dict(labels), SHEET_RESOURCES + "第 {n} 行", errors)


def _validate(
    records: list[tuple[int, dict[str, Any]]], labels: dict[str, str], where: str, errors: list[FieldError]
) -> list[ResourceIn]:
    out: list[ResourceIn] = []
    for number, record in records:
        try:
            out.append(ResourceIn.model_validate(record))
        except ValidationError as exc:
            for err in pydantic_errors_to_chinese(list(exc.errors())):
                head = (err.field or "").split(".")[0]
                label = labels.get(head, "信息项" if head == "items" else err.field or "")
                where_label = f"“{label}”" if label else ""
                errors.append(
                    FieldError(f"{where.format(n=number)}{where_label}：{err.message}", field=err.field, row=number)
                )
    if errors:
        raise Invalid(f"文件有 {len(errors)} 处错误，未导入任何资源", errors[:200])
    return out


# --- JSON and XML


def to_json(resources: Iterable[ResourceIn], element_set: ElementSet = "modern") -> bytes:
    labels = RESOURCE_LABELS[element_set]
    doc = {
        "元素集": "目录编制指南" if element_set == "modern" else "旧版元数据",
        ROOT[element_set]: [
            {
                **{label: _json_value(getattr(r, f)) for f, label in labels},
                "信息项": [{label: _json_value(getattr(i, f)) for f, label in ITEM_LABELS} for i in r.items],
            }
            for r in resources
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def from_json(content: bytes) -> list[ResourceIn]:
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid("文件不是有效的 UTF-8 JSON", field="file") from exc
    element_set: ElementSet = "legacy" if isinstance(doc, dict) and ROOT["legacy"] in doc else "modern"
    entries = doc.get(ROOT[element_set]) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise Invalid(f"JSON 顶层应包含“{ROOT['modern']}”或“{ROOT['legacy']}”数组", field="file")
    labels = RESOURCE_LABELS[element_set]
    records = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise Invalid(f"第 {number} 条不是对象", field="file")
        record = {f: entry.get(label) for f, label in labels}
        record["items"] = [
            {f: i.get(label) for f, label in ITEM_LABELS} for i in entry.get("信息项") or [] if isinstance(i, dict)
        ]
        records.append((number, record))
    return _validate(records, dict(labels), "第 {n} 条资源", [])


def to_xml(resources: Iterable[ResourceIn], element_set: ElementSet = "modern") -> bytes:
    root = ET.Element(ROOT[element_set], {"版本": "1.0" if element_set == "legacy" else "2.0"})
    for r in resources:
        node = ET.SubElement(root, RESOURCE_TAG[element_set])
        for f, label in RESOURCE_LABELS[element_set]:
            ET.SubElement(node, label).text = to_text(f, getattr(r, f))
        items = ET.SubElement(node, "信息项信息")
        for i in r.items:
            item = ET.SubElement(items, "信息项")
            for f, label in ITEM_LABELS:
                ET.SubElement(item, label).text = to_text(f, getattr(i, f))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def from_xml(content: bytes) -> list[ResourceIn]:
    if b"<!DOCTYPE" in content[:2000] or b"<!ENTITY" in content:
        raise Invalid("XML 不得包含 DOCTYPE 或实体声明", field="file")  # no entity expansion attacks
    try:
        root = ET.fromstring(content)  # noqa: S314 - DOCTYPE/ENTITY refused above; expat fetches nothing
    except ET.ParseError as exc:
        raise Invalid(f"XML 格式错误：{exc}", field="file") from exc
    element_set: ElementSet = "legacy" if root.tag == ROOT["legacy"] else "modern"
    if root.tag != ROOT[element_set]:
        raise Invalid(f"XML 根元素应为“{ROOT['modern']}”或“{ROOT['legacy']}”", field="file")
    labels = RESOURCE_LABELS[element_set]
    records = []
    for number, node in enumerate(root.findall(RESOURCE_TAG[element_set]), start=1):
        record: dict[str, Any] = {f: from_text(f, node.findtext(label) or "") for f, label in labels}
        record["items"] = [
            {f: from_text(f, item.findtext(label) or "") for f, label in ITEM_LABELS}
            for item in node.findall("信息项信息/信息项")
        ]
        records.append((number, record))
    return _validate(records, dict(labels), "第 {n} 条资源", [])


# --- writing


def import_resources(session: Session, *, actor: Actor, resources: list[ResourceIn]) -> CatalogImportReport:
    """All-or-nothing upsert by code: every entry is checked (grade, department) before any write."""
    actor.require("catalog.edit")
    errors: list[FieldError] = []
    codes = [r.code for r in resources]
    dupes = {c for c in codes if codes.count(c) > 1}
    for code in sorted(dupes):
        errors.append(FieldError(f"信息资源代码 {code} 在文件中出现多次", field="code"))
    for number, res in enumerate(resources, start=1):
        problem = service.grade_problem(res)
        if problem:
            errors.append(FieldError(f"第 {number} 条（{res.code}）：{problem.message}", field="grade", row=number))
    if errors:
        raise Invalid(f"文件有 {len(errors)} 处错误，未导入任何资源", errors[:200])
    created = updated = unchanged = 0
    for res in resources:
        existing = service.resource_by_code(session, res.code)
        if existing is None:
            service.save_resource(session, actor=actor, data=res)
            created += 1
        elif service.resource_input(session, existing).model_dump() == res.model_dump():
            unchanged += 1
        else:
            service.save_resource(session, actor=actor, data=res, resource_id=existing.id)
            updated += 1
    return CatalogImportReport(created=created, updated=updated, unchanged=unchanged)


def parse(content: bytes, filename: str) -> list[ResourceIn]:
    if not content:
        raise Invalid("文件为空（0 字节）", field="file")
    name = filename.lower()
    if name.endswith((".xlsx", ".xls")):
        return from_excel(content)
    if name.endswith(".json"):
        return from_json(content)
    if name.endswith(".xml"):
        return from_xml(content)
    raise Invalid("只支持 .xlsx/.xls、.json、.xml 文件", field="file")
