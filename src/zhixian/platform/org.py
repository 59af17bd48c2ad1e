"""Administrative divisions and departments, and their Excel/JSON exchange.

An import is all or nothing: every row is validated first, errors name the sheet and row, and
only a clean workbook touches the database. Re-importing the same content changes nothing.
"""

from __future__ import annotations

import io
from typing import Any

from pydantic import BaseModel, ValidationError
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.errors import Conflict, FieldError, Invalid, NotFound, pydantic_errors_to_chinese
from zhixian.exports import Sheet, plain_cell, xlsx_bytes
from zhixian.platform import audit, uploads
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department, Division
from zhixian.platform.schemas import DepartmentIn, DivisionIn, ImportReport, OrgBundle

DIVISION_COLUMNS = [
    ("code", "统计用区划代码"),
    ("name", "名称"),
    ("level", "层级"),
    ("kind", "类型"),
    ("parent_code", "上级代码"),
]
DEPARTMENT_COLUMNS = [
    ("code", "部门代码"),
    ("name", "部门名称"),
    ("short_name", "简称"),
    ("kind", "类别"),
    ("parent_code", "上级部门代码"),
    ("division_code", "所在区划代码"),
]
LEVEL_LABELS = {"county": "县", "town": "乡镇街道", "village": "村社区"}
_LEVEL_FROM_LABEL = {v: k for k, v in LEVEL_LABELS.items()}


# --- reading


def county(session: Session) -> Division | None:
    return session.execute(select(Division).where(Division.level == "county")).scalar_one_or_none()


def list_divisions(session: Session, *, parent_code: str | None = None, level: str | None = None) -> list[Division]:
    query = select(Division).order_by(Division.code)
    if parent_code:
        query = query.where(Division.parent_code == parent_code)
    if level:
        query = query.where(Division.level == level)
    return list(session.execute(query).scalars())


def list_departments(session: Session, *, include_inactive: bool = False) -> list[Department]:
    query = select(Department).order_by(Department.path, Department.id)
    if not include_inactive:
        query = query.where(Department.active.is_(True))
    return list(session.execute(query).scalars())


