"""Who may read which base-database (人口/法人) record, and the audit of every such read.

One decision (``may_read``) for every route: the departments that provided the record (per-field
provenance) and the department owning the base library's resource read it, as does the data
authority (county scope together with ``integration.personal.read``). Everyone else gets 404, so a
record's existence is not disclosed. The exchange subsystem will add sharing grants through
``register_grant`` rather than a second rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource
from zhixian.errors import NotFound
from zhixian.integration.models import LegalPerson, Person
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department

Entity = Literal["person", "legal"]
BaseRecord = Person | LegalPerson
Grant = Callable[[Session, Actor, Entity, BaseRecord], bool]

PERSONAL_READ = "integration.personal.read"
_LIBRARY: dict[Entity, str] = {"person": "人口", "legal": "法人"}
_OBJECT_TYPE: dict[Entity, str] = {"person": "integration_person", "legal": "integration_legal_person"}
_grants: list[Grant] = []


def register_grant(grant: Grant) -> None:
    """Another subsystem (exchange) lets an actor read a record it would not see by department."""
    if grant not in _grants:
        _grants.append(grant)


def entity_of(row: BaseRecord) -> Entity:
    return "person" if isinstance(row, Person) else "legal"


def county_reader(actor: Actor) -> bool:
    """The data authority reads the whole county's base databases; county scope alone (a leader) does not."""
    return actor.county_scope and actor.can(PERSONAL_READ)


def responsible_departments(session: Session, entity: Entity, row: BaseRecord) -> set[int]:
    """The departments that provided any field of the record, and the owner of the base library."""
    depts = {int(m["dept"]) for m in (row.provenance or {}).values() if isinstance(m, dict) and m.get("dept")}
    owners = session.execute(select(Resource.department_id).where(Resource.base_library == _LIBRARY[entity]))
    depts.update(int(d) for d in owners.scalars() if d)
    return depts


def may_read(session: Session, actor: Actor, row: BaseRecord) -> bool:
    """The one decision on reading a base-database record (masked or not)."""
    if not actor.can("integration.view"):
        return False
    if county_reader(actor):
        return True
    entity = entity_of(row)
    ids = responsible_departments(session, entity, row)
    if ids:
        paths = session.execute(select(Department.path).where(Department.id.in_(ids))).scalars()
        if any(path.startswith(actor.department_path) for path in paths):
            return True
    return any(grant(session, actor, entity, row) for grant in _grants)


def check_read(session: Session, actor: Actor, row: BaseRecord | None, message: str = "") -> BaseRecord:
    """The record if the actor may read it; otherwise 404, the same answer as for a missing one."""
    if row is None or not may_read(session, actor, row):
        raise NotFound(message) if message else NotFound()
    return row


def audit_read(
    session: Session,
    actor: Actor,
    entity: Entity,
    ids: Iterable[int],
    *,
    action: str,
    masked: bool,
    fields: Iterable[str] = (),
) -> None:
    """One audit record per request that shows personal data: which records, how many, masked or not."""
    ids = list(ids)
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type=_OBJECT_TYPE[entity],
        object_id=ids[0] if len(ids) == 1 else "",
        detail={"ids": ids[:500], "count": len(ids), "masked": masked, "fields": list(fields)},
    )
