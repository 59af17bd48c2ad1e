"""政务服务事项清单: the county's matters, open to every signed-in user, kept by each department (or the
data authority for all) through a form, the API or a workbook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog import service as catalog_service
from zhixian.clock import utcnow
from zhixian.errors import DomainError, FieldError, Invalid, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.services.models import LicenceType, Matter, MatterMaterial
from zhixian.services.schemas import MaterialRead, MatterIn, MatterRead

VIEW, MANAGE = "services.view", "services.catalog"


@dataclass(frozen=True)
class MatterFilter:
    """One list of matters: the catalogue page's filters, and every figure that opens a part of it."""

    q: str = ""
    kind: str = ""
    level: str = ""
    department_id: int | None = None
    source: str = ""  # matters with at least one material satisfied this way
    instant: bool = False  # 即办件 (see INSTANT_DAYS)
    compressed: bool = False  # promised limit shorter than the statutory one
    mine: bool = False  # the viewer's own department and those below it
    material: str = ""  # matters asking for a material of this name (satisfied the ``source`` way, if given)

    def query_string(self) -> str:
        pairs = [(k, "1" if v is True else v) for k, v in vars(self).items() if v not in ("", None, False)]
        return urlencode(pairs)


# 即办件: promised within one working day (当场或次日办结), or marked 即办件 as its 网办深度
INSTANT_DAYS = 1


class Departments:
    """Departments by id and code, loaded once per page or import."""

    def __init__(self, session: Session) -> None:
        rows = platform_service.list_departments(session)
        self.by_code = {d.code: d for d in rows}
        self.by_id = {d.id: d for d in rows}

    def name(self, dept_id: int | None) -> str:
        dept = self.by_id.get(dept_id or 0)
        return dept.name if dept else ""

    def path(self, dept_id: int) -> str:
        dept = self.by_id.get(dept_id)
        return dept.path if dept else "/"


def conditions(flt: MatterFilter, actor: Actor) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [Matter.status == "active"]
    if flt.instant:
        out.append(or_(Matter.promised_days <= INSTANT_DAYS, Matter.online_depth == "即办件"))
    if flt.compressed:
        out.append(Matter.promised_days < Matter.statutory_days)
    if flt.mine:
        out.append(actor.department_filter(Matter.department_path))
    if flt.q:
        like = f"%{flt.q.strip()}%"
        out.append(or_(Matter.name.like(like), Matter.code.like(like)))
    if flt.kind:
        out.append(Matter.kind == flt.kind)
    if flt.level:
        out.append(Matter.level == flt.level)
    if flt.department_id:
        out.append(Matter.department_id == flt.department_id)
    if flt.source or flt.material:
        has = select(MatterMaterial.matter_id)
        if flt.source:
            has = has.where(MatterMaterial.source == flt.source)
        if flt.material:
            has = has.where(MatterMaterial.name == flt.material)
        out.append(Matter.id.in_(has))
    return out


def list_matters(
    session: Session, *, actor: Actor, flt: MatterFilter, offset: int = 0, limit: int = 50
) -> tuple[list[Matter], int]:
    """The catalogue is public to staff: every county matter, filtered; counted by the same conditions."""
    actor.require(VIEW)
    stmt: Select[Any] = select(Matter).where(*conditions(flt, actor))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(
        stmt.options(selectinload(Matter.materials)).order_by(Matter.code).offset(offset).limit(limit)
    ).scalars()
    return list(rows), total


def get_matter(session: Session, *, actor: Actor, matter_id: int) -> Matter:
    actor.require(VIEW)
    row = session.get(Matter, matter_id)
    if row is None or row.status != "active":
        raise NotFound("事项不存在")
    return row


def may_manage(actor: Actor, department_path: str) -> bool:
    return actor.can(MANAGE) and actor.sees_department(department_path)


def matter_read(row: Matter, depts: Departments) -> MatterRead:
    out = MatterRead.model_validate(row)
    out.department_name = depts.name(row.department_id)
    out.materials = [MaterialRead.model_validate(m) for m in row.materials]
    return out