def get_department(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("部门不存在")
    return dept


def department_by_code(session: Session, code: str) -> Department | None:
    return session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()


# --- writing


def _set_path(session: Session, dept: Department) -> None:
    parent = session.get(Department, dept.parent_id) if dept.parent_id else None
    if parent is not None and f"/{dept.id}/" in parent.path:
        raise Conflict(f"部门“{dept.name}”不能挂在自己的下级部门之下")
    old = dept.path
    dept.path = f"{parent.path if parent else '/'}{dept.id}/"
    if old not in ("/", dept.path):  # move the subtree along
        for child in session.execute(select(Department).where(Department.path.startswith(old))).scalars():
            if child.id != dept.id:
                child.path = dept.path + child.path[len(old) :]


def upsert_department(session: Session, *, data: DepartmentIn, actor: Actor) -> Department:
    actor.require("platform.org.manage")
    parent_id = None
    if data.parent_code:
        parent = department_by_code(session, data.parent_code)
        if parent is None:
            raise Invalid(f"上级部门代码 {data.parent_code} 不存在", field="parent_code")
        parent_id = parent.id
    if data.division_code and session.get(Division, data.division_code) is None:
        raise Invalid(f"区划代码 {data.division_code} 不存在", field="division_code")
    dept = department_by_code(session, data.code)
    created = dept is None
    if dept is None:
        dept = Department(code=data.code, path="/")
        session.add(dept)
    dept.name, dept.short_name, dept.kind = data.name, data.short_name, data.kind
    dept.division_code = data.division_code
    dept.parent_id = parent_id
    session.flush()
    _set_path(session, dept)
    audit.record(
        session,
        actor.audit,
        action="department_create" if created else "department_update",
        object_type="department",
        object_id=dept.id,
        detail=data.model_dump(),
    )
    session.flush()
    return dept


# --- exchange


def export_bundle(session: Session) -> OrgBundle:
    codes = {d.id: d.code for d in list_departments(session, include_inactive=True)}
    return OrgBundle(
        divisions=[DivisionIn.model_validate(d, from_attributes=True) for d in list_divisions(session)],
        departments=[
            DepartmentIn(
                code=d.code,
                name=d.name,
                short_name=d.short_name,
                kind=d.kind,
                parent_code=codes.get(d.parent_id) if d.parent_id else None,
                division_code=d.division_code,
            )
            for d in list_departments(session, include_inactive=True)
        ],
    )


def export_excel(session: Session) -> bytes:
    bundle = export_bundle(session)
    divisions = ([d.code, d.name, LEVEL_LABELS[d.level], d.kind, d.parent_code or ""] for d in bundle.divisions)
    departments = (
        [p.code, p.name, p.short_name, p.kind, p.parent_code or "", p.division_code or ""] for p in bundle.departments
    )
    return xlsx_bytes(
        [
            Sheet("行政区划", [label for _, label in DIVISION_COLUMNS], divisions, width=22, freeze_header=True),
            Sheet("部门", [label for _, label in DEPARTMENT_COLUMNS], departments, width=22, freeze_header=True),
        ]
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # codes typed into Excel as numbers
    return plain_cell(str(value).strip())  # our own export's formula guard is not part of the name


def _rows(workbook: CalamineWorkbook, sheet: str, columns: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    if sheet not in workbook.sheet_names:
        raise Invalid(f"工作簿缺少工作表“{sheet}”", field=sheet)
    data = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if not data:
        return []
    header = [_cell(h) for h in data[0]]
    index: dict[str, int] = {}
    for key, label in columns:
        if label not in header:
            raise Invalid(f"工作表“{sheet}”缺少列“{label}”", field=label)
        index[key] = header.index(label)
    out = []
    for number, row in enumerate(data[1:], start=2):
        values = {key: _cell(row[i]) if i < len(row) else "" for key, i in index.items()}
        if any(values.values()):
            out.append((number, values))
    return out


def parse_excel(content: bytes) -> OrgBundle:
    uploads.check_xlsx(content, uploads.UploadLimits())
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field="file") from exc
    errors: list[FieldError] = []
    divisions: list[DivisionIn] = []
    departments: list[DepartmentIn] = []
    for number, values in _rows(workbook, "行政区划", DIVISION_COLUMNS):
        values["level"] = _LEVEL_FROM_LABEL.get(values["level"], values["level"])
        _collect(DivisionIn, values, number, "行政区划", DIVISION_COLUMNS, divisions, errors)
    for number, values in _rows(workbook, "部门", DEPARTMENT_COLUMNS):
        _collect(DepartmentIn, values, number, "部门", DEPARTMENT_COLUMNS, departments, errors)
    if errors:
        raise Invalid(f"工作簿有 {len(errors)} 处错误，未导入任何数据", errors[:200])
    return OrgBundle(divisions=divisions, departments=departments)


def _collect(
    model: type[BaseModel],
    values: dict[str, str],
    number: int,
    sheet: str,
    columns: list[tuple[str, str]],
    out: list[Any],
    errors: list[FieldError],
) -> None:
    clean = {k: (v or None) if k in ("parent_code", "division_code") else v for k, v in values.items()}
    try:
        out.append(model.model_validate(clean))
    except ValidationError as exc:
        labels = dict(columns)
        for err in pydantic_errors_to_chinese(list(exc.errors())):
            label = labels.get(err.field or "", err.field)
            errors.append(FieldError(f"{sheet}第 {number} 行“{label}”：{err.message}", field=err.field, row=number))


def import_bundle(session: Session, *, bundle: OrgBundle, actor: Actor) -> ImportReport:
    """Upsert divisions then departments; checks every reference before writing anything."""
    actor.require("platform.org.manage")
    errors = _check_references(session, bundle)
    if errors:
        raise Invalid(f"有 {len(errors)} 处引用错误，未导入任何数据", errors[:200])
    created = updated = unchanged = 0
    existing = {d.code: d for d in list_divisions(session)}
    # parents first: sort by level so a village never precedes its town
    order = {"county": 0, "town": 1, "village": 2}
    for row in sorted(bundle.divisions, key=lambda d: order[d.level]):
        div = existing.get(row.code)
        if div is None:
            session.add(Division(**row.model_dump()))
            created += 1
        elif (div.name, div.level, div.kind, div.parent_code) != (row.name, row.level, row.kind, row.parent_code):
            div.name, div.level, div.kind, div.parent_code = row.name, row.level, row.kind, row.parent_code
            updated += 1
        else:
            unchanged += 1
        session.flush()
    by_code = {d.code: d for d in list_departments(session, include_inactive=True)}
    pending = list(bundle.departments)
    while pending:  # parents before children, whatever the file's order
        ready = [p for p in pending if not p.parent_code or p.parent_code in by_code]
        if not ready:
            raise Invalid(
                "部门的上级关系存在循环", [FieldError(f"部门 {p.code}", field="parent_code") for p in pending]
            )
        for dept_row in ready:
            dept = by_code.get(dept_row.code)
            parent = by_code[dept_row.parent_code] if dept_row.parent_code else None
            values = (
                dept_row.name,
                dept_row.short_name,
                dept_row.kind,
                parent.id if parent else None,
                dept_row.division_code,
            )
            if dept is None:
                dept = Department(code=dept_row.code, path="/")
                session.add(dept)
                created += 1
            elif (dept.name, dept.short_name, dept.kind, dept.parent_id, dept.division_code) == values:
                unchanged += 1
                continue
            else:
                updated += 1
            dept.name, dept.short_name, dept.kind, dept.parent_id, dept.division_code = values
            session.flush()
            _set_path(session, dept)
            by_code[dept_row.code] = dept
        pending = [p for p in pending if p not in ready]
    audit.record(
        session,
        actor.audit,
        action="org_import",
        object_type="org",
        detail={"created": created, "updated": updated, "unchanged": unchanged},
    )
    session.flush()
    return ImportReport(created=created, updated=updated, unchanged=unchanged)


def _check_references(session: Session, bundle: OrgBundle) -> list[FieldError]:
    return _check_divisions(session, bundle) + _check_departments(session, bundle)


def _check_divisions(session: Session, bundle: OrgBundle) -> list[FieldError]:
    errors: list[FieldError] = []
    div_codes = {d.code for d in list_divisions(session)}
    seen: set[str] = set()
    for i, d in enumerate(bundle.divisions, start=1):
        if d.code in seen:
            errors.append(FieldError(f"行政区划第 {i} 条：代码 {d.code} 重复", field="code", row=i))
        seen.add(d.code)
    div_codes |= seen
    for i, d in enumerate(bundle.divisions, start=1):
        if d.level == "county":
            if d.parent_code is not None:
                errors.append(FieldError(f"行政区划第 {i} 条：县级区划不应有上级", field="parent_code", row=i))
            continue
        if not d.parent_code:
            errors.append(FieldError(f"行政区划第 {i} 条：缺少上级代码", field="parent_code", row=i))
        elif d.parent_code not in div_codes:
            errors.append(FieldError(f"行政区划第 {i} 条：上级代码 {d.parent_code} 不存在", field="parent_code", row=i))
        elif not d.code.startswith(d.parent_code[: 6 if d.level == "town" else 9]):
            errors.append(
                FieldError(f"行政区划第 {i} 条：代码 {d.code} 与上级 {d.parent_code} 不一致", field="code", row=i)
            )
    return errors


def _check_departments(session: Session, bundle: OrgBundle) -> list[FieldError]:
    errors: list[FieldError] = []
    div_codes = {d.code for d in list_divisions(session)} | {d.code for d in bundle.divisions}
    dept_codes = {d.code for d in list_departments(session, include_inactive=True)}
    seen: set[str] = set()
    for i, p in enumerate(bundle.departments, start=1):
        if p.code in seen:
            errors.append(FieldError(f"部门第 {i} 条：代码 {p.code} 重复", field="code", row=i))
        seen.add(p.code)
    dept_codes |= seen
    for i, p in enumerate(bundle.departments, start=1):
        if p.parent_code and p.parent_code not in dept_codes:
            errors.append(FieldError(f"部门第 {i} 条：上级部门 {p.parent_code} 不存在", field="parent_code", row=i))
        if p.parent_code == p.code:
            errors.append(FieldError(f"部门第 {i} 条：上级部门不能是自己", field="parent_code", row=i))
        if p.division_code and p.division_code not in div_codes:
            errors.append(FieldError(f"部门第 {i} 条：区划 {p.division_code} 不存在", field="division_code", row=i))
    return errors
