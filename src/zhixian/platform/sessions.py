"""Signed-in sessions and API tokens: the bearer secrets that stand for a user once they have signed in.

Both are high-entropy random values kept only as SHA-256 hashes (a slow hash adds nothing to a
256-bit random value and would cost every request). They are separate from ``auth``, which proves who
someone is (passwords, lockout, TOTP): this module issues the credentials, recognises a caller by them on
every page and API call, and ends them when a password changes or an account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Invalid, NotFound
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.models import ApiToken, User, UserSession
from zhixian.settings import Settings

TOKEN_PREFIX = "zx_"  # noqa: S105 - a marker that makes leaked tokens easy to scan for, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sessions


def create_session(
    session: Session, *, user: User, ip: str, user_agent: str, mfa_passed: bool
) -> tuple[str, UserSession]:
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        ip=ip[:64],
        user_agent=user_agent[:255],
        mfa_passed=mfa_passed,
    )
    session.add(row)
    session.flush()
    return token, row


@dataclass(frozen=True)
class LiveSession:
    id: int
    user_id: int
    csrf_token: str
    mfa_passed: bool


_SESSION_BY_HASH = select(
    UserSession.id,
    UserSession.user_id,
    UserSession.csrf_token,
    UserSession.mfa_passed,
    UserSession.created_at,
    UserSession.last_seen_at,
).where(UserSession.token_hash == bindparam("token_hash"))


def resolve_session(session: Session, *, settings: Settings, token: str) -> LiveSession | None:
    """The live session for a cookie, or None when unknown, idle too long or past its lifetime.

    Runs on every page and API call, so it reads columns, not ORM objects.
    """
    row = session.execute(_SESSION_BY_HASH, {"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    now = utcnow()
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - row.created_at > timedelta(hours=settings.session_absolute_hours)
    if idle or too_old:
        session.execute(delete(UserSession).where(UserSession.id == row.id))
        return None
    if now - row.last_seen_at > timedelta(seconds=15):  # fewer writes; idle precision stays far below a minute
        session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    return LiveSession(row.id, row.user_id, row.csrf_token, row.mfa_passed)


def end_session(session: Session, *, row: UserSession, ctx: AuditContext) -> None:
    session.delete(row)
    audit.record(session, ctx, action="logout", object_type="user", object_id=row.user_id)
    session.flush()


def end_all_sessions(session: Session, *, user_id: int, keep: int | None = None) -> int:
    """Ends the user's sessions (all but ``keep``); the number ended."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


# --- API tokens


def revoke_all_tokens(session: Session, *, user_id: int) -> int:
    """Revokes every live API token of the user (a changed or reset password ends machine access too)."""
    stmt = (
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def create_api_token(
    session: Session, *, user: User, name: str, days: int | None, settings: Settings, ctx: AuditContext
) -> tuple[str, ApiToken]:
    """Every token expires: ``days`` defaults to the setting and may not exceed ``api_token_max_days``."""
    days = days or settings.api_token_default_days
    if days > settings.api_token_max_days:
        raise Invalid(f"有效天数不能超过 {settings.api_token_max_days} 天", field="days")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:10],
        token_hash=token_hash(plain),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        ctx,
        action="api_token_create",
        object_type="api_token",
        object_id=row.id,
        detail={"name": name, "user_id": user.id, "days": days},
    )
    return plain, row


def resolve_api_token(session: Session, *, token: str, settings: Settings) -> int | None:
    """The user id behind a live bearer token (revoked and expired tokens count as unknown).

    Tokens made before expiry was required end ``api_token_max_days`` after they were created.
    """
    row = session.execute(
        select(
            ApiToken.id,
            ApiToken.user_id,
            ApiToken.revoked,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.last_used_at,
        ).where(ApiToken.token_hash == token_hash(token))
    ).first()
    now = utcnow()
    if row is None or row.revoked:
        return None
    expires = row.expires_at or row.created_at + timedelta(days=settings.api_token_max_days)
    if expires < now:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return int(row.user_id)


def revoke_api_token(session: Session, *, token_id: int, user: User, ctx: AuditContext) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("令牌不存在")
    row.revoked = True
    audit.record(session, ctx, action="api_token_revoke", object_type="api_token", object_id=row.id)