def check(
    session: Session, data: MatterIn, depts: Departments, actor: Actor, *, row: int | None = None
) -> list[FieldError]:
    """What the schema cannot know: the department is the actor's, licence types and resources exist."""
    errors: list[FieldError] = []
    dept = depts.by_code.get(data.department_code)
    where = f"第 {row} 行" if row else ""
    if dept is None:
        errors.append(
            FieldError(f"{where}实施部门代码 {data.department_code} 不存在", field="department_code", row=row)
        )
    elif not may_manage(actor, dept.path):
        errors.append(FieldError(f"{where}只能维护本部门的事项（{dept.name}）", field="department_code", row=row))
    types = set(session.execute(select(LicenceType.code)).scalars())
    for i, m in enumerate(data.materials):
        if m.source == "licence" and m.licence_type not in types:
            errors.append(
                FieldError(
                    f"材料“{m.name}”的电子证照类型 {m.licence_type} 不存在",
                    field=f"materials.{i}.licence_type",
                    row=row,
                )
            )
        if m.source == "upload" and m.resource_id is not None and resource_fields(session, m.resource_id) is None:
            errors.append(
                FieldError(f"材料“{m.name}”建议的共享资源不存在或未发布", field=f"materials.{i}.resource_id", row=row)
            )
        if m.source == "shared" and m.resource_id is not None:
            fields = resource_fields(session, m.resource_id)
            if fields is None:
                errors.append(
                    FieldError(f"材料“{m.name}”的共享资源不存在或未发布", field=f"materials.{i}.resource_id", row=row)
                )
            elif missing := [f for f in m.items if f not in fields]:
                errors.append(
                    FieldError(
                        f"材料“{m.name}”的信息项不在资源中：{'、'.join(missing)}", field=f"materials.{i}.items", row=row
                    )
                )
    return errors


def resource_fields(session: Session, resource_id: int) -> list[str] | None:
    """The item fields of a published resource data can be shared from (None when there is none)."""
    try:
        resource = catalog_service.loadable_resource(session, resource_id)
    except DomainError:
        return None
    return [i.field_name for i in resource.items]


def apply(session: Session, data: MatterIn, depts: Departments, username: str) -> tuple[Matter, bool]:
    """Creates or replaces the matter with this 实施编码 (materials replaced as a whole)."""
    dept = depts.by_code[data.department_code]
    row = session.execute(select(Matter).where(Matter.code == data.code)).scalar_one_or_none()
    created = row is None
    if row is None:
        row = Matter(code=data.code)
        session.add(row)
    row.name, row.kind, row.level = data.name, data.kind, data.level
    row.department_id, row.department_path = dept.id, dept.path
    row.legal_basis, row.conditions = data.legal_basis, data.conditions
    row.statutory_days, row.promised_days, row.fee = data.statutory_days, data.promised_days, data.fee
    row.channels, row.online_depth = list(data.channels), data.online_depth
    row.faqs = [f.model_dump() for f in data.faqs]
    row.status, row.updated_by, row.updated_at = "active", username, utcnow()
    row.materials = [
        MatterMaterial(
            seq=i + 1,
            name=m.name,
            required=m.required,
            source=m.source,
            licence_type=m.licence_type if m.source == "licence" else "",
            resource_id=m.resource_id if m.source != "licence" else None,  # upload: a suggested replacement
            items=list(m.items) if m.source == "shared" else [],
            household=m.household and m.source == "shared",
            note=m.note,
        )
        for i, m in enumerate(data.materials)
    ]
    session.flush()
    return row, created


def save_matter(session: Session, *, actor: Actor, data: MatterIn) -> Matter:
    actor.require(MANAGE)
    depts = Departments(session)
    existing = session.execute(select(Matter).where(Matter.code == data.code)).scalar_one_or_none()
    if existing is not None and not may_manage(actor, existing.department_path):
        raise NotPermitted("该实施编码已被其他部门的事项使用")
    errors = check(session, data, depts, actor)
    if errors:
        raise Invalid("；".join(e.message for e in errors), errors)
    row, created = apply(session, data, depts, actor.username)
    audit.record(
        session,
        actor.audit,
        action="services.matter_save",
        object_type="services_matter",
        object_id=row.id,
        detail={"code": row.code, "name": row.name, "created": int(created)},
    )
    return row


def matter_input(row: Matter, depts: Departments) -> dict[str, Any]:
    """The matter as its form and workbook row hold it."""
    dept = depts.by_id.get(row.department_id)
    return {
        "code": row.code,
        "name": row.name,
        "department_code": dept.code if dept else "",
        "kind": row.kind,
        "level": row.level,
        "legal_basis": row.legal_basis,
        "conditions": row.conditions,
        "statutory_days": row.statutory_days,
        "promised_days": row.promised_days,
        "fee": row.fee,
        "channels": list(row.channels),
        "online_depth": row.online_depth,
        "faqs": list(row.faqs),
    }


def licence_types(session: Session) -> list[LicenceType]:
    return list(session.execute(select(LicenceType).order_by(LicenceType.code)).scalars())
