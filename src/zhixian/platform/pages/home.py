"""Home page: each subsystem's cards, then what each platform administrator acts on first."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.platform import service
from zhixian.platform.actor import Actor
from zhixian.platform.models import AuditRecord, Department, Division, User
from zhixian.web.auth import Public, optional_actor
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Public])
def home(request: Request, session: SessionDep, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    if actor.mfa_pending:
        return RedirectResponse("/login/totp", status_code=303)
    if actor.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    cards = []
    for provider in request.app.state.registry.contributed("home_cards"):
        cards.extend(provider(session, actor, request.app.state.settings))
    cards.extend(_platform_cards(session, actor, request.app.state.settings))
    return render(request, "platform/home.html", actor, cards=cards)


def _platform_cards(session: Session, actor: Actor, settings: Any) -> list[dict[str, Any]]:
    """What each administrator acts on first; every figure links to the records behind it."""
    cards: list[dict[str, Any]] = []
    now = utcnow()
    if actor.can("platform.users.manage"):
        locked = session.execute(select(func.count()).where(User.locked_until > now)).scalar_one()
        pending = session.execute(select(func.count()).where(User.must_change_password.is_(True))).scalar_one()
        active = session.execute(select(func.count()).where(User.active.is_(True))).scalar_one()
        dormant = len(service.risky_accounts(session, actor=actor, settings=settings)["dormant"])
        cards += [
            {"title": "在用账号", "value": active, "href": "/admin/users", "group": "账号安全"},
            {
                "title": "休眠账号",
                "value": dormant,
                "href": "/admin/users?status=dormant",
                "group": "账号安全",
                "alert": dormant > 0,
            },
            {
                "title": "被锁定账号",
                "value": locked,
                "href": "/admin/users?status=locked",
                "group": "账号安全",
                "alert": locked > 0,
            },
            {"title": "未改初始密码", "value": pending, "href": "/admin/users?status=pending", "group": "账号安全"},
        ]
    if actor.can("platform.audit.read"):
        start = now - timedelta(days=1)
        failed = session.execute(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "login_failed", AuditRecord.at >= start)
        ).scalar_one()
        locks = session.execute(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "account_locked", AuditRecord.at >= start)
        ).scalar_one()
        personal = session.execute(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "personal_read", AuditRecord.at >= start)
        ).scalar_one()
        cards += [
            {
                "title": "24 小时登录失败",
                "value": failed,
                "href": "/admin/audit?action=login_failed",
                "group": "审计",
                "alert": failed > 20,
            },
            {
                "title": "24 小时账号锁定",
                "value": locks,
                "href": "/admin/audit?action=account_locked",
                "group": "审计",
                "alert": locks > 0,
            },
            {
                "title": "24 小时个人信息查阅",
                "value": personal,
                "href": "/admin/audit?action=personal_read",
                "group": "审计",
            },
        ]
    if actor.can("platform.system.manage"):
        depts = session.execute(select(func.count()).select_from(Department)).scalar_one()
        divs = session.execute(select(func.count()).select_from(Division)).scalar_one()
        cards += [
            {"title": "部门", "value": depts, "href": "/admin/org#departments", "group": "系统运行"},
            {"title": "行政区划", "value": divs, "href": "/admin/org#divisions", "group": "系统运行"},
        ]
    return cards
