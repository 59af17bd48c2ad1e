"""Catalogue rules: department-scoped editing, 就高从严 grading, review workflow, system registry.

A department data officer edits only their own department's resources and systems; the data
authority (``catalog.review``) reviews, publishes and withdraws. Every state change is audited.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog import grading, search
from zhixian.catalog.models import BusinessSystem, DataItem, Resource, UpwardApplication
from zhixian.catalog.schemas import (
    ApplicationDecision,
    ApplicationIn,
    ItemIn,
    ItemRead,
    RegistrySummary,
    ResourceIn,
    ResourceRead,
    ReviewIn,
    SystemIn,
    SystemRead,
)
from zhixian.clock import local_today, utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department
from zhixian.platform.service import department_by_code

ITEM_FIELDS = tuple(ItemIn.model_fields)
RESOURCE_FIELDS = tuple(f for f in ResourceIn.model_fields if f not in ("items", "department_code", "system_code"))


def _is_authority(actor: Actor) -> bool:
    return actor.can("catalog.review")


def _department(session: Session, code: str, *, actor: Actor, field: str = "department_code") -> Department:
    dept = department_by_code(session, code)
    if dept is None:
        raise Invalid(f"部门代码 {code} 不存在", field=field)
    if not _is_authority(actor) and not actor.sees_department(dept.path):
        raise NotPermitted("只能编制本部门（含下属单位）的目录和台账")
    return dept


def _check_own(session: Session, actor: Actor, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound()
    if not _is_authority(actor) and not actor.sees_department(dept.path):
        raise NotPermitted("只能修改本部门（含下属单位）的目录和台账")  # the record itself is visible to them
    return dept


# --- resources


def grade_problem(data: ResourceIn) -> FieldError | None:
    """就高从严: a resource is graded at least as strictly as its most sensitive item."""
    rank = grading.grade_rank(data.grade, data.sensitivity)
    worst = max(data.items, key=lambda i: grading.grade_rank(i.grade, i.sensitivity), default=None)
    if worst is not None and grading.grade_rank(worst.grade, worst.sensitivity) > rank:
        return FieldError(
            f"资源分级（{grading.grade_label(data.grade, data.sensitivity)}）低于信息项“{worst.name}”的分级"
            f"（{grading.grade_label(worst.grade, worst.sensitivity)}），按就高从严原则，"
            "资源分级不得低于其任一信息项",
            field="grade",
        )
    return None


def visible(actor: Actor) -> ColumnElement[bool]:
    """Published resources are the county's shared catalogue; drafts stay with their department."""
    if _is_authority(actor) or actor.county_scope:
        return Resource.id.is_not(None)
    own = select(Department.id).where(actor.department_filter(Department.path))
    return or_(Resource.status == "published", Resource.department_id.in_(own))


