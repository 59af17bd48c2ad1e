"""The exchange as the citizen realm uses it (一网通享): the real-name check at sign-in, "who used my data" for
the signed-in person, and the county's published lookups a person opens for themselves. None of these takes a
staff Actor: the caller is a person identified by the blind index of their ID number, and every use is audited
as ``citizen:<masked ID>``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhixian.errors import Invalid
from zhixian.exchange import internal, operations, records, sources
from zhixian.exchange.schemas import DepartmentRead
from zhixian.exchange.usage import calls_about
from zhixian.platform import audit, masking
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


def citizen_check(session: Session, *, cipher: FieldCipher, who: AuditContext, id_number: str, name: str) -> bool:
    """核验 against the population base: do this ID number and name belong together? The same query runs
    whether or not the number exists, so the answer's timing does not tell; the audit record is masked."""
    source = sources.population(session)
    if source is None:
        raise Invalid("人口基础库尚未发布，暂不能实名核验")
    key = operations.check_key(source, id_number)
    rows = sources.query(session, source, cipher, [{"field": source.key_field, "op": "eq", "value": key}], limit=1)
    stored = str(records.raw_values(source, rows[0]).get("name") or "") if rows else ""
    match = bool(rows) and operations.same_name(name, stored)
    audit.record(
        session,
        who,
        action="exchange.citizen_check",
        object_type="person",
        object_id=masking.id_number(key),
        result="成功" if match else "失败",
        detail={"match": match},
    )
    return match


def citizen_usage(session: Session, *, who: AuditContext, subject_index: str) -> list[dict[str, Any]]:
    """Each exchange call that returned or checked the record filed under ``subject_index`` — that person's
    and nobody else's — newest first; the look itself is audited."""
    out = calls_about(session, subject_index)
    audit.record(
        session,
        who,
        action="exchange.citizen_usage",
        object_type="person",
        object_id=who.username.removeprefix("citizen:"),
        detail={"count": len(out)},
    )
    return out


def citizen_lookup(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    who: AuditContext,
    department_id: int,
    resource_id: int,
    id_number: str,
    reason: str,
) -> DepartmentRead:
    """A published lookup (公积金, 车辆违章) the person opens for themselves: read by key under the grant the
    portal's department holds — the same call row, disclosure and audit as any department read, so it shows
    in "who used my data"."""
    return internal.department_read(
        session,
        settings=settings,
        cipher=cipher,
        who=who,
        department_id=department_id,
        resource_id=resource_id,
        key=id_number,
        items=[],
        reason=reason,
    )


__all__ = ["citizen_check", "citizen_lookup", "citizen_usage"]
