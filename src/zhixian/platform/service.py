"""Rules of the base platform: users, roles and separation of duties, working calendar.

Other features use the platform only through this module and ``schemas``. Department scope is
enforced here, not in the web layer: a query built by these functions never returns an object the
actor's department and role may not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.platform import audit, auth, separation
from zhixian.platform.actor import COUNTY_SCOPE, Actor, system_actor
from zhixian.platform.calendar import WorkingCalendar, WorkingTime
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.platform.models import CalendarOverride, Department, Role, User, UserRole
from zhixian.platform.org import (
    county,
    department_by_code,
    get_department,
    list_departments,
    list_divisions,
)
from zhixian.platform.schemas import (
    CalendarOverrideIn,
    RoleIn,
    UserCreate,
    UserDetail,
    UserRead,
    UserUpdate,
)
from zhixian.platform.separation import ADMIN_KIND_NAMES, ADMIN_PERMISSION_KIND
from zhixian.settings import Settings
from zhixian.subsystems import Registry, RoleSpec

__all__ = [
    "ADMIN_KIND_NAMES",
    "ADMIN_PERMISSION_KIND",
    "COUNTY_SCOPE",
    "Actor",
    "county",
    "department_by_code",
    "get_department",
    "list_departments",
    "list_divisions",
    "system_actor",
]

# --- actors


def actor_for(
    user: User,
    *,
    ip: str = "",
    via: str = "session",
    session_id: int | None = None,
    csrf_token: str | None = None,
    mfa_pending: bool = False,
) -> Actor:
    permissions = frozenset(p for r in user.roles for p in r.permissions)
    return Actor(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        department_id=user.department_id,
        department_path=user.department.path,
        department_name=user.department.name,
        permissions=permissions,
        roles=tuple(r.code for r in user.roles),
        ip=ip,
        via=via,  # type: ignore[arg-type]
        session_id=session_id,
        csrf_token=csrf_token,
        must_change_password=user.must_change_password,
        mfa_pending=mfa_pending,
    )


# built once: this runs on every request, and building the statement cost more than running it
_ACTOR_ROWS = (
    select(
        User.username,
        User.full_name,
        User.department_id,
        User.must_change_password,
        User.active,
        Department.path,
        Department.name,
        Role.code,
        Role.permissions,
    )
    .join(Department, Department.id == User.department_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(Role, Role.code == UserRole.role_code)
    .where(User.id == bindparam("user_id"))
    .order_by(Role.code)
)


def actor_named(session: Session, username: str) -> Actor | None:
    """The actor of a user by name, for seeds and commands that act as a named demo or service user."""
    user_id = session.execute(select(User.id).where(User.username == username)).scalar()
    return load_actor(session, user_id=user_id, via="system") if user_id is not None else None


def load_actor(
    session: Session,
    *,
    user_id: int,
    ip: str = "",
    via: str = "session",
    session_id: int | None = None,
    csrf_token: str | None = None,
    mfa_pending: bool = False,
) -> Actor | None:
    """The actor for a signed-in user in one query (the per-request path); None if disabled or gone."""
    rows = session.execute(_ACTOR_ROWS, {"user_id": user_id}).all()
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    roles = [r for r in rows if r.code is not None]
    return Actor(
        user_id=user_id,
        username=first.username,
        full_name=first.full_name,
        department_id=first.department_id,
        department_path=first.path,
        department_name=first.name,
        permissions=frozenset(p for r in roles for p in (r.permissions or [])),
        roles=tuple(r.code for r in roles),
        ip=ip,
        via=via,  # type: ignore[arg-type]
        session_id=session_id,
        csrf_token=csrf_token,
        must_change_password=first.must_change_password,
        mfa_pending=mfa_pending,
    )


# --- users


def user_read(user: User, *, now: datetime | None = None) -> UserRead:
    now = now or utcnow()
    return UserRead(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        department_id=user.department_id,
        department_name=user.department.name,
        phone_masked=user.phone_masked,
        email=user.email,
        roles=[r.code for r in user.roles],
        active=user.active,
        locked=bool(user.locked_until and user.locked_until > now),
        must_change_password=user.must_change_password,
        totp_enabled=user.totp_enabled,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


def _scoped_users(actor: Actor) -> ColumnElement[bool]:
    return actor.department_filter(Department.path)


def list_users(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    department_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[User], int]:
    actor.require("platform.users.read")
    query = select(User).join(User.department).where(_scoped_users(actor))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.username.like(like), User.full_name.like(like)))
    if department_id:
        dept = get_department(session, department_id)
        query = query.where(Department.path.startswith(dept.path))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(User.id).offset(offset).limit(limit)).scalars().unique().all()
    return list(rows), total


def get_user(session: Session, *, actor: Actor, user_id: int) -> User:
    """A user the actor may see; others' existence is not disclosed (404, not 403)."""
    if user_id == actor.user_id:
        user = session.get(User, user_id)
        if user is not None:
            return user
    actor.require("platform.users.read")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在或无权查看")
    actor.check_department(user.department.path)
    return user


