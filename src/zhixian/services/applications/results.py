"""结果文书: the printable document an application ends a step with (办结, 不予受理, 补正), and its public check.

A document's number is the application's with the kind's prefix; its verification code is a keyed hash
(the node's blind-index key) of that number, so nobody can forge a code or walk through others' documents.
The public check answers only the document number, the matter, the date and whether it is still valid:
no applicant, no ID number, no reason (those are personal data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ
from zhixian.errors import Invalid, NotFound
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.models import ApplicationEvent, Matter, ServiceApplication

# status the document belongs to → (number prefix, title)
KINDS: dict[str, tuple[str, str]] = {
    "done": ("JG", "办理结果通知书"),
    "rejected": ("BY", "不予受理通知书"),
    "correction": ("BZ", "补正材料一次性告知书"),
}
_PREFIX_STATUS = {prefix: status for status, (prefix, _) in KINDS.items()}
_CODE = re.compile(r"^(JG|BY|BZ)(\d{8})(\d{6,12})-([0-9a-f]{16})$")
DECISIONS = {"approve": "准予", "deny": "不予"}


@dataclass(frozen=True)
class ResultDocument:
    kind: str
    title: str
    number: str
    code: str  # number-signature, the path of the public check
    application_number: str
    matter_name: str
    department_name: str
    applicant_name: str
    applicant_masked: str
    received_at: datetime
    issued_on: date
    decision: str
    reason: str
    items: list[str]


@dataclass(frozen=True)
class PublicCheck:
    """What anyone holding the QR code may learn: nothing personal."""

    number: str
    title: str
    matter_name: str
    department_name: str
    issued_on: date
    valid: bool
    validity: str


def _number(row: ServiceApplication, status: str) -> str:
    return KINDS[status][0] + applications.number(row).removeprefix("BJ")


def _sign(cipher: FieldCipher, number: str) -> str:
    return cipher.blind_index(f"services.result|{number}")[:16]


def _issued(session: Session, row: ServiceApplication, status: str) -> date:
    """The day of the step the document records (the last 补正 for a notice, else the end of the application)."""
    at = row.done_at
    if status == "correction" or at is None:
        at = (
            session.execute(
                select(ApplicationEvent.at)
                .where(ApplicationEvent.application_id == row.id, ApplicationEvent.action == "correction")
                .order_by(ApplicationEvent.at.desc())
                .limit(1)
            ).scalar()
            or row.updated_at
        )
    return at.astimezone(LOCAL_TZ).date()


def document(session: Session, *, actor: Actor, cipher: FieldCipher, application_id: int) -> ResultDocument:
    """The document of the application's current step, for staff who may see the application."""
    row = applications.get_application(session, actor=actor, application_id=application_id)
    if row.status not in KINDS:
        raise Invalid("办件尚未办结、不予受理或需要补正，还没有结果文书")
    matter = session.get(Matter, row.matter_id)
    number = _number(row, row.status)
    return ResultDocument(
        kind=row.status,
        title=KINDS[row.status][1],
        number=number,
        code=f"{number}-{_sign(cipher, number)}",
        application_number=applications.number(row),
        matter_name=matter.name if matter else "",
        department_name=matters.Departments(session).name(row.department_id),
        applicant_name=row.applicant_name,
        applicant_masked=row.applicant_masked,
        received_at=row.received_at,
        issued_on=_issued(session, row, row.status),
        decision=DECISIONS.get(row.decision, ""),
        reason=row.reason,
        items=list(row.correction),
    )


def verify(session: Session, *, cipher: FieldCipher, code: str) -> PublicCheck:
    """The public check behind the QR code; a wrong or forged code is simply not found."""
    found = _CODE.match(code)
    if found is None:
        raise NotFound("文书编号或校验码不正确")
    prefix, _, app_id, signature = found.groups()
    number = code.split("-", 1)[0]
    row = session.get(ServiceApplication, int(app_id))
    if row is None or _number(row, _PREFIX_STATUS[prefix]) != number or _sign(cipher, number) != signature:
        raise NotFound("文书编号或校验码不正确")
    status = _PREFIX_STATUS[prefix]
    valid = row.status == status
    if valid:
        validity = "有效"
    elif status == "correction":
        validity = "已失效：申请人已补正，办件已进入后续环节"
    else:
        validity = "已失效：办件状态已变更"
    matter = session.get(Matter, row.matter_id)
    return PublicCheck(
        number=number,
        title=KINDS[status][1],
        matter_name=matter.name if matter else "",
        department_name=matters.Departments(session).name(row.department_id),
        issued_on=_issued(session, row, status),
        valid=valid,
        validity=validity,
    )