def get_resource(session: Session, *, actor: Actor, resource_id: int) -> Resource:
    actor.require("catalog.view")
    row = session.execute(
        select(Resource).where(Resource.id == resource_id, visible(actor)).options(selectinload(Resource.items))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def may_edit(session: Session, actor: Actor, department_id: int) -> bool:
    """Whether the actor may change a record of this department (pages show 修改 only then)."""
    if not actor.can("catalog.edit"):
        return False
    dept = session.get(Department, department_id)
    return dept is not None and (_is_authority(actor) or actor.sees_department(dept.path))


def get_editable_resource(session: Session, *, actor: Actor, resource_id: int) -> Resource:
    """A resource the actor may change: its own department's (the authority: any); others' are read-only."""
    actor.require("catalog.edit")
    row = get_resource(session, actor=actor, resource_id=resource_id)
    _check_own(session, actor, row.department_id)
    return row


def resource_by_code(session: Session, code: str) -> Resource | None:
    return session.execute(select(Resource).where(Resource.code == code)).scalar_one_or_none()


def changed_since(session: Session, since: datetime | None) -> list[Resource]:
    """Resources (with items) whose entry changed after ``since`` (all when None), oldest change first:
    what a federated node publishes upward as its catalogue's increment."""
    stmt = select(Resource).options(selectinload(Resource.items)).order_by(Resource.updated_at, Resource.id)
    if since is not None:
        stmt = stmt.where(Resource.updated_at > since)
    return list(session.execute(stmt).scalars())


def resource_read(session: Session, row: Resource) -> ResourceRead:
    out = ResourceRead.model_validate(row)
    dept = session.get(Department, row.department_id)
    if dept is not None:
        out.department_code, out.department_name = dept.code, dept.name
    out.items = [ItemRead.model_validate(i) for i in row.items]
    return out


def resource_input(session: Session, row: Resource) -> ResourceIn:
    """The exchange form of a stored resource (what export writes and import reads back)."""
    dept = session.get(Department, row.department_id)
    system = session.get(BusinessSystem, row.system_id) if row.system_id else None
    values: dict[str, Any] = {f: getattr(row, f) for f in RESOURCE_FIELDS}
    values["linked_codes"] = list(row.linked_codes or [])
    values["department_code"] = dept.code if dept else ""
    values["system_code"] = system.code if system else None
    values["items"] = [ItemIn.model_validate({f: getattr(i, f) for f in ITEM_FIELDS}) for i in row.items]
    return ResourceIn.model_validate(values)


def _apply(session: Session, row: Resource, data: ResourceIn, dept: Department) -> bool:
    """Copies data onto row; True when anything changed."""
    changed = False
    system_id = None
    if data.system_code:
        system = session.execute(select(BusinessSystem).where(BusinessSystem.code == data.system_code)).scalar()
        if system is None:
            raise Invalid(f"业务系统代码 {data.system_code} 未登记", field="system_code")
        system_id = system.id
    for name in RESOURCE_FIELDS:
        value = getattr(data, name)
        if name == "linked_codes":
            value = list(value)
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    for name, value in (("department_id", dept.id), ("system_id", system_id)):
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    existing = {i.field_name: i for i in row.items}
    wanted = [i.field_name for i in data.items]
    if [i.field_name for i in row.items] != wanted:
        changed = True
    items: list[DataItem] = []
    for seq, item in enumerate(data.items, start=1):
        target = existing.get(item.field_name) or DataItem(field_name=item.field_name)
        for name in ITEM_FIELDS:
            value = getattr(item, name)
            if getattr(target, name, None) != value:
                setattr(target, name, value)
                changed = True
        if target.seq != seq:
            target.seq = seq
            changed = True
        items.append(target)
    row.items = items
    return changed


def save_resource(session: Session, *, actor: Actor, data: ResourceIn, resource_id: int | None = None) -> Resource:
    actor.require("catalog.edit")
    problem = grade_problem(data)
    if problem:
        raise Invalid(problem.message, [problem])
    dept = _department(session, data.department_code, actor=actor)
    if resource_id is None:
        if resource_by_code(session, data.code) is not None:
            raise Conflict(f"信息资源代码 {data.code} 已存在")
        row = Resource(status="draft", submitted_by=actor.username, linked_codes=[])
        session.add(row)
        action = "catalog.resource.create"
    else:
        row = get_resource(session, actor=actor, resource_id=resource_id)
        _check_own(session, actor, row.department_id)
        if row.status == "review":
            raise Conflict("资源正在审核中，请待审核完成或退回后再修改")
        other = resource_by_code(session, data.code)
        if other is not None and other.id != row.id:
            raise Conflict(f"信息资源代码 {data.code} 已存在")
        action = "catalog.resource.update"
    changed = _apply(session, row, data, dept)
    if resource_id is not None and not changed:
        return row
    if row.status == "published" and changed:
        row.status = "draft"  # a changed published entry is reviewed again before it is shared
    row.updated_at = utcnow()
    search.reindex(row)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type="catalog_resource",
        object_id=row.id,
        detail={"code": row.code, "status": row.status},
    )
    return row


def _transition(session: Session, actor: Actor, row: Resource, to: str, action: str, note: str = "") -> Resource:
    before = row.status
    row.status = to
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type="catalog_resource",
        object_id=row.id,
        detail={"code": row.code, "from": before, "to": to, "note": note},
    )
    return row


def submit_resource(session: Session, *, actor: Actor, resource_id: int) -> Resource:
    actor.require("catalog.edit")
    row = get_resource(session, actor=actor, resource_id=resource_id)
    _check_own(session, actor, row.department_id)
    if row.status not in ("draft", "withdrawn"):
        raise Conflict(f"资源当前状态为“{grading.STATUS_LABELS[row.status]}”，不能提交审核")
    if not row.items:
        raise Invalid("至少登记一个信息项后才能提交审核", field="items")
    return _transition(session, actor, row, "review", "catalog.resource.submit")


