"""Applications and their credentials: a client id and a secret shown once, kept SM4-encrypted.

A consuming department registers the systems that call the gateway. The secret is write-only: it is
shown when issued or rotated and never again (the API and pages show its fingerprint). The server
keeps it encrypted, not hashed, because checking an HMAC needs the key itself (security.md item 14).
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, NotFound, NotPermitted
from zhixian.exchange import signing, timeline
from zhixian.exchange.models import Application
from zhixian.exchange.schemas import ApplicationIn, ApplicationRead, ApplicationUpdate
from zhixian.exchange.settings import DAILY_QUOTA, RATE_PER_MINUTE
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Department
from zhixian.settings import Settings

AUTHORITY = "exchange.authority"
MANAGE = "exchange.request"


def _scope(actor: Actor) -> ColumnElement[bool]:
    """A department manages its own applications (and its units'); the data authority sees all."""
    if actor.can(AUTHORITY) and actor.county_scope:
        return Application.id.is_not(None)
    return Application.department_id.in_(select(Department.id).where(actor.department_filter(Department.path)))


def list_applications(session: Session, *, actor: Actor) -> list[Application]:
    actor.require("exchange.view")
    return list(session.execute(select(Application).where(_scope(actor)).order_by(Application.id)).scalars())


def get_application(session: Session, *, actor: Actor, application_id: int) -> Application:
    actor.require("exchange.view")
    row = session.execute(
        select(Application).where(Application.id == application_id, _scope(actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("应用不存在或不属于本部门")
    return row


def visible(session: Session, *, actor: Actor, application_id: int | None) -> bool:
    """Whether the actor may open the application's page (a grant's provider sees the grant, not the app)."""
    if application_id is None or not actor.can("exchange.view"):
        return False
    found = select(Application.id).where(Application.id == application_id, _scope(actor))
    return session.execute(found).first() is not None


def _own(actor: Actor, row: Application, session: Session) -> None:
    """Only the owning department changes an application; the authority may look but not take it over."""
    dept = session.get(Department, row.department_id)
    if dept is None or not dept.path.startswith(actor.department_path):
        raise NotPermitted("只能管理本部门（含下属单位）的应用")


def application_read(session: Session, row: Application) -> ApplicationRead:
    out = ApplicationRead.model_validate(row)
    dept = session.get(Department, row.department_id)
    out.department_name = dept.name if dept else ""
    return out


def create_application(
    session: Session, *, actor: Actor, cipher: FieldCipher, settings: Settings, data: ApplicationIn
) -> tuple[Application, str]:
    """A new application and its secret (the only time the secret leaves the server)."""
    actor.require(MANAGE)
    name_taken = session.execute(
        select(Application.id).where(Application.department_id == actor.department_id, Application.name == data.name)
    ).first()
    if name_taken:
        taken = f"本部门已有名为“{data.name}”的应用"
        raise Conflict(taken, [FieldError(taken, field="name")])
    secret = signing.new_secret()
    row = Application(
        department_id=actor.department_id,
        name=data.name,
        description=data.description,
        client_id=signing.new_client_id(),
        secret_enc=cipher.encrypt(secret),
        secret_fingerprint=signing.fingerprint(secret),
        ip_allow=data.ip_allow,
        rate_per_minute=data.rate_per_minute or settings.declared(RATE_PER_MINUTE),
        daily_quota=data.daily_quota or settings.declared(DAILY_QUOTA),
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    timeline.step(
        session,
        actor.audit,
        action="app_created",
        application=row,
        note=row.name,
        detail={"client_id": row.client_id, "ip_allow": row.ip_allow, "fingerprint": row.secret_fingerprint},
    )
    return row, secret


def update_application(session: Session, *, actor: Actor, application_id: int, data: ApplicationUpdate) -> Application:
    actor.require(MANAGE)
    row = get_application(session, actor=actor, application_id=application_id)
    _own(actor, row, session)
    changes = data.model_dump(exclude_none=True)
    before = {k: getattr(row, k) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    timeline.step(
        session,
        actor.audit,
        action="app_updated",
        application=row,
        note="停用" if changes.get("status") == "disabled" else "启用" if changes.get("status") == "active" else "",
        detail={"before": before, "after": changes},
    )
    return row


def rotate_secret(
    session: Session, *, actor: Actor, cipher: FieldCipher, application_id: int
) -> tuple[Application, str]:
    """A new secret at once; calls signed with the old one are refused from now on."""
    actor.require(MANAGE)
    row = get_application(session, actor=actor, application_id=application_id)
    _own(actor, row, session)
    secret = signing.new_secret()
    row.secret_enc = cipher.encrypt(secret)
    row.secret_fingerprint = signing.fingerprint(secret)
    row.secret_version += 1
    row.secret_rotated_at = utcnow()
    session.flush()
    timeline.step(
        session,
        actor.audit,
        action="secret_rotated",
        application=row,
        detail={"version": row.secret_version, "fingerprint": row.secret_fingerprint},
    )
    return row, secret


_BY_CLIENT = select(Application).where(Application.client_id == bindparam("cid"))


def by_client_id(session: Session, client_id: str) -> Application | None:
    return session.execute(_BY_CLIENT, {"cid": client_id}).scalar_one_or_none()


@lru_cache(maxsize=4096)
def _opened(cipher: FieldCipher, secret_enc: str) -> str:
    return cipher.decrypt(secret_enc)


def secret_of(cipher: FieldCipher, row: Application) -> str:
    """The secret in clear for checking a signature; cached per ciphertext, so a rotation takes effect at once."""
    return _opened(cipher, row.secret_enc)


def department_applications(session: Session, department_ids: list[int]) -> list[Application]:
    return list(
        session.execute(
            select(Application).where(Application.department_id.in_(department_ids)).order_by(Application.id)
        ).scalars()
    )
