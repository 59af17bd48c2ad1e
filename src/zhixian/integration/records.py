"""Records as users see them: a departmental record or a base-database entity, its values masked as the
record is, and its history of changes (who, when, which run, old → new). Every read is audited.

Who reads a departmental record: the county (data authority, leaders with county scope), the
resource's department and the department whose source supplied it — the same rule as its sources.
Base-database entities go through ``access`` (provenance, owner, grants).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog.models import Resource
from zhixian.errors import NotFound
from zhixian.integration import access, basedata, service
from zhixian.integration.models import Change, LegalPerson, Person, Record, Source
from zhixian.integration.schemas import ChangeRead
from zhixian.platform import audit, masking
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Department

Masker = Callable[[str, Any], str]

# an item's rule tells what kind of personal value it holds when no 脱敏方式 is set
_RULE_KINDS: dict[str, masking.FieldKind] = {"身份证号": "id_number", "手机号": "phone"}


def item_kinds(resource: Resource) -> dict[str, masking.FieldKind]:
    kinds: dict[str, masking.FieldKind] = {}
    for item in resource.items:
        kind = masking.CATALOG_KINDS.get(item.masking) or _RULE_KINDS.get(item.rule)
        if kind:
            kinds[item.field_name] = kind
    return kinds


def masker_for(session: Session, resource: Resource, entity: str = "record", uscc: str = "") -> Masker:  # noqa: ARG001 - the signature is fixed by its caller
    """field, value → the value as the record shows it masked."""
    if entity == "person" or resource.base_library == "人口":
        kinds: dict[str, masking.FieldKind] = {**masking.PERSON_KINDS}
    elif entity == "legal" or resource.base_library == "法人":
        kinds = masking.legal_kinds(uscc)
    else:
        kinds = item_kinds(resource)

    def mask(name: str, value: Any) -> str:
        return masking.mask_value(kinds.get(name, "plain"), value)

    return mask


def labels_for(resource: Resource) -> dict[str, str]:
    return {i.field_name: i.name for i in resource.items}


def load_resource(session: Session, resource_id: int) -> Resource:
    row = session.execute(
        select(Resource).where(Resource.id == resource_id).options(selectinload(Resource.items))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def _department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


def changes(
    session: Session, *, cipher: FieldCipher, entity: str, entity_id: int, resource: Resource, mask: Masker
) -> list[ChangeRead]:
    """The record's history, newest first, masked with the record's own masker."""
    rows = (
        session.execute(
            select(Change)
            .where(Change.entity == entity, Change.entity_id == entity_id)
            .order_by(Change.id.desc())
            .limit(500)
        )
        .scalars()
        .all()
    )
    labels = labels_for(resource)
    depts = _department_names(session)
    sources = service.source_names(session, {c.source_id for c in rows if c.source_id})

    def shown(field: str, enc: str | None) -> str:
        return mask(field, cipher.decrypt(enc)) if enc else "（空）"

    return [
        ChangeRead(
            field=c.field,
            label=labels.get(c.field, c.field),
            old=shown(c.field, c.old_enc),
            new=shown(c.field, c.new_enc),
            run_id=c.run_id,
            source_name=sources.get(c.source_id or 0, ""),
            department_name=depts.get(c.department_id or 0, ""),
            operator=c.operator,
            note=c.note,
            changed_at=c.changed_at,
        )
        for c in rows
    ]


# --- departmental records


def _record_visible(session: Session, actor: Actor, row: Record, resource: Resource) -> bool:
    if actor.county_scope:
        return True
    owner = session.get(Department, resource.department_id)
    if owner is not None and actor.sees_department(owner.path):
        return True
    if row.source_id:
        source = session.get(Source, row.source_id)
        supplier = session.get(Department, source.department_id) if source else None
        return supplier is not None and actor.sees_department(supplier.path)
    return False


@dataclass
class RecordPage:
    entity: str
    id: int
    resource: Resource
    title: str
    values: list[tuple[str, str]]  # (label, masked value)
    source_name: str
    first_run_id: int
    last_run_id: int
    updated_at: Any
    history: list[ChangeRead]


def record_page(session: Session, *, actor: Actor, cipher: FieldCipher, record_id: int) -> RecordPage:
    """A departmental record, masked by its items' 脱敏方式, with its history; the read is audited."""
    actor.require("integration.view")
    row = session.get(Record, record_id)
    if row is None:
        raise NotFound()
    resource = load_resource(session, row.resource_id)
    if not _record_visible(session, actor, row, resource):
        raise NotFound()
    mask = masker_for(session, resource)
    values = [(i.name, mask(i.field_name, row.data.get(i.field_name))) for i in resource.items]
    audit.record(
        session,
        actor.audit,
        action="integration.record.read",
        object_type="integration_record",
        object_id=row.id,
        detail={"resource": resource.code, "masked": True},
    )
    return RecordPage(
        entity="record",
        id=row.id,
        resource=resource,
        title=f"{resource.name} · {mask(resource.key_field, row.key)}",
        values=values,
        source_name=service.source_names(session, {row.source_id}).get(row.source_id, "") if row.source_id else "",
        first_run_id=row.first_run_id,
        last_run_id=row.last_run_id,
        updated_at=row.updated_at,
        history=changes(session, cipher=cipher, entity="record", entity_id=row.id, resource=resource, mask=mask),
    )