def read_user_personal(session: Session, *, actor: Actor, user_id: int, cipher: FieldCipher) -> UserDetail:
    """Unmasked contact data: every such read is audited (等保 item 10, GB/T 35273)."""
    user = get_user(session, actor=actor, user_id=user_id)
    audit.record(
        session,
        actor.audit,
        action="personal_read",
        object_type="user",
        object_id=user.id,
        detail={"fields": ["phone"]},
    )
    phone = cipher.decrypt(user.phone_enc) if user.phone_enc else None
    return UserDetail(**user_read(user).model_dump(), phone=phone)


def _roles(session: Session, codes: Iterable[str]) -> list[Role]:
    codes = list(dict.fromkeys(codes))
    found = {r.code: r for r in session.execute(select(Role).where(Role.code.in_(codes))).scalars()}
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(f"角色不存在：{'、'.join(missing)}", field="roles")
    roles = [found[c] for c in codes]
    separation.check_roles(roles)
    return roles


def create_user(
    session: Session,
    *,
    actor: Actor,
    data: UserCreate,
    settings: Settings,
    cipher: FieldCipher,
    confirmed: bool = False,
) -> tuple[User, str | None]:
    """A new account; without a password one is generated and must be changed at first sign-in.

    An administrator-duty account needs another duty's confirmation (``platform.changes``).
    """
    actor.require("platform.users.manage")
    if session.execute(select(User.id).where(func.lower(User.username) == data.username.lower())).first():
        raise Conflict(f"用户名 {data.username} 已存在", [FieldError("用户名已存在", field="username")])
    get_department(session, data.department_id)
    roles = _roles(session, data.roles)
    kind = next((r.admin_kind for r in roles if r.admin_kind), None)
    if kind:
        if data.password:
            raise Invalid("管理员账号的初始密码由系统生成，不能指定", field="password")
        separation.require_confirmation(
            session,
            actor=actor,
            what=f"新建{ADMIN_KIND_NAMES[kind]}账号",
            confirmed=confirmed,
            detail={"username": data.username, "roles": data.roles},
        )
    generated = None
    if data.password:
        auth.check_password(data.password, settings=settings, username=data.username)
        password = data.password
    else:
        password = generated = auth.generate_password()
    user = User(
        username=data.username,
        full_name=data.full_name,
        department_id=data.department_id,
        email=data.email or "",
        password_hash=auth.hash_password(password),
        must_change_password=True,
        phone_enc=cipher.encrypt(data.phone) if data.phone else None,
        phone_masked=mask_phone(data.phone) if data.phone else "",
    )
    user.roles = roles
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="user_create",
        object_type="user",
        object_id=user.id,
        detail={"username": user.username, "department_id": user.department_id, "roles": data.roles},
    )
    if roles:
        audit.record(
            session,
            actor.audit,
            action="permission_change",
            object_type="user",
            object_id=user.id,
            detail={"before": [], "after": [r.code for r in roles]},
        )
    session.refresh(user)
    return user, generated