def review_resource(session: Session, *, actor: Actor, resource_id: int, data: ReviewIn) -> Resource:
    actor.require("catalog.review")
    row = get_resource(session, actor=actor, resource_id=resource_id)
    if row.status != "review":
        raise Conflict("只有待审核的资源可以审核")
    if data.decision == "reject" and not data.note.strip():
        raise Invalid("退回须写明理由", field="note")
    row.reviewer, row.reviewed_at, row.review_note = actor.username, utcnow(), data.note
    if data.decision == "approve":
        row.publish_date = row.publish_date or local_today()
        return _transition(session, actor, row, "published", "catalog.resource.publish", data.note)
    return _transition(session, actor, row, "draft", "catalog.resource.reject", data.note)


def withdraw_resource(session: Session, *, actor: Actor, resource_id: int, note: str) -> Resource:
    actor.require("catalog.review")
    row = get_resource(session, actor=actor, resource_id=resource_id)
    if row.status != "published":
        raise Conflict("只有已发布的资源可以撤回")
    if not note.strip():
        raise Invalid("撤回须写明理由", field="note")
    row.reviewer, row.reviewed_at, row.review_note = actor.username, utcnow(), note
    return _transition(session, actor, row, "withdrawn", "catalog.resource.withdraw", note)


def delete_resource(session: Session, *, actor: Actor, resource_id: int) -> None:
    actor.require("catalog.edit")
    row = get_resource(session, actor=actor, resource_id=resource_id)
    _check_own(session, actor, row.department_id)
    if row.status not in ("draft", "withdrawn"):
        raise Conflict("只能删除草稿或已撤回的资源")
    audit.record(
        session,
        actor.audit,
        action="catalog.resource.delete",
        object_type="catalog_resource",
        object_id=row.id,
        detail={"code": row.code},
    )
    session.delete(row)
    session.flush()


@dataclass
class ResourceFilter:
    q: str = ""
    department_id: int | None = None
    kind: str | None = None
    share_type: str | None = None
    grade: str | None = None
    status: str | None = None
    base_library: str | None = None


def _filtered(session: Session, actor: Actor, flt: ResourceFilter, *, like: bool = False) -> Select[Resource]:
    stmt = select(Resource).where(visible(actor))
    if flt.q.strip():
        cond = search.like_condition(flt.q.strip()) if like else search.match_condition(session, flt.q)
        if cond is not None:
            stmt = stmt.where(cond)
    for column, value in (
        (Resource.department_id, flt.department_id),
        (Resource.kind, flt.kind),
        (Resource.share_type, flt.share_type),
        (Resource.grade, flt.grade),
        (Resource.status, flt.status),
        (Resource.base_library, flt.base_library),
    ):
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    return stmt


def list_resources(
    session: Session, *, actor: Actor, flt: ResourceFilter, offset: int = 0, limit: int = 50, like: bool = False
) -> tuple[list[Resource], int]:
    actor.require("catalog.view")
    stmt = _filtered(session, actor, flt, like=like)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Resource.code).offset(offset).limit(limit)).scalars().all()
    return list(rows), total


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


# --- business systems


def system_read(session: Session, row: BusinessSystem) -> SystemRead:
    out = SystemRead.model_validate(row)
    dept = session.get(Department, row.department_id)
    out.department_name = dept.name if dept else ""
    out.integrable = integrable(row)
    return out


def integrable(row: BusinessSystem, today: date | None = None) -> bool:
    """Can the county load this system's data? Only with a live grant or a local copy."""
    today = today or local_today()
    if row.access_status == "local_copy":
        return True
    return row.access_status == "granted" and (row.access_expires is None or row.access_expires >= today)


def list_systems(
    session: Session, *, actor: Actor, builder_level: str | None = None, access_status: str | None = None
) -> list[BusinessSystem]:
    actor.require("catalog.view")
    stmt = select(BusinessSystem).options(selectinload(BusinessSystem.applications)).order_by(BusinessSystem.code)
    if builder_level:
        stmt = stmt.where(BusinessSystem.builder_level == builder_level)
    if access_status:
        stmt = stmt.where(BusinessSystem.access_status == access_status)
    return list(session.execute(stmt).scalars())


