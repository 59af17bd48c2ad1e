"""网上办: a signed-in person applies for a matter themselves (channel ``online``), gives consent, sees materials
pre-filled, uploads the rest, answers a 补正 and rates the result.

The window's rules are not written twice: the person acts through the same service functions as a window
clerk, as a "desk" that stands for the department the application sits at and holds only the window's
permissions — but only after the application was found by the person's own blind index (anything else is a
404), and with the audit records naming ``citizen:<masked ID>`` and no department.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.platform.actor import Actor
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.models import Matter, Rating, ServiceApplication
from zhixian.services.portal import consents, mydata
from zhixian.services.portal.models import Citizen
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import ApplicationIn, PrefillRead, RatingIn
from zhixian.services.settings import PORTAL_DEPARTMENT
from zhixian.settings import Settings

if TYPE_CHECKING:
    from zhixian.services.portal.sessions import CitizenActor

ONLINE_FIRST = "全程网办"


@dataclass(frozen=True)
class _Desk(Actor):
    """The window's permissions at one department, acting for the signed-in person on their own application."""

    @property
    def audit(self) -> AuditContext:
        return AuditContext(None, self.username, None, self.ip)


def _desk(citizen: CitizenActor, department_id: int, department_path: str) -> Actor:
    return _Desk(
        user_id=0,
        username=f"citizen:{citizen.id_masked}",
        full_name=f"申请人本人（网上）{citizen.name[:1]}*",
        department_id=department_id,
        department_path=department_path,
        department_name="",
        permissions=frozenset({applications.VIEW, applications.WINDOW}),
        ip=citizen.ip,
    )


def _at(citizen: CitizenActor, row: ServiceApplication) -> Actor:
    return _desk(citizen, row.intake_department_id, row.intake_path)


def _matters(q: str) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [Matter.status == "active"]
    if q.strip():
        out.append(or_(Matter.name.contains(q.strip()), Matter.code == q.strip()))
    return out


def list_matters(session: Session, *, q: str = "", offset: int = 0, limit: int = 30) -> tuple[list[Matter], int]:
    """The public catalogue, 全程网办 matters first; counted with the same conditions."""
    stmt: Select[Any] = select(Matter).where(*_matters(q))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    first = case((Matter.online_depth == ONLINE_FIRST, 0), else_=1)
    rows = session.execute(stmt.order_by(first, Matter.level, Matter.name, Matter.id).offset(offset).limit(limit))
    return list(rows.scalars()), total


def get_matter(session: Session, *, matter_id: int) -> Matter:
    row = session.get(Matter, matter_id)
    if row is None or row.status != "active":
        raise NotFound("事项不存在")
    return row


def apply(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    citizen: CitizenActor,
    matter_id: int,
    consent: bool,
) -> tuple[ServiceApplication, PrefillRead | None]:
    """A new online application for the person, taken in by the county's online hall (the portal's department,
    whose window clerks accept it like any other); with the person's consent (given now or standing) the
    shared-data and licence materials are pre-filled at once under the handling department's grant."""
    matter = get_matter(session, matter_id=matter_id)
    person = session.get(Citizen, citizen.citizen_id)
    if person is None:
        raise NotFound("请重新登录")
    if consent:
        consents.give(session, who=mydata.who(citizen), citizen_id=citizen.citizen_id, scope=consents.PREFILL)
    agreed = consents.has(session, citizen_id=citizen.citizen_id, scope=consents.PREFILL)
    key = cipher.decrypt(person.id_enc, index=person.id_index)
    phone = cipher.decrypt(person.phone_enc) if person.phone_enc else ""
    data = ApplicationIn(
        matter_id=matter.id, applicant_key=key, applicant_name=person.name, phone=phone, consent=agreed
    )
    hall = matters.Departments(session).by_code.get(settings.declared(PORTAL_DEPARTMENT))
    desk = _desk(citizen, hall.id, hall.path) if hall else _desk(citizen, matter.department_id, matter.department_path)
    row = applications.create(session, actor=desk, settings=settings, cipher=cipher, data=data)
    row.channel = "online"
    session.flush()
    filled = (
        materials.prefill(session, actor=desk, settings=settings, cipher=cipher, application_id=row.id)
        if agreed
        else None
    )
    return row, filled


def prefill(
    session: Session, *, settings: Settings, cipher: FieldCipher, citizen: CitizenActor, application_id: int
) -> PrefillRead:
    """Pre-fill again (e.g. after giving consent later): the application must carry consent."""
    row = mydata.owned(session, citizen=citizen, application_id=application_id)
    desk = _at(citizen, row)
    if not row.consent:
        if not consents.has(session, citizen_id=citizen.citizen_id, scope=consents.PREFILL):
            raise Conflict("你尚未同意使用共享数据和电子证照，请先在“我的授权”中同意")
        applications.record_consent(session, actor=desk, application_id=row.id)
    return materials.prefill(session, actor=desk, settings=settings, cipher=cipher, application_id=row.id)


def upload(
    session: Session,
    *,
    settings: Settings,
    citizen: CitizenActor,
    application_id: int,
    material_row_id: int,
    file_name: str,
    content: bytes,
) -> ServiceApplication:
    row = mydata.owned(session, citizen=citizen, application_id=application_id)
    materials.receive_upload(
        session, actor=_at(citizen, row), settings=settings, application_id=row.id,
        material_row_id=material_row_id, file_name=file_name, content=content,
    )  # fmt: skip
    item = next(m for m in row.materials if m.id == material_row_id)
    item.note = "申请人网上提交"
    session.flush()
    return row


def submit(session: Session, *, citizen: CitizenActor, application_id: int, note: str = "") -> ServiceApplication:
    """网上提交 (or, after a 补正 request, the answer): every required material must be there; the window then
    accepts it. An answered 补正 goes back to 待受理."""
    row = mydata.owned(session, citizen=citizen, application_id=application_id)
    desk = _at(citizen, row)
    if row.status not in ("received", "correction"):
        raise Conflict("办件已受理或已办结，不能再提交")
    lacking = applications.missing(row)
    if lacking:
        raise Invalid(f"还缺少材料：{'、'.join(lacking)}", field="materials")
    action = "answer" if row.status == "correction" else "submit"
    if action == "answer":
        row.status = "received"
    applications.log_event(session, desk, row, action, note.strip()[:1000] or "材料已齐全", items=row.correction)
    return row


def rate(session: Session, *, settings: Settings, citizen: CitizenActor, application_id: int, data: RatingIn) -> Rating:
    """好差评 by the applicant: the window's rules (finished or refused, once, reasons for a bad grade; a bad
    grade opens a rectification)."""
    row = mydata.owned(session, citizen=citizen, application_id=application_id)
    return ratings.rate(session, actor=_at(citizen, row), settings=settings, application_id=row.id, data=data)


def rating_of(session: Session, *, application_id: int) -> Rating | None:
    return session.execute(select(Rating).where(Rating.application_id == application_id)).scalar_one_or_none()
