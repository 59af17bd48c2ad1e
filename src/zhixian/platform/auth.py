"""Sign-in, password policy and changes, lockout and TOTP (等保 items 1-6).

Passwords are only ever kept as argon2 hashes. The session or API token a sign-in leads to, and the
ending of them when a password changes, are in ``sessions``.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import PasswordHistory, User, UserSession
from zhixian.platform.sessions import create_session, end_all_sessions, revoke_all_tokens
from zhixian.settings import Settings

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown users, so probing usernames costs the same as a real check."""
    return _hasher.hash("not-a-real-password-但足够长")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


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


GENERIC_LOGIN_FAILURE = "用户名或密码错误"


def register_failure(session: Session, *, settings: Settings, user: User, ctx: AuditContext, reason: str) -> None:
    """One more failed proof (password or TOTP) for a real account; the threshold-th locks it, audited."""
    now = utcnow()
    user.failed_logins += 1
    _failure(session, ctx, user.username, reason, user)
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
            detail={"minutes": settings.lockout_minutes, "threshold": settings.lockout_threshold, "reason": reason},
        )
    session.flush()


def is_locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > utcnow())


def authenticate(
    session: Session, *, settings: Settings, username: str, password: str, ctx: AuditContext, user_agent: str = ""
) -> LoginOutcome:
    """Check a password sign-in; every outcome is audited, the threshold-th failure locks the account.

    Unknown users and wrong passwords get the same message. Whether an account is locked or disabled
    is only told to someone who gave its correct password; wrong guesses during a lockout still count
    (they extend it), so the lockout cannot be used as an unlimited password oracle.
    """
    now = utcnow()
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        _verify(_dummy_hash(), password)  # same cost as a real check: no username probing by timing
        _failure(session, ctx, username[:64], "unknown_user", None)
        return LoginOutcome(ok=False, message=GENERIC_LOGIN_FAILURE)
    if not _verify(user.password_hash, password):
        if user.active:
            register_failure(session, settings=settings, user=user, ctx=ctx, reason="bad_password")
        else:
            _failure(session, ctx, username, "disabled", user)
        return LoginOutcome(ok=False, message=GENERIC_LOGIN_FAILURE)
    if not user.active:
        _failure(session, ctx, username, "disabled", user)
        return LoginOutcome(ok=False, message="账号已停用，请联系安全管理员")
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        _failure(session, ctx, username, "locked", user)
        return LoginOutcome(ok=False, message=f"账号已锁定，请 {minutes} 分钟后再试或联系安全管理员")
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


@dataclass(frozen=True)
class Ended:
    """What a password change or reset ended, for the message shown where it happened."""

    sessions: int
    tokens: int

    @property
    def message(self) -> str:
        return f"已结束该账号的其他 {self.sessions} 个登录会话，并吊销全部 {self.tokens} 个 API 令牌"


def set_password(session: Session, *, settings: Settings, user: User, new: str, keep_session: int | None) -> Ended:
    """Stores a new password, keeps the old hash in the history and ends sessions and API tokens."""
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    session.flush()
    keep_ids = select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
    keep_ids = keep_ids.order_by(PasswordHistory.id.desc()).limit(max(settings.password_history_count - 1, 1))
    session.execute(
        delete(PasswordHistory).where(
            PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(list(session.execute(keep_ids).scalars()))
        )
    )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    ended = Ended(
        sessions=end_all_sessions(session, user_id=user.id, keep=keep_session),
        tokens=revoke_all_tokens(session, user_id=user.id),
    )
    session.flush()
    return ended


def _recently_used(session: Session, *, settings: Settings, user: User, password: str) -> bool:
    """The current password and the previous ones up to ``password_history_count`` in all."""
    older = session.execute(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .limit(settings.password_history_count - 1)
    ).scalars()
    return any(_verify(h, password) for h in [user.password_hash, *older])


def change_password(
    session: Session,
    *,
    settings: Settings,
    user: User,
    current: str,
    new: str,
    ctx: AuditContext,
    session_id: int | None = None,
) -> Ended:
    """The user's own change: every other session and every API token of the user ends."""
    if not _verify(user.password_hash, current):
        audit.record(session, ctx, action="password_change", object_type="user", object_id=user.id, result="失败")
        raise Invalid("当前密码不正确", field="current_password")
    if current == new:
        raise Invalid("新密码不能与当前密码相同", field="new_password")
    check_password(new, settings=settings, username=user.username, field="new_password")
    if _recently_used(session, settings=settings, user=user, password=new):
        raise Invalid(f"新密码不能与最近 {settings.password_history_count} 次使用过的密码相同", field="new_password")
    ended = set_password(session, settings=settings, user=user, new=new, keep_session=session_id)
    user.must_change_password = False
    audit.record(
        session,
        ctx,
        action="password_change",
        object_type="user",
        object_id=user.id,
        detail={"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens},
    )
    session.flush()
    return ended


# --- TOTP second factor


def totp_begin(session: Session, *, user: User, cipher: FieldCipher) -> str:
    """A fresh secret kept encrypted until the user proves they can generate codes with it."""
    if user.totp_enabled:
        raise Conflict("已启用动态口令")
    secret = pyotp.random_base32()
    user.totp_secret_enc = cipher.encrypt(secret)
    session.flush()
    return secret


def totp_check(user: User, code: str, *, cipher: FieldCipher) -> int | None:
    """The time-step a code is valid for (one step of clock drift either way), or None."""
    if not user.totp_secret_enc or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(cipher.decrypt(user.totp_secret_enc))
    now = utcnow()
    for drift in (0, -1, 1):
        at = now + timedelta(seconds=drift * totp.interval)
        if hmac.compare_digest(totp.at(at), code):
            return int(totp.timecode(at))
    return None


def totp_verify(
    session: Session, *, settings: Settings, user: User, code: str, cipher: FieldCipher, ctx: AuditContext
) -> bool:
    """A TOTP proof: a wrong code counts toward the lockout like a wrong password, and a code is
    accepted once only. The last accepted time-step is claimed with one conditional UPDATE, so two
    workers cannot both accept the same code."""
    if is_locked(user):
        _failure(session, ctx, user.username, "locked", user)
        return False
    step = totp_check(user, code, cipher=cipher)
    claimed = 0
    if step is not None:
        claim = (
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        claimed = int(session.execute(claim).rowcount or 0)  # type: ignore[attr-defined]
    if not claimed:
        reason = "bad_totp" if step is None else "reused_totp"
        register_failure(session, settings=settings, user=user, ctx=ctx, reason=reason)
        if is_locked(user):
            end_all_sessions(session, user_id=user.id)
        return False
    user.failed_logins = 0
    session.flush()
    return True


def totp_provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def is_dormant(user: User, *, days: int, now: datetime | None = None) -> bool:
    ref = user.last_login_at or user.created_at
    return (now or utcnow()) - ref > timedelta(days=days)
