"""Sign-in, sessions, API tokens, password policy and TOTP (等保 items 1-6).

Secrets are only ever kept as hashes: argon2 for passwords, SHA-256 for high-entropy session and
API tokens (a slow hash adds nothing to a 256-bit random value and would cost every request).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import ApiToken, User, UserSession
from zhixian.settings import Settings

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown users, so probing usernames costs the same as a real check."""
    return _hasher.hash("not-a-real-password-但足够长")


TOKEN_PREFIX = "zx_"  # noqa: S105 - a marker that makes leaked tokens easy to scan for, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_problems(password: str, *, settings: Settings, username: str = "") -> list[str]:
    """Chinese reasons a password breaks the policy; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < settings.password_min_length:
        problems.append(f"密码长度至少 {settings.password_min_length} 位")
    if len(password) > 128:
        problems.append("密码长度不能超过 128 位")
    classes = sum(
        [
            any(c.islower() and c.isascii() for c in password),
            any(c.isupper() and c.isascii() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() or not c.isascii() for c in password),
        ]
    )
    if classes < settings.password_min_classes:
        problems.append(f"密码须包含大写字母、小写字母、数字、特殊字符中的至少 {settings.password_min_classes} 类")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    if password.lower() in _COMMON_PASSWORDS:
        problems.append("密码过于常见，容易被猜中")
    return problems


_COMMON_PASSWORDS = frozenset(
    {
        "password1!",
        "p@ssw0rd",
        "p@ssword1",
        "admin@123",
        "admin123!",
        "abc@1234",
        "qwer@1234",
        "1qaz@wsx",
        "1qaz!qaz",
        "passw0rd!",
        "zhixian@123",
        "welcome1!",
        "aa123456!",
        "a1234567!",
    }
)


def check_password(password: str, *, settings: Settings, username: str = "", field: str = "password") -> None:
    problems = password_problems(password, settings=settings, username=username)
    if problems:
        raise Invalid("；".join(problems), [FieldError(p, field=field) for p in problems])


def generate_password(length: int = 16) -> str:
    """A bootstrap password that passes any policy; its owner must change it at first sign-in."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = "".join(secrets.choice(alphabet) for _ in range(length - 2))
        pw = core + secrets.choice("!@#%^*") + secrets.choice(string.digits)
        if any(c.islower() for c in pw) and any(c.isupper() for c in pw):
            return pw


@dataclass
class LoginOutcome:
    ok: bool
    message: str = ""
    user: User | None = None
    token: str | None = None
    session: UserSession | None = None
    must_change_password: bool = False
    mfa_required: bool = False


def _failure(session: Session, ctx: AuditContext, username: str, reason: str, user: User | None) -> None:
    audit.record(
        session,
        AuditContext(user.id if user else None, username, user.department_id if user else None, ctx.ip),
        action="login_failed",
        object_type="user",
        object_id=user.id if user else username,
        result="失败",
        detail={"reason": reason},
    )


