"""The citizen realm's sessions (the route dependencies and page renderer are in ``portal/web.py``).

Citizens sign in on ``/portal/login`` and hold the cookie ``zx_citizen``; staff hold ``zx_session``. The two
realms share no table and no cookie, so a staff session never opens a citizen page and a citizen session never
reaches a staff route. Writes need the session's CSRF token (form field ``csrf_token`` or header X-CSRF-Token).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.services.portal.models import Citizen, CitizenCode, CitizenSession
from zhixian.services.settings import CITIZEN_IDLE_MINUTES, CITIZEN_SESSION_HOURS
from zhixian.settings import Settings


def token_hash(token: str) -> str:
    """SHA-256 of a secret, as stored (the platform's session tokens are kept the same way)."""
    return hashlib.sha256(token.encode()).hexdigest()


CITIZEN_COOKIE = "zx_citizen"


@dataclass(frozen=True)
class CitizenActor:
    """Who is asking on a citizen page: every query of the portal is scoped by ``id_index``."""

    citizen_id: int
    id_index: str
    name: str
    id_masked: str
    session_id: int
    csrf_token: str
    ip: str


def limits(settings: Settings) -> tuple[timedelta, timedelta]:
    """(idle, lifetime) of a citizen session: the portal's own, shorter than staff sessions (see settings)."""
    return (
        timedelta(minutes=settings.declared(CITIZEN_IDLE_MINUTES)),
        timedelta(hours=settings.declared(CITIZEN_SESSION_HOURS)),
    )


def create_session(session: Session, *, citizen: Citizen, ip: str, user_agent: str) -> str:
    """A new session for ``citizen``; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        CitizenSession(
            token_hash=token_hash(token),
            citizen_id=citizen.id,
            csrf_token=secrets.token_urlsafe(24),
            ip=ip[:64],
            user_agent=user_agent[:255],
        )
    )
    citizen.last_sign_in_at = utcnow()
    session.flush()
    return token


def resolve(session: Session, *, settings: Settings, token: str, ip: str = "") -> CitizenActor | None:
    """The citizen behind a cookie, or None when unknown, idle too long or past its lifetime."""
    row = session.execute(
        select(CitizenSession, Citizen)
        .join(Citizen, Citizen.id == CitizenSession.citizen_id)
        .where(CitizenSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    live, citizen = row
    now = utcnow()
    idle_for, lifetime = limits(settings)
    idle = now - live.last_seen_at > idle_for
    too_old = now - live.created_at > lifetime
    if idle or too_old:
        session.execute(delete(CitizenSession).where(CitizenSession.id == live.id))
        return None
    if now - live.last_seen_at > timedelta(seconds=15):
        session.execute(update(CitizenSession).where(CitizenSession.id == live.id).values(last_seen_at=now))
    return CitizenActor(citizen.id, citizen.id_index, citizen.name, citizen.id_masked, live.id, live.csrf_token, ip)


# the per-number and per-address limits look back one hour; a day leaves room to review abuse
CODE_KEEP = timedelta(days=1)


def purge(session: Session, *, settings: Settings) -> int:
    """Delete sessions past their idle time or lifetime (``resolve`` deletes them only when they come back) and
    sign-in code rows older than ``CODE_KEEP`` (they hold the name, encrypted ID number and phone typed in).
    Returns how many rows went."""
    now = utcnow()
    idle_for, lifetime = limits(settings)
    idle, old = now - idle_for, now - lifetime
    ended = session.execute(
        delete(CitizenSession).where((CitizenSession.last_seen_at < idle) | (CitizenSession.created_at < old))
    )
    codes = session.execute(delete(CitizenCode).where(CitizenCode.created_at < now - CODE_KEEP))
    return int(ended.rowcount or 0) + int(codes.rowcount or 0)  # type: ignore[attr-defined]


def end_session(session: Session, *, session_id: int) -> None:
    session.execute(delete(CitizenSession).where(CitizenSession.id == session_id))
