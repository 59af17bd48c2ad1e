"""我的: what the portal shows a person about themselves — their population record, licences, applications and
notices — each found by the blind index of their own ID number and nothing else, each read audited as
``citizen:<masked ID>``. An id that is not theirs answers 404, exactly like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from zhixian.clock import utcnow
from zhixian.errors import NotFound
from zhixian.integration import service as integration_service
from zhixian.integration.schemas import PersonRead
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.services.licences import service as licences
from zhixian.services.models import ApplicationEvent, Licence, LicenceType, Matter, ServiceApplication
from zhixian.services.portal.models import CitizenNotice

if TYPE_CHECKING:
    from zhixian.services.portal.sessions import CitizenActor


def who(citizen: CitizenActor) -> AuditContext:
    return AuditContext(username=f"citizen:{citizen.id_masked}", ip=citizen.ip)


def _audit(session: Session, citizen: CitizenActor, object_type: str, object_id: str | int, **detail: Any) -> None:
    audit.record(
        session, who(citizen), action="services.citizen_read", object_type=object_type, object_id=object_id,
        detail=detail,
    )  # fmt: skip


@dataclass(frozen=True)
class Overview:
    """Everything 我的 shows of a person's own data, read together."""

    person: PersonRead | None
    licences: list[Licence]
    applications: list[ServiceApplication]
    matter_names: dict[int, str]


def overview(session: Session, *, citizen: CitizenActor) -> Overview:
    """我的 in one read with one audit record naming what it showed (the record's fields, how many licences
    and applications) — not one record per part: each record serialises on the audit chain, and a page view is
    one act of reading one's own data."""
    person = integration_service.own_record(
        session, who=who(citizen), id_index=citizen.id_index, id_masked=citizen.id_masked, audited=False
    )
    held = licences.held_by(session, holder_index=citizen.id_index)
    rows = session.execute(
        select(ServiceApplication, Matter.name)
        .outerjoin(Matter, Matter.id == ServiceApplication.matter_id)
        .where(ServiceApplication.applicant_index == citizen.id_index)
        .order_by(ServiceApplication.id.desc())
        .limit(200)
    ).all()
    apps = [r[0] for r in rows]
    detail = {
        "person": person.id if person else None,
        "fields": list(integration_service.OWN_FIELDS) if person else [],
        "licences": len(held),
        "applications": len(apps),
    }
    _audit(session, citizen, "services_citizen_data", "本人", **detail)
    return Overview(person, held, apps, {a.matter_id: name for a, name in rows if name is not None})


def type_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(LicenceType.code, LicenceType.name)).all())


def my_licence(session: Session, *, citizen: CitizenActor, licence_id: int) -> Licence:
    row = session.get(Licence, licence_id)
    if row is None or row.holder_index != citizen.id_index:
        raise NotFound("电子证照不存在")
    _audit(session, citizen, "services_licence", row.id)
    return row


def owned(session: Session, *, citizen: CitizenActor, application_id: int) -> ServiceApplication:
    """The application if it is this person's; 404 otherwise (another person's is not disclosed)."""
    row = session.execute(
        select(ServiceApplication)
        .where(ServiceApplication.id == application_id, ServiceApplication.applicant_index == citizen.id_index)
        .options(selectinload(ServiceApplication.materials))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("办件不存在")
    return row


def my_application(
    session: Session, *, citizen: CitizenActor, application_id: int
) -> tuple[ServiceApplication, Matter | None, list[ApplicationEvent]]:
    row = owned(session, citizen=citizen, application_id=application_id)
    events = list(
        session.execute(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == row.id)
            .order_by(ApplicationEvent.at, ApplicationEvent.id)
        ).scalars()
    )
    _audit(session, citizen, "services_application", row.id)
    return row, session.get(Matter, row.matter_id), events


def my_notice(session: Session, *, citizen: CitizenActor, notice_id: int) -> CitizenNotice:
    row = session.get(CitizenNotice, notice_id)
    if row is None or row.recipient_index != citizen.id_index:
        raise NotFound("通知不存在")
    if row.read_at is None:
        row.read_at = utcnow()
        session.flush()
    return row