def get_system(session: Session, *, actor: Actor, system_id: int) -> BusinessSystem:
    actor.require("catalog.view")
    row = session.get(BusinessSystem, system_id)
    if row is None:
        raise NotFound()
    return row


def save_system(session: Session, *, actor: Actor, data: SystemIn, system_id: int | None = None) -> BusinessSystem:
    actor.require("catalog.edit")
    dept = _department(session, data.department_code, actor=actor)
    if system_id is None:
        if session.execute(select(BusinessSystem.id).where(BusinessSystem.code == data.code)).first():
            raise Conflict(f"系统代码 {data.code} 已登记")
        row = BusinessSystem(code=data.code)
        session.add(row)
    else:
        row = get_system(session, actor=actor, system_id=system_id)
        _check_own(session, actor, row.department_id)
    values = data.model_dump(exclude={"department_code"})
    before = {k: getattr(row, k, None) for k in values}
    for k, v in values.items():
        setattr(row, k, v)
    row.department_id = dept.id
    row.updated_at = utcnow()
    session.flush()
    changed = {k: str(v) for k, v in values.items() if before[k] != v}
    audit.record(
        session,
        actor.audit,
        action="catalog.system.save",
        object_type="catalog_system",
        object_id=row.id,
        detail={"code": row.code, "changed": changed},
    )
    return row


def apply_upward(session: Session, *, actor: Actor, system_id: int, data: ApplicationIn) -> UpwardApplication:
    actor.require("catalog.edit")
    row = get_system(session, actor=actor, system_id=system_id)
    _check_own(session, actor, row.department_id)
    if row.builder_level == "县建":
        raise Invalid("县建系统的数据由本县持有，无需向上级申请")
    app = UpwardApplication(
        system_id=row.id,
        applied_on=data.applied_on,
        addressee=data.addressee,
        scope=data.scope,
        created_by=actor.username,
    )
    session.add(app)
    if row.access_status == "none":
        row.access_status = "applied"
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="catalog.system.apply",
        object_type="catalog_system",
        object_id=row.id,
        detail={"application": app.id, "addressee": data.addressee},
    )
    return app


def decide_application(
    session: Session, *, actor: Actor, application_id: int, data: ApplicationDecision
) -> UpwardApplication:
    """Records the upper level's answer; a grant updates the system's access status."""
    actor.require("catalog.edit")
    app = session.get(UpwardApplication, application_id)
    if app is None:
        raise NotFound()
    _check_own(session, actor, app.system.department_id)
    if app.outcome != "pending":
        raise Conflict("该申请已有结果")
    if data.decided_on < app.applied_on:
        raise Invalid("答复日期不能早于申请日期", field="decided_on")
    app.outcome, app.decided_on, app.reply = data.outcome, data.decided_on, data.reply
    app.granted_scope, app.expires = data.granted_scope, data.expires
    system = app.system
    if data.outcome == "granted":
        system.access_status, system.access_scope, system.access_expires = "granted", data.granted_scope, data.expires
    elif system.access_status == "applied" and not any(a.outcome == "pending" for a in system.applications):
        system.access_status = "none"
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="catalog.system.decision",
        object_type="catalog_system",
        object_id=system.id,
        detail={"application": app.id, "outcome": data.outcome},
    )
    return app


def registry_summary(session: Session, *, actor: Actor) -> RegistrySummary:
    rows = list_systems(session, actor=actor)
    return RegistrySummary(
        total=len(rows),
        by_level=dict(Counter(r.builder_level for r in rows)),
        by_access=dict(Counter(r.access_status for r in rows)),
        integrable=sum(1 for r in rows if integrable(r)),
    )


# --- used by integration


def loadable_resource(session: Session, resource_id: int) -> Resource:
    """A published, non-classified resource with a key item: the only kind data is loaded into."""
    row = session.execute(
        select(Resource).where(Resource.id == resource_id).options(selectinload(Resource.items))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("目标目录资源不存在")
    if row.classified:
        raise Invalid("涉密信息资源不得通过本平台整合")
    if row.status != "published":
        raise Invalid(f"目录资源“{row.name}”尚未发布，不能加载数据")
    if not row.key_field:
        raise Invalid(f"目录资源“{row.name}”未指定主键信息项，无法去重")
    return row
