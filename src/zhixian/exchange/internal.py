"""Reads a department makes through its own grants on the platform (一网通办's pre-fill), not by a signed
call from an application: the same grant check, row filter and masking as the gateway, the same call row,
disclosures and one audit record — so the person sees the use in "who used my data", and a suspended or
revoked grant refuses the very next read.
"""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import local_today, utcnow
from zhixian.errors import DomainError
from zhixian.exchange import grants, operations, records, sources, views
from zhixian.exchange.models import Call, Disclosure, Grant
from zhixian.exchange.schemas import DepartmentRead
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


def _latest(session: Session, department_id: int, resource_id: int) -> list[Grant]:
    return list(
        session.execute(
            select(Grant)
            .where(Grant.resource_id == resource_id, Grant.consumer_department_id == department_id)
            .order_by(Grant.id.desc())
        ).scalars()
    )


def department_grant(
    session: Session, *, department_id: int, resource_id: int, today: date | None = None
) -> Grant | None:
    """A live lookup grant the department holds on the resource (a department-wide one before an app's)."""
    today = today or local_today()
    rows = [g for g in _latest(session, department_id, resource_id) if grants.state(g, today) == "active"]
    rows = [g for g in rows if "lookup" in g.operations]
    rows.sort(key=lambda g: (g.application_id is not None, -g.id))
    return rows[0] if rows else None


def refusal(session: Session, *, department_id: int, resource_id: int, today: date | None = None) -> str:
    """Why the department may not read the resource now, in words the window can act on."""
    today = today or local_today()
    rows = _latest(session, department_id, resource_id)
    if not rows:
        return "办理部门未获得该资源的共享授权，请先提交共享申请"
    value = grants.state(rows[0], today)
    if value == "suspended":
        return f"办理部门对该资源的授权已暂停：{rows[0].status_reason or '请联系提供方'}"
    if value == "revoked":
        return f"办理部门对该资源的授权已撤销：{rows[0].status_reason or '请联系提供方'}"
    if value == "expired":
        return f"办理部门对该资源的授权已于 {rows[0].valid_until} 到期"
    if value == "pending":
        return f"办理部门对该资源的授权自 {rows[0].valid_from} 起生效"
    return "办理部门对该资源的授权不包含按主键查询"


def department_read(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    who: AuditContext,
    department_id: int,
    resource_id: int,
    key: str,
    items: list[str],
    reason: str,
    household: bool = False,
) -> DepartmentRead:
    """One record by key under the department's grant, masked as the grant says; with ``household`` also
    the other people registered at the same address (同户). Every read, refused or not, is one call row
    and one audit record in the caller's transaction."""
    started = time.perf_counter()
    source = sources.load(session, resource_id)
    out = DepartmentRead(resource_id=resource_id, resource_name=source.name if source else "")
    grant = department_grant(session, department_id=department_id, resource_id=resource_id)
    subjects: list[tuple[str, str]] = []
    fields: list[str] = []
    status = 200
    if source is None or not source.servable:
        out.refused, status = "该资源不通过共享提供", 404
    elif grant is None:
        out.refused, status = refusal(session, department_id=department_id, resource_id=resource_id), 403
    else:
        out.grant_id = grant.id
        fields = [f for f in (items or grant.items) if f in grant.items]
        try:
            subjects = _read(session, settings, cipher, source, grant, key, items, fields, household, out)
        except DomainError as exc:
            out.refused, status = exc.detail, exc.status
            out.record, out.members, subjects = {}, [], []
    out.call_id = _record(session, who, out, source, grant, department_id, fields, subjects, status, reason, started)
    return out


def _read(
    session: Session,
    settings: Settings,
    cipher: FieldCipher,
    source: sources.Source,
    grant: Grant,
    key: str,
    items: list[str],
    fields: list[str],
    household: bool,
    out: DepartmentRead,
) -> list[tuple[str, str]]:
    """Fills ``out`` with the record (and its household) as the grant delivers it; whose records were read."""
    outside = [f for f in items if f not in grant.items]
    if outside:
        names = "、".join(source.items[f].name if f in source.items else f for f in outside)
        raise DomainError(f"授权不包含信息项：{names}", [], 403, "未获授权")
    found = operations.check_key(source, key)
    where = [*grant.row_filter, {"field": source.key_field, "op": "eq", "value": found}]
    rows = sources.query(session, source, cipher, where, limit=1)
    if not rows:
        raise DomainError(f"{source.name}中没有该申请人的记录（或不在授权的行范围内）", [], 404, "未找到")
    plain = set(grant.plain_items)
    out.record = views.record(source, rows[0], fields, plain, cipher, settings)
    out.masked = sorted(views.masked_fields(source, fields, grant.plain_items, settings))
    out.item_names = {f: source.items[f].name for f in fields if f in source.items}
    subjects = [records.subject(source, rows[0], cipher)]
    values = records.raw_values(source, rows[0])
    if household and source.kind == "person" and values.get("address"):
        same = [
            *grant.row_filter,
            {"field": "address", "op": "eq", "value": str(values["address"])},
            {"field": "division_code", "op": "eq", "value": str(values.get("division_code") or "")},
        ]
        for member in sources.query(session, source, cipher, same, limit=20):
            if member.id != rows[0].id:
                out.members.append(views.record(source, member, fields, plain, cipher, settings))
                subjects.append(records.subject(source, member, cipher))
    return subjects


def _record(
    session: Session,
    who: AuditContext,
    out: DepartmentRead,
    source: sources.Source | None,
    grant: Grant | None,
    department_id: int,
    fields: list[str],
    subjects: list[tuple[str, str]],
    status: int,
    reason: str,
    started: float,
) -> int:
    result = "成功" if status < 400 else ("拒绝" if status in (401, 403) else "失败")
    call = Call(
        at=utcnow(),
        application_id=None,
        client_id="",
        consumer_department_id=department_id,
        resource_id=out.resource_id,
        provider_department_id=source.department_id if source else None,
        grant_id=grant.id if grant else None,
        operation="lookup",
        items=fields if status < 400 else [],
        rows=len(subjects),
        purpose=grant.purpose if grant else "",
        reason=reason[:200],
        status=status,
        result=result,
        error=out.refused[:300],
        ip=who.ip[:64],
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    session.add(call)
    session.flush()
    session.add_all(Disclosure(call_id=call.id, kind=k, subject=s) for k, s in subjects)
    audit.record(
        session,
        who,
        action="exchange.department_read",
        object_type="catalog_resource",
        object_id=out.resource_id,
        result=result,
        detail={
            "call": call.id,
            "resource": source.code if source else out.resource_id,
            "grant": grant.id if grant else None,
            "items": call.items,
            "masked": out.masked,
            "rows": len(subjects),
            "reason": reason[:200],
            "error": out.refused[:300],
        },
    )
    session.flush()
    return int(call.id)


__all__ = ["department_grant", "department_read", "refusal"]
