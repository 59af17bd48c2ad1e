"""A record corrected by the department responsible for it, outside any load: a 数据异议 accepted.

The new values pass the same item rules as a load (``rules.RowChecker``), and each changed field gets a
history entry (``Change``) with who, when and why, so the change shows on the record's page and reaches
whatever follows the history. The key item is never amended: a wrong key means another record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.clock import utcnow
from zhixian.errors import FieldError, Invalid, NotFound, NotPermitted
from zhixian.integration import access, entity_loader, load_context, pipeline, rules
from zhixian.integration.models import Change, LegalPerson, Person, Record
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher

_SPECS = {"person": entity_loader.PERSON, "legal": entity_loader.LEGAL}


@dataclass(frozen=True)
class Amended:
    """What an amendment changed: the fields whose value differed, and their history entries."""

    fields: list[str]
    change_ids: list[int]


def _resource(session: Session, resource_id: int) -> Any:
    """The catalogue resource with its items: one data may be loaded into (published, keyed)."""
    return catalog_service.loadable_resource(session, resource_id)


def _amendable(resource: Any, entity: str) -> set[str]:
    """The items a correction may change: the resource's items that the record stores, never its key."""
    items = {i.field_name for i in resource.items if i.field_name != resource.key_field}
    if entity in _SPECS:
        items &= set(_SPECS[entity].fields)
    return items


def check_amendment(
    session: Session, *, resource_id: int, entity: str, values: Mapping[str, str], county_code: str, where: str
) -> dict[str, Any]:
    """The values as a load would store them, or ``Invalid`` naming each bad one as ``<where>.<item>``."""
    resource = _resource(session, resource_id)
    allowed = _amendable(resource, entity)
    names = {i.field_name: i.name for i in resource.items}
    problems = [
        FieldError(
            f"“{names.get(f, f)}”是记录的主键，不能通过数据异议更正"
            if f == resource.key_field
            else f"资源“{resource.name}”没有可更正的信息项 {f}",
            field=f"{where}.{f}",
        )
        for f in values
        if f not in allowed
    ]
    if problems:
        raise Invalid("；".join(p.message for p in problems), problems)
    specs = [s for s in pipeline.item_specs(resource) if s.field in values]
    checker = rules.RowChecker(
        [dataclasses.replace(s, required=True) for s in specs],
        {f: f for f in values},
        known_divisions=pipeline.known_divisions(session),
        county_code=county_code,
    )
    clean, errors = checker.check(dict(values))
    errors += _too_long(entity, clean, names)
    if errors:
        found = [FieldError(e["message"], field=f"{where}.{e['field']}") for e in errors]
        raise Invalid("；".join(e.message for e in found), found)
    return clean


def _too_long(entity: str, clean: Mapping[str, Any], names: Mapping[str, str]) -> list[dict[str, str]]:
    """A base-database column holds only so much (the catalogue item may not say): refused, not truncated."""
    if entity not in _SPECS:
        return []
    columns = _SPECS[entity].model.__table__.c
    out = []
    for name, value in clean.items():
        column = columns.get("phone_masked" if name == "phone" else name)
        limit = getattr(column.type, "length", None) if column is not None else None
        if limit and isinstance(value, str) and len(value) > limit:
            out.append({"field": name, "message": f"“{names.get(name, name)}”长度超过 {limit} 个字符"})
    return out


def _row(session: Session, entity: str, entity_id: int) -> Record | Person | LegalPerson | None:
    if entity == "person":
        return session.get(Person, entity_id)
    if entity == "legal":
        return session.get(LegalPerson, entity_id)
    return session.get(Record, entity_id) if entity == "record" else None


def _responsible(session: Session, actor: Actor, resource: Any, entity: str, row: Any) -> bool:
    """The resource's department (for 人口/法人 also a department that provided the record), or the county."""
    if actor.county_scope:
        return True
    ids = {resource.department_id}
    if entity in _SPECS:
        ids |= access.responsible_departments(session, access.entity_of(row), row)
    return any(
        d.id in ids and d.path.startswith(actor.department_path)
        for d in platform_service.list_departments(session, include_inactive=True)
    )


def amend_record(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    resource_id: int,
    entity: str,
    entity_id: int,
    values: Mapping[str, str],
    note: str,
    county_code: str,
) -> Amended:
    """Sets the values on the record and writes one history entry per field that changed (in the caller's
    transaction); ``note`` says why (the correction's number) and stands in the history."""
    actor.require("integration.run")
    resource = _resource(session, resource_id)
    row = _row(session, entity, entity_id)
    if row is None or (isinstance(row, Record) and row.resource_id != resource.id):
        raise NotFound("要更正的记录不存在")
    if not _responsible(session, actor, resource, entity, row):
        raise NotPermitted("只有负责该记录的部门可以更正它")
    clean = check_amendment(
        session, resource_id=resource_id, entity=entity, values=values, county_code=county_code, where="values"
    )
    now = utcnow()
    ctx = load_context.LoadContext(
        run_id=0,
        source_id=0,
        department_id=actor.department_id,
        owner_department_id=resource.department_id,
        resource_id=resource.id,
        key_field=resource.key_field,
        cipher=cipher,
        now=now,
        operator=actor.username,
        note=note[:200],
    )
    changes: list[Change] = []
    for name, value in clean.items():
        if isinstance(row, Record):
            old = (row.data or {}).get(name)
            if load_context.as_text(old) == load_context.as_text(value):
                continue
            row.data = {**(row.data or {}), name: value}
            row.content_hash = load_context.content_hash({**row.data, resource.key_field: row.key})
            entry = ctx.change("record", row.id, name, old, value)
        else:
            spec = _SPECS[entity]
            old = entity_loader.current_value(spec, cipher, row, name)
            if load_context.as_text(old) == load_context.as_text(value):
                continue
            entity_loader.set_value(spec, cipher, row, name, value)
            row.provenance = {
                **(row.provenance or {}),
                name: {"dept": actor.department_id, "amended_by": actor.username},
            }
            entry = ctx.change(entity, row.id, name, old, value)
        # not a run's change: the history names the operator and the reason instead
        entry.update(run_id=None, source_id=None)
        changes.append(Change(**entry))
    if changes:
        row.updated_at = now
        session.add_all(changes)
        session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.record.amend",
        object_type="integration_legal_person"
        if entity == "legal"
        else "integration_person"
        if entity == "person"
        else "integration_record",
        object_id=row.id,
        detail={"resource": resource.code, "fields": [c.field for c in changes], "note": note[:200]},
    )
    return Amended(fields=[c.field for c in changes], change_ids=[c.id for c in changes])
