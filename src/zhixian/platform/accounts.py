"""Administering accounts and roles: creating, changing, unlocking and resetting users, and writing roles.

These are the security administrator's writes, each checked against separation of duties (an
administrator-duty account or role needs another duty's confirmation, ``platform.changes``), the review
of risky accounts, and the built-in roles subsystems declare (``sync_builtin_roles``, at start-up). They
are kept apart from ``service``, which other features use to read users and actors: no other feature
administers accounts, so these writes are reached only from the platform's own routes, pages,
``changes`` and the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid
from zhixian.platform import audit, auth, separation, sessions
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.platform.models import Role, User
from zhixian.platform.org import get_department
from zhixian.platform.schemas import RoleIn, UserCreate, UserUpdate
from zhixian.platform.separation import ADMIN_KIND_NAMES
from zhixian.platform.service import get_user
from zhixian.settings import Settings
from zhixian.subsystems import Registry, RoleSpec

# --- users


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
            sessions.end_all_sessions(session, user_id=user.id)
            sessions.revoke_all_tokens(session, user_id=user.id)
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
