"""A person's standing consents: ``prefill`` (use my shared data and licences in my applications) and one per
published lookup (``lookup:gjj``). Given and withdrawn rows stay as history; withdrawing ``prefill`` means the
next application starts without consent, so nothing is pre-filled for it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Invalid
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.services.portal.models import CitizenConsent

PREFILL = "prefill"
# published lookups: code → (name, catalogue resource code, what the person is told it reads)
LOOKUPS: dict[str, tuple[str, str, str]] = {
    "gjj": ("住房公积金", "380001/900001", "住建局（住房公积金）记录的本人缴存账户：缴存单位、月缴存额、余额"),
    "wz": ("机动车违章", "380002/900001", "公安局交通警察大队记录的本人名下机动车未处理交通违法"),
}


def scope_name(scope: str) -> str:
    if scope == PREFILL:
        return "办事时使用我的共享数据和电子证照（免提交）"
    code = scope.removeprefix("lookup:")
    return f"查询我的{LOOKUPS[code][0]}" if code in LOOKUPS else scope


def scopes() -> list[str]:
    return [PREFILL, *(f"lookup:{c}" for c in LOOKUPS)]


def history(session: Session, *, citizen_id: int) -> list[CitizenConsent]:
    return list(
        session.execute(
            select(CitizenConsent)
            .where(CitizenConsent.citizen_id == citizen_id)
            .order_by(CitizenConsent.given_at.desc(), CitizenConsent.id.desc())
        ).scalars()
    )


def _live(session: Session, citizen_id: int, scope: str) -> CitizenConsent | None:
    return session.execute(
        select(CitizenConsent)
        .where(
            CitizenConsent.citizen_id == citizen_id,
            CitizenConsent.scope == scope,
            CitizenConsent.withdrawn_at.is_(None),
        )
        .limit(1)
    ).scalar_one_or_none()


def has(session: Session, *, citizen_id: int, scope: str) -> bool:
    return _live(session, citizen_id, scope) is not None


def give(session: Session, *, who: AuditContext, citizen_id: int, scope: str) -> None:
    if scope not in scopes():
        raise Invalid("没有这项授权", field="scope")
    if _live(session, citizen_id, scope) is not None:
        return
    row = CitizenConsent(citizen_id=citizen_id, scope=scope, given_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(
        session, who, action="services.citizen_consent", object_type="services_citizen_consent", object_id=row.id,
        detail={"scope": scope},
    )  # fmt: skip


def withdraw(session: Session, *, who: AuditContext, citizen_id: int, scope: str) -> None:
    if scope not in scopes():
        raise Invalid("没有这项授权", field="scope")
    row = _live(session, citizen_id, scope)
    if row is None:
        return
    row.withdrawn_at = utcnow()
    session.flush()
    audit.record(
        session, who, action="services.citizen_consent_withdraw", object_type="services_citizen_consent",
        object_id=row.id, detail={"scope": scope},
    )  # fmt: skip
