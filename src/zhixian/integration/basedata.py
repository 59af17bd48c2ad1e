"""The base databases as seen by users: masked by default, unmasked only with a permission and audited;
conflicts between departments, resolved by the owning department; quality figures and home cards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource
from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.integration import access, entity_loader, load_context, rules
from zhixian.integration.models import FieldConflict, LegalPerson, Person, QualitySnapshot, Run
from zhixian.integration.schemas import ConflictRead, LegalPersonRead, PersonRead, QualityRead
from zhixian.platform import audit, masking
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Department
from zhixian.subsystems import HomeCard

_FIELD_LABELS = {
    "name": "姓名/名称",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "联系电话",
    "address": "住址",
    "division_code": "区划代码",
    "legal_rep": "法定代表人",
    "established": "成立日期",
    "capital": "注册资本",
}


def _dept_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


PERSONAL_FIELDS = ("id_number", "name", "birth_date", "phone", "address")


def person_read(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    row: Person,
    unmasked: bool,
    action: str = "integration.person.read",
) -> PersonRead:
    """A person as this actor may see it: in scope or 404, masked as a whole unless asked, always audited."""
    access.check_read(session, actor, row)
    if unmasked:
        actor.require(access.PERSONAL_READ)
    record: dict[str, Any] = {
        "id": row.id,
        "id_number": cipher.decrypt(row.id_enc, index=row.id_index) if unmasked else row.id_masked,
        "name": row.name,
        "gender": row.gender,
        "birth_date": row.birth_date,
        "birth_year": row.birth_date.year if row.birth_date else None,
        "phone": (cipher.decrypt(row.phone_enc, index=row.phone_index) if row.phone_enc else "")
        if unmasked
        else row.phone_masked,
        "address": row.address,
        "division_code": row.division_code,
        "masked": not unmasked,
        "provenance": row.provenance or {},
    }
    access.audit_read(
        session,
        actor,
        "person",
        [row.id],
        action="integration.person.read_unmasked" if unmasked else action,
        masked=not unmasked,
        fields=PERSONAL_FIELDS if unmasked else (),
    )
    return PersonRead.model_validate(record if unmasked else masking.person_view(record))


def find_person(session: Session, *, actor: Actor, cipher: FieldCipher, id_number: str) -> Person:
    """Exact lookup by ID number through the blind index; out of scope answers like a missing number."""
    actor.require("integration.view")
    try:
        value = rules.id_number(rules.text(id_number) or "")
    except rules.Bad as exc:
        raise Invalid(str(exc), field="id_number") from exc
    row = session.execute(select(Person).where(Person.id_index == cipher.blind_index(value))).scalar_one_or_none()
    access.check_read(session, actor, row, "人口基础库中没有该身份号码")
    assert row is not None
    return row


def get_person(session: Session, *, actor: Actor, person_id: int) -> Person:
    actor.require("integration.view")
    row = session.get(Person, person_id)
    access.check_read(session, actor, row)
    assert row is not None
    return row


def find_legal(session: Session, *, actor: Actor, uscc: str) -> LegalPerson:
    actor.require("integration.view")
    row = session.execute(select(LegalPerson).where(LegalPerson.uscc == uscc.strip().upper())).scalar_one_or_none()
    access.check_read(session, actor, row, "法人基础库中没有该统一社会信用代码")
    assert row is not None
    return row


def legal_read(session: Session, *, actor: Actor, row: LegalPerson) -> LegalPersonRead:
    """Masked as a whole (the representative, the phone; a sole trader's address) and audited."""
    access.check_read(session, actor, row)
    record = {
        "id": row.id,
        "uscc": row.uscc,
        "name": row.name,
        "legal_rep": row.legal_rep,
        "address": row.address,
        "established": row.established,
        "capital": row.capital,
        "phone": row.phone_masked,
        "division_code": row.division_code,
        "provenance": row.provenance or {},
    }
    access.audit_read(session, actor, "legal", [row.id], action="integration.legal.read", masked=True)
    return LegalPersonRead.model_validate(masking.legal_view(record))


# --- conflicts


def _conflict_scope(actor: Actor) -> Any:
    if actor.county_scope:
        return FieldConflict.id.is_not(None)
    return FieldConflict.owner_department_id.in_(select(Department.id).where(actor.department_filter(Department.path)))


def list_conflicts(session: Session, *, actor: Actor, status: str = "open", limit: int = 200) -> list[FieldConflict]:
    actor.require("integration.view")
    stmt = select(FieldConflict).where(_conflict_scope(actor))
    if status:
        stmt = stmt.where(FieldConflict.status == status)
    return list(session.execute(stmt.order_by(FieldConflict.id).limit(limit)).scalars())


def _conflict_kinds(session: Session, row: FieldConflict) -> dict[str, masking.FieldKind]:
    if row.entity == "person":
        return masking.PERSON_KINDS
    legal = session.get(LegalPerson, row.entity_id)
    return masking.legal_kinds(legal.uscc if legal else "")


def conflict_read(session: Session, *, cipher: FieldCipher, row: FieldConflict) -> ConflictRead:
    """Both values masked by the same rules as the record they belong to (a birth date shows its year)."""
    names = _dept_names(session)
    kind = _conflict_kinds(session, row).get(row.field, "plain")
    return ConflictRead(
        id=row.id,
        entity=row.entity,
        entity_id=row.entity_id,
        field=_FIELD_LABELS.get(row.field, row.field),
        current_value=masking.mask_value(kind, cipher.decrypt(row.current_enc)),
        current_department=names.get(row.current_department_id or 0, ""),
        incoming_value=masking.mask_value(kind, cipher.decrypt(row.incoming_enc)),
        incoming_department=names.get(row.incoming_department_id, ""),
        run_id=row.run_id,
        status=row.status,
        resolved_by=row.resolved_by,
    )


def conflict_views(session: Session, *, actor: Actor, cipher: FieldCipher, status: str = "open") -> list[ConflictRead]:
    """The conflict list as pages and API show it: the personal values in it are a read, audited once."""
    rows = list_conflicts(session, actor=actor, status=status)
    if rows:
        audit.record(
            session,
            actor.audit,
            action="integration.conflict.list",
            object_type="integration_conflict",
            detail={
                "count": len(rows),
                "ids": [c.id for c in rows],
                "persons": sorted({c.entity_id for c in rows if c.entity == "person"}),
                "legal": sorted({c.entity_id for c in rows if c.entity == "legal"}),
                "masked": True,
            },
        )
    return [conflict_read(session, cipher=cipher, row=c) for c in rows]


def readable_records(session: Session, *, actor: Actor, records: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of these base records, (entity, id), this actor may open, so a list links only to pages that
    answer (departmental records are their department's, whose runs and conflicts the actor already sees)."""
    pairs = list(records)
    people = {i for e, i in pairs if e == "person"}
    legal = {i for e, i in pairs if e == "legal"}
    found = {
        ("person", p.id)
        for p in session.execute(select(Person).where(Person.id.in_(people))).scalars()
        if access.may_read(session, actor, p)
    }
    return (
        found
        | {
            ("legal", e.id)
            for e in session.execute(select(LegalPerson).where(LegalPerson.id.in_(legal))).scalars()
            if access.may_read(session, actor, e)
        }
        | {(e, i) for e, i in pairs if e == "record"}
    )


def resolve_conflict(
    session: Session, *, actor: Actor, cipher: FieldCipher, conflict_id: int, action: str
) -> FieldConflict:
    actor.require("integration.run")
    row = session.execute(
        select(FieldConflict).where(FieldConflict.id == conflict_id, _conflict_scope(actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    if row.status != "open":
        raise Conflict("该冲突已处理")
    if action == "replace":
        spec = entity_loader.PERSON if row.entity == "person" else entity_loader.LEGAL
        entity: Any = session.get(spec.model, row.entity_id)
        if entity is None:
            raise NotFound()
        mark = {"dept": row.incoming_department_id, "run": row.run_id, "resolved_by": actor.user_id}
        run = session.get(Run, row.run_id)
        ctx = load_context.LoadContext(
            run_id=row.run_id,
            source_id=run.source_id if run else 0,
            department_id=row.incoming_department_id,
            owner_department_id=row.owner_department_id,
            resource_id=session.execute(
                select(Resource.id).where(Resource.base_library == ("人口" if row.entity == "person" else "法人"))
            ).scalar()
            or (run.resource_id if run else 0),
            key_field=spec.key_field,
            cipher=cipher,
            now=utcnow(),
            operator=actor.username,
            note="数据冲突：资源部门采用新值",
        )
        entity_loader.apply_value(session, spec, ctx, entity, row.field, cipher.decrypt(row.incoming_enc), mark)
    row.status = "replaced" if action == "replace" else "kept"
    row.resolved_by, row.resolved_at = actor.username, utcnow()
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.conflict.resolve",
        object_type="integration_conflict",
        object_id=row.id,
        detail={"action": action, "field": row.field, "entity": row.entity},
    )
    return row


# --- quality


def latest_quality(session: Session, *, actor: Actor) -> list[QualityRead]:
    actor.require("integration.view")
    latest = (
        select(QualitySnapshot.resource_id, func.max(QualitySnapshot.day).label("day"))
        .group_by(QualitySnapshot.resource_id)
        .subquery()
    )
    rows = session.execute(
        select(QualitySnapshot, Resource.name, Department.name, Department.path)
        .join(latest, (latest.c.resource_id == QualitySnapshot.resource_id) & (latest.c.day == QualitySnapshot.day))
        .join(Resource, Resource.id == QualitySnapshot.resource_id)
        .join(Department, Department.id == Resource.department_id)
        .order_by(Resource.code)
    ).all()
    return [
        QualityRead(
            resource_id=s.resource_id,
            resource_name=rn,
            department_name=dn,
            day=s.day,
            records=s.records,
            completeness=s.completeness,
            validity=s.validity,
            timeliness=s.timeliness,
            duplication=s.duplication,
            overdue=s.overdue,
            last_load_at=s.last_load_at,
        )
        for s, rn, dn, _path in rows  # quality figures are county-wide: every department sees the league table
    ]


def quality_trend(session: Session, *, actor: Actor, resource_id: int, days: int = 90) -> list[dict[str, Any]]:
    actor.require("integration.view")
    rows = (
        session.execute(
            select(QualitySnapshot)
            .where(QualitySnapshot.resource_id == resource_id)
            .order_by(QualitySnapshot.day.desc())
            .limit(days)
        )
        .scalars()
        .all()
    )
    return [
        {
            "day": r.day.isoformat(),
            "completeness": r.completeness,
            "validity": r.validity,
            "timeliness": r.timeliness,
            "duplication": r.duplication,
            "records": r.records,
        }
        for r in reversed(rows)
    ]


def home_cards(session: Session, actor: Actor, settings: Any) -> list[HomeCard]:  # noqa: ARG001 - the signature is fixed by its caller
    """Overdue resources of the actor's department (all, for the data authority) and open conflicts/quarantine."""
    if not actor.can("integration.view"):
        return []
    latest = (
        select(QualitySnapshot.resource_id, func.max(QualitySnapshot.day).label("day"))
        .group_by(QualitySnapshot.resource_id)
        .subquery()
    )
    stmt = (
        select(func.count())
        .select_from(QualitySnapshot)
        .join(latest, (latest.c.resource_id == QualitySnapshot.resource_id) & (latest.c.day == QualitySnapshot.day))
        .join(Resource, Resource.id == QualitySnapshot.resource_id)
        .join(Department, Department.id == Resource.department_id)
        .where(QualitySnapshot.overdue.is_(True), actor.department_filter(Department.path))
    )
    overdue = session.execute(stmt).scalar_one()
    conflicts = len(list_conflicts(session, actor=actor))
    return [
        HomeCard(
            title="超期未更新的资源",
            value=overdue,
            href="/integration/quality?overdue=1",
            group="数据整合",
            alert=overdue > 0,
        ),
        HomeCard(
            title="待处理的数据冲突",
            value=conflicts,
            href="/integration/conflicts",
            group="数据整合",
            alert=conflicts > 0,
        ),
    ]


OWN_FIELDS = ("name", "gender", "birth_date", "address")


def own_record(
    session: Session, *, who: audit.AuditContext, id_index: str, id_masked: str, audited: bool = True
) -> PersonRead | None:
    """A person's own population record, for that person (the citizen portal): name, gender, birth date and
    address in full — it is their own data and they are the one to spot a mistake — while the ID number and
    phone stay masked, as identifiers seen on a phone screen in public. Audited like any read; ``audited=False``
    only for a caller that writes one record for a whole page that includes it (the portal's 我的)."""
    row = session.execute(select(Person).where(Person.id_index == id_index)).scalar_one_or_none()
    if row is None:
        return None
    if audited:
        audit.record(
            session, who, action="integration.person.own_read", object_type="person", object_id=row.id,
            detail={"fields": list(OWN_FIELDS)},
        )  # fmt: skip
    return PersonRead(
        id=row.id,
        id_number=id_masked,
        name=row.name,
        gender=row.gender,
        birth_date=row.birth_date,
        birth_year=row.birth_date.year if row.birth_date else None,
        phone=row.phone_masked,
        address=row.address,
        division_code=row.division_code,
        masked=True,
        provenance={k: v for k, v in (row.provenance or {}).items() if isinstance(v, dict)},
    )