def find_record(session: Session, *, actor: Actor, resource_id: int, key: str) -> Record | None:
    actor.require("integration.view")
    row = session.execute(
        select(Record).where(Record.resource_id == resource_id, Record.key == key.strip())
    ).scalar_one_or_none()
    if row is None or not _record_visible(session, actor, row, load_resource(session, resource_id)):
        return None
    return row


# --- base-database entities


def _base_resource(session: Session, library: str) -> Resource:
    row = session.execute(
        select(Resource).where(Resource.base_library == library).options(selectinload(Resource.items))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def person_page(session: Session, *, actor: Actor, cipher: FieldCipher, person_id: int) -> RecordPage:
    """A person as ``basedata.person_read`` shows it (masked as a whole, audited) and its history."""
    row = basedata.get_person(session, actor=actor, person_id=person_id)
    view = basedata.person_read(session, actor=actor, cipher=cipher, row=row, unmasked=False)
    resource = _base_resource(session, "人口")
    mask = masker_for(session, resource, "person")
    values = [
        ("公民身份号码", view.id_number),
        ("姓名", view.name),
        ("性别", view.gender),
        ("出生年份", str(view.birth_year or "")),
        ("联系电话", view.phone),
        ("住址", view.address),
        ("区划代码", view.division_code),
    ]
    return _entity_page(session, cipher, "person", row, resource, f"人口 · {view.name} {view.id_number}", values, mask)


def legal_page(session: Session, *, actor: Actor, cipher: FieldCipher, legal_id: int) -> RecordPage:
    row = session.get(LegalPerson, legal_id)
    access.check_read(session, actor, row)
    assert row is not None
    view = basedata.legal_read(session, actor=actor, row=row)
    resource = _base_resource(session, "法人")
    mask = masker_for(session, resource, "legal", row.uscc)
    values = [
        ("统一社会信用代码", view.uscc),
        ("名称", view.name),
        ("法定代表人", view.legal_rep),
        ("住所", view.address),
        ("成立日期", view.established.isoformat() if view.established else ""),
        ("注册资本（万元）", "" if view.capital is None else f"{view.capital:g}"),
        ("联系电话", view.phone),
        ("区划代码", view.division_code),
    ]
    return _entity_page(session, cipher, "legal", row, resource, f"法人 · {view.name}", values, mask)


def _entity_page(
    session: Session,
    cipher: FieldCipher,
    entity: str,
    row: Person | LegalPerson,
    resource: Resource,
    title: str,
    values: list[tuple[str, str]],
    mask: Masker,
) -> RecordPage:
    return RecordPage(
        entity=entity,
        id=row.id,
        resource=resource,
        title=title,
        values=values,
        source_name="、".join(
            sorted(
                set(
                    service.source_names(
                        session,
                        {
                            int(m["source"])
                            for m in (row.provenance or {}).values()
                            if isinstance(m, dict) and m.get("source")
                        },
                    ).values()
                )
            )
        ),
        first_run_id=row.first_run_id,
        last_run_id=row.last_run_id,
        updated_at=row.updated_at,
        history=changes(session, cipher=cipher, entity=entity, entity_id=row.id, resource=resource, mask=mask),
    )


def entity_href(entity: str, entity_id: int) -> str:
    return {
        "person": f"/integration/persons/{entity_id}",
        "legal": f"/integration/legal-persons/{entity_id}",
    }.get(entity, f"/integration/records/{entity_id}")


# --- what a run changed


def changed_in_run(session: Session, run_id: int) -> int:
    """Records whose values this run changed (one per record, however many fields)."""
    pairs = select(Change.entity, Change.entity_id).where(Change.run_id == run_id).distinct().subquery()
    return int(session.execute(select(func.count()).select_from(pairs)).scalar_one())


@dataclass
class ChangedRecord:
    entity: str
    entity_id: int
    href: str  # empty when the viewer may not open the record
    title: str
    changes: list[ChangeRead]


def _titles(session: Session, entity: str, ids: list[int]) -> dict[int, str]:
    if entity == "person":
        people = session.execute(select(Person.id, Person.id_masked, Person.name).where(Person.id.in_(ids))).all()
        return {i: f"{masking.person_name(n)} {masking.id_number(m)}" for i, m, n in people}
    if entity == "legal":
        return dict(session.execute(select(LegalPerson.id, LegalPerson.name).where(LegalPerson.id.in_(ids))).all())
    return dict(session.execute(select(Record.id, Record.key).where(Record.id.in_(ids))).all())


def run_changes(
    session: Session, *, actor: Actor, cipher: FieldCipher, run: Any, limit: int = 500
) -> list[ChangedRecord]:
    """Each record the run changed with its old → new values (masked as the record is), audited as a read."""
    resource = load_resource(session, run.resource_id)
    rows = (
        session.execute(select(Change).where(Change.run_id == run.id).order_by(Change.entity_id, Change.id))
        .scalars()
        .all()
    )
    labels = labels_for(resource)
    grouped: dict[tuple[str, int], list[Change]] = {}
    for c in rows:
        if len(grouped) >= limit and (c.entity, c.entity_id) not in grouped:
            break
        grouped.setdefault((c.entity, c.entity_id), []).append(c)
    depts = _department_names(session)
    sources = service.source_names(session, {c.source_id for c in rows if c.source_id})
    out: list[ChangedRecord] = []
    for entity in ("record", "person", "legal"):
        ids = [i for e, i in grouped if e == entity]
        if not ids:
            continue
        plain = masker_for(session, resource, entity)
        titles = _titles(session, entity, ids)
        for entity_id in ids:
            mask = plain
            if entity == "legal":
                uscc = session.execute(select(LegalPerson.uscc).where(LegalPerson.id == entity_id)).scalar() or ""
                mask = masker_for(session, resource, "legal", uscc)
            title = titles.get(entity_id, f"#{entity_id}")
            out.append(
                ChangedRecord(
                    entity=entity,
                    entity_id=entity_id,
                    href=entity_href(entity, entity_id),
                    title=mask(resource.key_field, title) if entity == "record" else title,
                    changes=[
                        ChangeRead(
                            field=c.field,
                            label=labels.get(c.field, c.field),
                            old=mask(c.field, cipher.decrypt(c.old_enc)) if c.old_enc else "（空）",
                            new=mask(c.field, cipher.decrypt(c.new_enc)) if c.new_enc else "（空）",
                            run_id=c.run_id,
                            source_name=sources.get(c.source_id or 0, ""),
                            department_name=depts.get(c.department_id or 0, ""),
                            operator=c.operator,
                            note=c.note,
                            changed_at=c.changed_at,
                        )
                        for c in grouped[(entity, entity_id)]
                    ],
                )
            )
    if out:
        audit.record(
            session,
            actor.audit,
            action="integration.run.changes",
            object_type="integration_run",
            object_id=run.id,
            detail={"records": len(out), "masked": True},
        )
    return out
