"""Figures on the platform administrators' home cards, each counted by the function that lists its records.

A card's number and the list its link opens come from the same query (``users_with_status`` for the
users page, ``audit.search`` for the audit log, ``org`` for the organisation page), so they agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.platform import accounts, audit, org, service
from zhixian.platform.actor import Actor
from zhixian.platform.models import User
from zhixian.settings import Settings
from zhixian.subsystems import HomeCard

__all__ = ["USER_STATUSES", "home_cards", "users_with_status"]

USER_STATUSES = {
    "active": "在用",
    "locked": "被锁定",
    "pending": "未改初始密码",
    "dormant": "休眠账号",
    "expired": "密码已过期",
    "shared": "共享账号",
}
_REVIEW = ("dormant", "expired", "shared")  # 等保 item 6 review lists, for the security administrator


def users_with_status(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    status: str,
    q: str = "",
    department_id: int | None = None,
) -> list[User]:
    """Users the actor may see in one state; the users page lists them and the home cards count them."""
    rows, _ = service.list_users(session, actor=actor, q=q, department_id=department_id, offset=0, limit=100_000)
    now = utcnow()
    if status == "active":
        return [u for u in rows if u.active]
    if status == "locked":
        return [u for u in rows if u.locked_until and u.locked_until > now]
    if status == "pending":
        return [u for u in rows if u.must_change_password]
    if status in _REVIEW:
        ids = {u.id for u in accounts.risky_accounts(session, actor=actor, settings=settings)[status]}
        return [u for u in rows if u.id in ids]
    return rows


def _card(title: str, value: int, href: str, group: str, *, alert: bool = False) -> HomeCard:
    return HomeCard(title=title, value=value, href=href, group=group, alert=alert)


def home_cards(session: Session, actor: Actor, settings: Settings) -> list[HomeCard]:
    """What each administrator acts on first; every figure links to the records behind it."""
    cards: list[HomeCard] = []
    if actor.can("platform.users.manage"):
        for status, title in (
            ("active", "在用账号"),
            ("dormant", "休眠账号"),
            ("locked", "被锁定账号"),
            ("pending", "未改初始密码"),
        ):
            n = len(users_with_status(session, actor=actor, settings=settings, status=status))
            alert = status != "active" and n > 0
            cards.append(_card(title, n, f"/admin/users?status={status}", "账号安全", alert=alert))
    if actor.can("platform.audit.read"):
        today = local_today()
        start = datetime.combine(today, datetime.min.time(), LOCAL_TZ)
        for action, title, threshold in (
            ("login_failed", "今日登录失败", 20),
            ("account_locked", "今日账号锁定", 0),
            ("personal_read", "今日个人信息查阅", None),
        ):
            _, n = audit.search(session, flt=audit.AuditFilter(action=action, start=start), limit=0)
            href = f"/admin/audit?action={action}&start={today.isoformat()}"
            cards.append(_card(title, n, href, "审计", alert=threshold is not None and n > threshold))
    if actor.can("platform.system.manage"):
        departments = len(org.list_departments(session, include_inactive=True))
        cards += [
            _card("部门", departments, "/admin/org#departments", "系统运行"),
            _card("行政区划", len(org.list_divisions(session)), "/admin/org#divisions", "系统运行"),
        ]
    return cards