def authenticate(
    session: Session, *, settings: Settings, username: str, password: str, ctx: AuditContext, user_agent: str = ""
) -> LoginOutcome:
    """Check a password sign-in; every outcome is audited, a fifth failure locks the account."""
    now = utcnow()
    generic = "用户名或密码错误"
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        _verify(_dummy_hash(), password)  # same cost as a real check: no username probing by timing
        _failure(session, ctx, username[:64], "unknown_user", None)
        return LoginOutcome(ok=False, message=generic)
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        _failure(session, ctx, username, "locked", user)
        return LoginOutcome(ok=False, message=f"账号已锁定，请 {minutes} 分钟后再试或联系安全管理员")
    if not user.active:
        _failure(session, ctx, username, "disabled", user)
        return LoginOutcome(ok=False, message="账号已停用，请联系安全管理员")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        _failure(session, ctx, username, "bad_password", user)
        if user.failed_logins >= settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            audit.record(
                session,
                AuditContext(user.id, user.username, user.department_id, ctx.ip),
                action="account_locked",
                object_type="user",
                object_id=user.id,
                result="锁定",
                detail={"minutes": settings.lockout_minutes, "threshold": settings.lockout_threshold},
            )
            session.flush()
            return LoginOutcome(
                ok=False,
                message=f"连续 {settings.lockout_threshold} 次密码错误，账号已锁定 {settings.lockout_minutes} 分钟",
            )
        session.flush()
        left = settings.lockout_threshold - user.failed_logins
        return LoginOutcome(ok=False, message=f"{generic}，再错 {left} 次将锁定账号")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    expired = settings.password_max_age_days and user.password_changed_at < now - timedelta(
        days=settings.password_max_age_days
    )
    if expired:
        user.must_change_password = True
    mfa_required = user.totp_enabled or bool({r.code for r in user.roles} & set(settings.mfa_required_roles))
    token, user_session = create_session(
        session, user=user, ip=ctx.ip, user_agent=user_agent, mfa_passed=not mfa_required
    )
    audit.record(
        session,
        AuditContext(user.id, user.username, user.department_id, ctx.ip),
        action="login",
        object_type="user",
        object_id=user.id,
        detail={"mfa_pending": mfa_required},
    )
    return LoginOutcome(
        ok=True,
        user=user,
        token=token,
        session=user_session,
        must_change_password=user.must_change_password,
        mfa_required=mfa_required,
    )


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


def end_all_sessions(session: Session, *, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def change_password(
    session: Session, *, settings: Settings, user: User, current: str, new: str, ctx: AuditContext
) -> None:
    if not _verify(user.password_hash, current):
        audit.record(session, ctx, action="password_change", object_type="user", object_id=user.id, result="失败")
        raise Invalid("当前密码不正确", field="current_password")
    if current == new:
        raise Invalid("新密码不能与当前密码相同", field="new_password")
    check_password(new, settings=settings, username=user.username, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    audit.record(session, ctx, action="password_change", object_type="user", object_id=user.id)
    session.flush()


# --- API tokens


def create_api_token(
    session: Session, *, user: User, name: str, days: int | None, ctx: AuditContext
) -> tuple[str, ApiToken]:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:10],
        token_hash=token_hash(plain),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        ctx,
        action="api_token_create",
        object_type="api_token",
        object_id=row.id,
        detail={"name": name, "user_id": user.id},
    )
    return plain, row


def resolve_api_token(session: Session, *, token: str) -> int | None:
    """The user id behind a live bearer token (revoked and expired tokens count as unknown)."""
    row = session.execute(
        select(ApiToken.id, ApiToken.user_id, ApiToken.revoked, ApiToken.expires_at, ApiToken.last_used_at).where(
            ApiToken.token_hash == token_hash(token)
        )
    ).first()
    now = utcnow()
    if row is None or row.revoked or (row.expires_at and row.expires_at < now):
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


# --- TOTP second factor


def totp_begin(session: Session, *, user: User, cipher: FieldCipher) -> str:
    """A fresh secret kept encrypted until the user proves they can generate codes with it."""
    if user.totp_enabled:
        raise Conflict("已启用动态口令")
    secret = pyotp.random_base32()
    user.totp_secret_enc = cipher.encrypt(secret)
    session.flush()
    return secret


def totp_check(user: User, code: str, *, cipher: FieldCipher) -> bool:
    if not user.totp_secret_enc or not code.isdigit():
        return False
    return pyotp.TOTP(cipher.decrypt(user.totp_secret_enc)).verify(code, valid_window=1)


def totp_confirm(session: Session, *, user: User, code: str, cipher: FieldCipher, ctx: AuditContext) -> None:
    if not totp_check(user, code, cipher=cipher):
        raise Invalid("动态口令不正确", field="code")
    user.totp_enabled = True
    audit.record(session, ctx, action="totp_enable", object_type="user", object_id=user.id)
    session.flush()


def totp_provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def session_age(row: UserSession) -> timedelta:
    return utcnow() - row.created_at


def is_dormant(user: User, *, days: int, now: datetime | None = None) -> bool:
    ref = user.last_login_at or user.created_at
    return (now or utcnow()) - ref > timedelta(days=days)
