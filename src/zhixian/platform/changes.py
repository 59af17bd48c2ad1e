"""Two-person rule for administrator duties: proposals and their confirmation (see ``platform.separation``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.platform import accounts, audit, separation, service
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import AdminChange, Role, User
from zhixian.platform.schemas import AdminChangeIn, RoleIn, UserCreate, UserUpdate
from zhixian.platform.separation import ADMIN_KIND_NAMES, CONFIRMING_KINDS
from zhixian.settings import Settings


@dataclass
class Applied:
    change: AdminChange
    initial_password: str | None
    message: str


def _admin_kinds(session: Session, user_id: int) -> set[str]:
    user = session.get(User, user_id)
    return {r.admin_kind for r in user.roles if r.admin_kind} if user else set()


def propose(
    session: Session, *, actor: Actor, data: AdminChangeIn, known_permissions: set[str], cipher: FieldCipher
) -> AdminChange:
    """Checks the change as far as it can now (rules, scope) and stores it as pending."""
    payload: dict[str, Any] = {}
    if data.kind == "role":
        actor.require("platform.roles.manage")
        if data.role is None:
            raise Invalid("请提供角色内容", field="role")
        role = session.get(Role, data.role.code)
        if role is None or not role.admin_kind:
            raise Invalid("只有管理员角色的修改需要确认，业务角色请直接修改", field="role")
        separation.check_role_permissions(role.admin_kind, data.role.permissions, known_permissions)
        target, payload = role.code, data.role.model_dump()
    elif data.kind == "user_create":
        actor.require("platform.users.manage")
        if data.user is None:
            raise Invalid("请提供新账号的内容", field="user")
        if data.user.password:
            raise Invalid("管理员账号的初始密码由系统生成，不能指定", field="user.password")
        separation.check_roles(_roles(session, data.user.roles))
        payload = data.user.model_dump(exclude={"password", "phone"})
        payload["phone_enc"] = cipher.encrypt(data.user.phone) if data.user.phone else None
        target = data.user.username
    else:
        actor.require("platform.users.manage")
        if data.user_id is None:
            raise Invalid("请指定用户", field="user_id")
        user = service.get_user(session, actor=actor, user_id=data.user_id)
        if data.kind == "user_roles":
            if data.roles is None:
                raise Invalid("请提供角色列表", field="roles")
            separation.check_roles(_roles(session, data.roles))
            payload = {"roles": data.roles}
        elif data.kind == "user_active":
            if data.active is None:
                raise Invalid("请说明启用还是停用", field="active")
            payload = {"active": data.active}
        target = str(user.id)
    row = AdminChange(
        kind=data.kind, target=target, payload=payload, proposed_by=actor.user_id, proposed_by_name=actor.username
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="admin_change_propose",
        object_type="admin_change",
        object_id=row.id,
        detail={"kind": row.kind, "target": target, "payload": {k: v for k, v in payload.items() if k != "phone_enc"}},
    )
    return row


def _roles(session: Session, codes: list[str]) -> list[Role]:
    found = list(session.execute(select(Role).where(Role.code.in_(codes))).scalars())
    missing = sorted(set(codes) - {r.code for r in found})
    if missing:
        raise Invalid(f"角色不存在：{'、'.join(missing)}", field="roles")
    return found


def list_changes(session: Session, *, actor: Actor, status: str = "pending") -> list[AdminChange]:
    """Visible to every administrator (any duty): proposers follow theirs, confirmers find their work."""
    if not _admin_kinds(session, actor.user_id):
        raise NotPermitted("只有管理员可以查看管理员变更")
    query = select(AdminChange).order_by(AdminChange.id.desc()).limit(200)
    if status:
        query = query.where(AdminChange.status == status)
    return list(session.execute(query).scalars())


def _pending(session: Session, change_id: int, settings: Settings) -> AdminChange:
    row = session.get(AdminChange, change_id)
    if row is None:
        raise NotFound("变更不存在")
    if row.status != "pending":
        raise Conflict(f"该变更已处理（{ {'confirmed': '已确认', 'rejected': '已驳回'}.get(row.status, row.status) }）")
    if utcnow() - row.proposed_at > timedelta(hours=settings.admin_change_hours):
        raise Conflict(f"该变更提交已超过 {settings.admin_change_hours} 小时，已失效，请重新提交")
    return row


def _check_confirmer(session: Session, *, actor: Actor, row: AdminChange) -> None:
    kinds = _admin_kinds(session, actor.user_id)
    if not kinds & CONFIRMING_KINDS:
        names = "或".join(ADMIN_KIND_NAMES[k] for k in sorted(CONFIRMING_KINDS, reverse=True))
        raise NotPermitted(f"三权分立：管理员职责变更须由{names}确认")
    if actor.user_id == row.proposed_by:
        raise NotPermitted("三权分立：提交人不能确认自己提交的变更")
    if row.kind not in {"role", "user_create"} and row.target == str(actor.user_id):
        raise NotPermitted("三权分立：不能确认涉及本人账号的变更")
    if row.kind == "role" and row.target in actor.roles:
        raise NotPermitted("三权分立：不能确认对本人所持角色的修改")


def confirm(
    session: Session, *, actor: Actor, change_id: int, settings: Settings, cipher: FieldCipher, known: set[str]
) -> Applied:
    """Applies a pending change with the proposer's rights as they stand now; both people are audited."""
    row = _pending(session, change_id, settings)
    _check_confirmer(session, actor=actor, row=row)
    proposer = service.load_actor(session, user_id=row.proposed_by, ip=actor.ip)
    if proposer is None:
        raise Conflict("提交人账号已停用或不存在，该变更不能生效")
    password: str | None = None
    message = "变更已确认并生效"
    p = row.payload
    if row.kind == "role":
        accounts.save_role(session, actor=proposer, data=RoleIn(**p), known_permissions=known, confirmed=True)
    elif row.kind == "user_create":
        data = UserCreate(**{k: v for k, v in p.items() if k != "phone_enc"})
        if p.get("phone_enc"):
            data.phone = cipher.decrypt(p["phone_enc"])
        user, password = accounts.create_user(
            session, actor=proposer, data=data, settings=settings, cipher=cipher, confirmed=True
        )
        message = f"账号 {user.username} 已创建，初始密码只显示这一次，请交给本人"
    elif row.kind == "user_roles":
        accounts.assign_roles(session, actor=proposer, user_id=int(row.target), codes=p["roles"], confirmed=True)
    elif row.kind == "user_active":
        accounts.update_user(
            session,
            actor=proposer,
            user_id=int(row.target),
            data=UserUpdate(active=p["active"]),
            cipher=cipher,
            confirmed=True,
        )
    elif row.kind == "user_reset":
        password, ended = accounts.reset_password(
            session, actor=proposer, user_id=int(row.target), settings=settings, confirmed=True
        )
        message = f"密码已重置，已结束该账号全部 {ended.sessions} 个会话并吊销 {ended.tokens} 个 API 令牌"
    _decide(session, actor=actor, row=row, status="confirmed")
    return Applied(row, password, message)


def _decide(session: Session, *, actor: Actor, row: AdminChange, status: str) -> None:
    """Records who decided, and audits it (admin_change_confirm / admin_change_reject)."""
    row.status, row.decided_by, row.decided_by_name, row.decided_at = status, actor.user_id, actor.username, utcnow()
    audit.record(
        session,
        actor.audit,
        action="admin_change_confirm" if status == "confirmed" else "admin_change_reject",
        object_type="admin_change",
        object_id=row.id,
        detail={"kind": row.kind, "target": row.target, "proposed_by": row.proposed_by_name},
    )
    session.flush()


def reject(session: Session, *, actor: Actor, change_id: int, settings: Settings) -> AdminChange:
    """The proposer may withdraw; a confirming administrator may refuse."""
    row = _pending(session, change_id, settings)
    if actor.user_id != row.proposed_by:
        _check_confirmer(session, actor=actor, row=row)
    _decide(session, actor=actor, row=row, status="rejected")
    return row
