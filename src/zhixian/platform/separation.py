"""三权分立 (等保 item 7): which roles and permissions may go together, and the two-person rule.

Rules, checked in ``platform.accounts`` whoever calls it:

* one person holds at most one administrator duty (system, security, audit);
* an administrator-duty account holds no business role, and an administrator role holds no business
  permission (anything outside ``platform.*``), so no administrator can give itself access to cases,
  catalogues or unmasked personal data;
* a change to an administrator duty -- creating, resetting the password of, enabling/disabling or
  changing the roles of an account that holds (or would hold) an administrator role, or changing an
  administrator role's permissions -- is never done in one step. The security administrator proposes
  it (``platform.changes``); it takes effect only when an administrator of *another* duty (a system
  or audit administrator) who is neither the proposer nor the account concerned confirms it. Both
  steps are audited, and the change is applied with the proposer's rights as they stand at
  confirmation. A proposal expires after ``admin_change_hours``. One-time passwords of such accounts are shown
  to the confirmer, never to the proposing security administrator.
* the command line (``zhixian user ...``, ``zhixian init``) is the break-glass path for a node
  without a working administrator: it acts without confirmation and is audited as ``break_glass``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from zhixian.errors import Conflict, FieldError, Invalid
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.models import Role, User

# A permission that belongs to one of the three administrator duties may only sit in a role of that
# duty, so holding two duties is always visible as two admin roles.
ADMIN_PERMISSION_KIND = {
    "platform.system.manage": "system",
    "platform.users.manage": "security",
    "platform.roles.manage": "security",
    "platform.audit.read": "audit",
    "platform.audit.export": "audit",
}
ADMIN_KIND_NAMES = {"system": "系统管理员", "security": "安全管理员", "audit": "审计管理员"}
# duties whose administrators may confirm what a security administrator proposes
CONFIRMING_KINDS = frozenset({"system", "audit"})


def check_roles(roles: Iterable[Role]) -> None:
    """One duty per person, and an administrator holds no business role."""
    roles = list(roles)
    kinds = sorted({r.admin_kind for r in roles if r.admin_kind})
    if len(kinds) > 1:
        names = "、".join(ADMIN_KIND_NAMES[k] for k in kinds)
        raise Conflict(f"三权分立：同一人不能同时担任{names}", [FieldError("管理员角色互斥", field="roles")])
    business = [r.name for r in roles if not r.admin_kind]
    if kinds and business:
        raise Conflict(
            f"三权分立：{ADMIN_KIND_NAMES[kinds[0]]}账号不能同时持有业务角色（{'、'.join(business)}）",
            [FieldError("管理员账号不能持有业务角色", field="roles")],
        )


def check_role_permissions(role_kind: str | None, permissions: list[str], known: set[str]) -> None:
    """Duty permissions stay in their duty's role; administrator roles get no business permission."""
    unknown = [p for p in permissions if p not in known]
    if unknown:
        raise Invalid(f"未知权限：{'、'.join(unknown[:5])}", field="permissions")
    for perm in permissions:
        kind = ADMIN_PERMISSION_KIND.get(perm)
        if kind and kind != role_kind:
            raise Conflict(
                f"三权分立：权限 {perm} 只能授予{ADMIN_KIND_NAMES[kind]}角色",
                [FieldError("管理员权限不可混入其他角色", field="permissions")],
            )
    business = [p for p in permissions if not p.startswith("platform.")]
    if role_kind and business:
        raise Conflict(
            f"三权分立：{ADMIN_KIND_NAMES[role_kind]}角色不能包含业务权限（{'、'.join(business[:5])}）",
            [FieldError("管理员角色不能包含业务权限", field="permissions")],
        )


def admin_kind(user: User) -> str | None:
    return next((r.admin_kind for r in user.roles if r.admin_kind), None)


def require_confirmation(
    session: Session, *, actor: Actor, what: str, confirmed: bool, detail: dict[str, object]
) -> None:
    """Refuses a one-step change to an administrator duty; the command line passes, audited as break-glass."""
    if confirmed:
        return
    if actor.via == "system":
        audit.record(
            session, actor.audit, action="break_glass", object_type="admin_duty", detail={"what": what, **detail}
        )
        return
    raise Conflict(
        f"三权分立：{what}属于管理员职责变更，须由安全管理员提交、系统管理员或审计管理员确认后生效"
        "（请在“管理员变更”中提交：POST /api/v1/admin-changes）"
    )