def update_user(
    session: Session, *, actor: Actor, user_id: int, data: UserUpdate, cipher: FieldCipher, confirmed: bool = False
) -> User:
    actor.require("platform.users.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    changes = data.model_dump(exclude_unset=True)
    kind = separation.admin_kind(user)
    if kind and changes.get("active") is not None and changes["active"] != user.active:
        separation.require_confirmation(
            session,
            actor=actor,
            what=f"{'启用' if changes['active'] else '停用'}{ADMIN_KIND_NAMES[kind]}账号",
            confirmed=confirmed,
            detail={"user_id": user.id, "active": changes["active"]},
        )
    if "department_id" in changes and changes["department_id"] is not None:
        get_department(session, changes["department_id"])
        user.department_id = changes["department_id"]
    if changes.get("full_name"):
        user.full_name = changes["full_name"]
    if "email" in changes:
        user.email = changes["email"] or ""
    if "phone" in changes:
        phone = changes["phone"]
        user.phone_enc = cipher.encrypt(phone) if phone else None
        user.phone_masked = mask_phone(phone) if phone else ""
    if changes.get("active") is not None:
        if user.id == actor.user_id and not changes["active"]:
            raise Conflict("不能停用自己的账号")
        user.active = changes["active"]
        if not user.active:
            auth.end_all_sessions(session, user_id=user.id)
            auth.revoke_all_tokens(session, user_id=user.id)
    if changes.get("shared_account") is not None:
        user.shared_account = changes["shared_account"]
    logged = {k: ("***" if k == "phone" else v) for k, v in changes.items()}
    audit.record(session, actor.audit, action="user_update", object_type="user", object_id=user.id, detail=logged)
    session.flush()
    session.refresh(user)
    return user


def assign_roles(session: Session, *, actor: Actor, user_id: int, codes: list[str], confirmed: bool = False) -> User:
    actor.require("platform.users.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    before = [r.code for r in user.roles]
    roles = _roles(session, codes)
    kind = separation.admin_kind(user) or next((r.admin_kind for r in roles if r.admin_kind), None)
    if kind and sorted(before) != sorted(r.code for r in roles):
        separation.require_confirmation(
            session,
            actor=actor,
            what=f"调整{ADMIN_KIND_NAMES[kind]}账号的角色",
            confirmed=confirmed,
            detail={"user_id": user.id, "before": before, "after": codes},
        )
    if (
        user.id == actor.user_id
        and any(r.admin_kind == "security" for r in user.roles)
        and not any(r.admin_kind == "security" for r in roles)
    ):
        raise Conflict("不能撤销自己的安全管理员角色")
    user.roles = roles
    audit.record(
        session,
        actor.audit,
        action="permission_change",
        object_type="user",
        object_id=user.id,
        detail={"before": before, "after": [r.code for r in roles]},
    )
    session.flush()
    return user


def reset_password(
    session: Session, *, actor: Actor, user_id: int, settings: Settings, confirmed: bool = False
) -> tuple[str, auth.Ended]:
    """A new one-time password; the account is unlocked, all its sessions end and its API tokens are revoked."""
    actor.require("platform.users.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    kind = separation.admin_kind(user)
    if kind:
        separation.require_confirmation(
            session,
            actor=actor,
            what=f"重置{ADMIN_KIND_NAMES[kind]}账号的密码",
            confirmed=confirmed,
            detail={"user_id": user.id},
        )
    password = auth.generate_password()
    ended = auth.set_password(session, settings=settings, user=user, new=password, keep_session=None)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        session,
        actor.audit,
        action="password_reset",
        object_type="user",
        object_id=user.id,
        detail={"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens},
    )
    session.flush()
    return password, ended


def unlock_user(session: Session, *, actor: Actor, user_id: int) -> User:
    actor.require("platform.users.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor.audit, action="user_unlock", object_type="user", object_id=user.id)
    return user


def risky_accounts(session: Session, *, actor: Actor, settings: Settings) -> dict[str, list[User]]:
    """Dormant, password-expired and shared accounts, for review and disabling (等保 item 6)."""
    actor.require("platform.users.manage")
    now = utcnow()
    users = list(session.execute(select(User).where(User.active.is_(True)).order_by(User.id)).scalars())
    expiry = timedelta(days=settings.password_max_age_days) if settings.password_max_age_days else None
    return {
        "dormant": [u for u in users if auth.is_dormant(u, days=settings.dormant_days, now=now)],
        "expired": [u for u in users if expiry and u.password_changed_at < now - expiry],
        "shared": [u for u in users if u.shared_account],
    }


# --- roles


def list_roles(session: Session) -> list[Role]:
    return list(session.execute(select(Role).order_by(Role.builtin.desc(), Role.code)).scalars())


def save_role(
    session: Session, *, actor: Actor, data: RoleIn, known_permissions: set[str], confirmed: bool = False
) -> Role:
    actor.require("platform.roles.manage")
    role = session.get(Role, data.code)
    kind = role.admin_kind if role else None
    separation.check_role_permissions(kind, data.permissions, known_permissions)
    before = list(role.permissions) if role else []
    if role is not None and kind:
        separation.require_confirmation(
            session,
            actor=actor,
            what=f"修改{ADMIN_KIND_NAMES[kind]}角色",
            confirmed=confirmed,
            detail={"role": role.code, "before": before, "after": sorted(set(data.permissions))},
        )
    if role is None:
        role = Role(code=data.code, builtin=False)
        session.add(role)
    role.name, role.description, role.permissions = data.name, data.description, sorted(set(data.permissions))
    audit.record(
        session,
        actor.audit,
        action="permission_change",
        object_type="role",
        object_id=role.code,
        detail={"before": before, "after": role.permissions},
    )
    session.flush()
    return role


def sync_builtin_roles(session: Session, *, registry: Registry) -> int:
    """Create the roles subsystems declare, and add permissions a newly enabled subsystem gives them.

    Several subsystems may declare the same role code: each contributes its own permissions
    (e.g. citymgmt lets ``leader`` view cases). Permissions are only added, never removed.
    """
    merged: dict[str, tuple[RoleSpec, set[str]]] = {}
    for spec in registry.roles():
        first, perms = merged.setdefault(spec.code, (spec, set()))
        if spec.admin_kind != first.admin_kind:
            raise ValueError(f"role {spec.code} declared with different admin kinds")
        perms.update(spec.permissions)
    created = 0
    for code, (spec, perms) in merged.items():
        role = session.get(Role, code)
        if role is None:
            session.add(
                Role(
                    code=code,
                    name=spec.name,
                    description=spec.description,
                    admin_kind=spec.admin_kind,
                    permissions=sorted(perms),
                    builtin=True,
                )
            )
            created += 1
        elif role.builtin and not perms <= set(role.permissions):
            role.permissions = sorted(set(role.permissions) | perms)
    session.flush()
    return created


# --- working calendar


def working_calendar(session: Session, *, settings: Settings) -> WorkingCalendar:
    """The county's calendar: official days from chinese-calendar, corrected by admin overrides."""
    overrides = dict(session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all())
    return WorkingCalendar(periods=settings.work_periods, overrides=overrides)


def add_working_time(
    session: Session, *, settings: Settings, start: datetime, hours: float = 0, days: float = 0
) -> WorkingTime:
    """The only way subsystems compute deadlines (case limits, sharing answers)."""
    return working_calendar(session, settings=settings).add(start, hours=hours, days=days)


def list_overrides(session: Session, *, year: int | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year:
        query = query.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.execute(query).scalars())


def set_override(session: Session, *, actor: Actor, data: CalendarOverrideIn) -> CalendarOverride:
    actor.require("platform.calendar.manage")
    row = session.get(CalendarOverride, data.day) or CalendarOverride(day=data.day)
    row.is_workday, row.note, row.updated_by, row.updated_at = data.is_workday, data.note, actor.username, utcnow()
    session.add(row)
    audit.record(
        session,
        actor.audit,
        action="calendar_override",
        object_type="calendar",
        object_id=data.day.isoformat(),
        detail={"is_workday": data.is_workday, "note": data.note},
    )
    session.flush()
    return row


def delete_override(session: Session, *, actor: Actor, day: date) -> None:
    actor.require("platform.calendar.manage")
    if session.execute(delete(CalendarOverride).where(CalendarOverride.day == day)).rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("该日期没有调整记录")
    audit.record(
        session, actor.audit, action="calendar_override_delete", object_type="calendar", object_id=day.isoformat()
    )
