"""HTML pages of the base platform: sign-in, home per role, account, and the three administrators' pages."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.db import SessionDep, utcnow
from zhixian.errors import DomainError, FieldError, pydantic_errors_to_chinese
from zhixian.fields import IdPath
from zhixian.platform import audit, auth, org, service
from zhixian.platform.actor import Actor
from zhixian.platform.deps import (
    AuditReader,
    CalendarManager,
    OrgManager,
    Pending,
    RoleManager,
    Signed,
    SystemManager,
    UserManager,
    UserReader,
)
from zhixian.platform.models import ApiToken, AuditRecord, Department, Division, User, UserSession
from zhixian.platform.schemas import CalendarOverrideIn, UserCreate
from zhixian.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Public,
    SettingsDep,
    check_login_csrf,
    client_ip,
    login_csrf_token,
    optional_actor,
    set_cookie,
)
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    return {e.field or "_": e.message for e in errors}


# --- sign-in


@router.get("/login", dependencies=[Public])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = login_csrf_token(request)
    response = render(request, "platform/login.html", None, next=_safe_next(next), message="", login_csrf=token)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login", dependencies=[Public])
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    check_login_csrf(request, csrf_token)
    if not username or not password:
        return render(
            request,
            "platform/login.html",
            None,
            status_code=422,
            next=_safe_next(next),
            message="请输入用户名和密码",
            username=username,
            login_csrf=csrf_token,
        )
    outcome = auth.authenticate(
        session,
        settings=settings,
        username=username,
        password=password,
        ctx=audit.AuditContext(ip=client_ip(request)),
        user_agent=request.headers.get("user-agent", ""),
    )
    if not outcome.ok or outcome.token is None:
        return render(
            request,
            "platform/login.html",
            None,
            status_code=401,
            next=_safe_next(next),
            message=outcome.message,
            username=username,
            login_csrf=csrf_token,
        )
    target = _safe_next(next)
    if outcome.mfa_required:
        target = "/login/totp?next=" + quote(target)
    elif outcome.must_change_password:
        target = "/account/password"
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, outcome.token, max_age=settings.session_absolute_hours * 3600)
    return response


@router.get("/login/totp")
def totp_page(request: Request, actor: Pending, session: SessionDep, next: str = "/") -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    secret = None
    if not user.totp_enabled:  # a role requires TOTP but the user has not enrolled yet: enrol now
        secret = auth.totp_begin(session, user=user, cipher=request.app.state.cipher)
    return render(
        request,
        "platform/totp.html",
        actor,
        next=_safe_next(next),
        secret=secret,
        uri=auth.totp_provisioning_uri(secret, username=user.username, issuer="智县") if secret else "",
    )


@router.post("/login/totp")
def totp_submit(
    request: Request,
    actor: Pending,
    session: SessionDep,
    code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    cipher = request.app.state.cipher
    ok = auth.totp_check(user, code.strip(), cipher=cipher)
    if not ok:
        audit.record(
            session,
            actor.audit,
            action="login_failed",
            object_type="user",
            object_id=user.id,
            result="失败",
            detail={"reason": "bad_totp"},
        )
        return render(
            request,
            "platform/totp.html",
            actor,
            status_code=422,
            next=_safe_next(next),
            secret=None,
            uri="",
            message="动态口令不正确或已过期",
        )
    if not user.totp_enabled:
        user.totp_enabled = True
        audit.record(session, actor.audit, action="totp_enable", object_type="user", object_id=user.id)
    row = session.get(UserSession, actor.session_id)
    if row is not None:
        row.mfa_passed = True
    return RedirectResponse("/account/password" if user.must_change_password else _safe_next(next), status_code=303)


@router.post("/logout")
def logout(actor: Pending, session: SessionDep) -> Response:
    row = session.get(UserSession, actor.session_id) if actor.session_id else None
    if row is not None:
        auth.end_session(session, row=row, ctx=actor.audit)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- home and account


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


@router.get("/account")
def account(request: Request, actor: Signed, session: SessionDep) -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars().all()
    return render(request, "platform/account.html", actor, user=user, tokens=tokens, new_token=None)


@router.post("/account/tokens")
def account_new_token(
    request: Request,
    actor: Signed,
    session: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    days: Annotated[int, Form(ge=1, le=3650)] = 90,
) -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    plain, _ = auth.create_api_token(session, user=user, name=name.strip(), days=days, ctx=actor.audit)
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars().all()
    return render(request, "platform/account.html", actor, user=user, tokens=tokens, new_token=plain)


@router.get("/account/password")
def password_page(request: Request, actor: Pending) -> HTMLResponse:
    return render(request, "platform/password.html", actor, errors={}, message="")


@router.post("/account/password")
def password_submit(
    request: Request,
    actor: Pending,
    session: SessionDep,
    settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=128)] = "",
    new_password: Annotated[str, Form(max_length=128)] = "",
    confirm_password: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    if new_password != confirm_password:
        return render(
            request,
            "platform/password.html",
            actor,
            status_code=422,
            errors={"confirm_password": "两次输入的新密码不一致"},
            message="",
        )
    try:
        auth.change_password(
            session, settings=settings, user=user, current=current_password, new=new_password, ctx=actor.audit
        )
    except DomainError as exc:
        session.commit()  # a failed attempt is still audited
        errors: dict[str, str] = {}
        for e in exc.errors:
            errors[e.field or "_"] = errors.get(e.field or "_", "") + e.message + "；"
        return render(request, "platform/password.html", actor, status_code=422, errors=errors, message=exc.detail)
    return RedirectResponse("/?changed=1", status_code=303)


# --- security administrator: users


@router.get("/admin/users")
def users_page(
    request: Request,
    actor: UserReader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=64)] = "",
    department_id: Annotated[int | None, Query(ge=1)] = None,
    status: Annotated[str, Query(pattern="^(|locked|pending|dormant|expired|shared)$")] = "",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    size = 50
    rows, total = service.list_users(
        session,
        actor=actor,
        q=q,
        department_id=department_id,
        offset=0 if status else (page - 1) * size,
        limit=100_000 if status else size,
    )
    now = utcnow()
    if status == "locked":
        rows = [u for u in rows if u.locked_until and u.locked_until > now]
    elif status == "pending":
        rows = [u for u in rows if u.must_change_password]
    elif status:  # dormant / expired / shared: 等保 item 6 review lists
        risky = service.risky_accounts(session, actor=actor, settings=request.app.state.settings)
        ids = {u.id for u in risky[status]}
        rows = [u for u in rows if u.id in ids]
    if status:
        total = len(rows)
        rows = rows[(page - 1) * size : page * size]
    return render(
        request,
        "platform/users.html",
        actor,
        users=[service.user_read(u) for u in rows],
        total=total,
        page=page,
        size=size,
        q=q,
        status=status,
        department_id=department_id,
        departments=org.list_departments(session),
    )


@router.get("/admin/users/new")
def user_new_page(request: Request, actor: UserManager, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "platform/user_form.html",
        actor,
        errors={},
        values={},
        departments=org.list_departments(session),
        roles=service.list_roles(session),
    )


@router.post("/admin/users/new")
def user_new_submit(
    request: Request,
    actor: UserManager,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    full_name: Annotated[str, Form(max_length=200)] = "",
    department_id: Annotated[str, Form(max_length=20)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults per request
) -> Response:
    values: dict[str, Any] = {
        "username": username,
        "full_name": full_name,
        "department_id": department_id,
        "phone": phone,
        "email": email,
        "roles": roles,
    }
    data = {k: v for k, v in values.items() if v not in ("", None)}
    try:
        user, initial = service.create_user(
            session,
            actor=actor,
            data=UserCreate.model_validate(data),
            settings=request.app.state.settings,
            cipher=request.app.state.cipher,
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, ValidationError):
            errors, status = _errors_by_field(pydantic_errors_to_chinese(list(exc.errors()))), 422
            errors.setdefault("_", "请按提示修改后重新提交")
        else:
            errors, status = _errors_by_field(exc.errors), exc.status
            errors["_"] = exc.detail
        return render(
            request,
            "platform/user_form.html",
            actor,
            status_code=status,
            errors=errors,
            values=values,
            departments=org.list_departments(session),
            roles=service.list_roles(session),
        )
    return render(request, "platform/user_created.html", actor, user=service.user_read(user), password=initial)


@router.get("/admin/users/{user_id}")
def user_page(
    request: Request,
    user_id: IdPath,
    actor: UserReader,
    session: SessionDep,
    reveal: bool = False,
) -> HTMLResponse:
    detail = None
    if reveal:
        detail = service.read_user_personal(session, actor=actor, user_id=user_id, cipher=request.app.state.cipher)
    user = service.user_read(service.get_user(session, actor=actor, user_id=user_id))
    return render(
        request,
        "platform/user.html",
        actor,
        user=user,
        detail=detail,
        roles=service.list_roles(session),
        message=request.query_params.get("msg", ""),
    )


@router.post("/admin/users/{user_id}/action")
def user_action(
    request: Request,
    user_id: IdPath,
    actor: UserManager,
    session: SessionDep,
    action: Annotated[str, Form(pattern="^(roles|reset|unlock|disable|enable)$")],
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults per request
) -> Response:
    message = ""
    try:
        if action == "roles":
            service.assign_roles(session, actor=actor, user_id=user_id, codes=roles)
            message = "角色已更新"
        elif action == "reset":
            password = service.reset_password(session, actor=actor, user_id=user_id)
            user = service.user_read(service.get_user(session, actor=actor, user_id=user_id))
            return render(request, "platform/user_created.html", actor, user=user, password=password, reset=True)
        elif action == "unlock":
            service.unlock_user(session, actor=actor, user_id=user_id)
            message = "已解除锁定"
        else:
            from zhixian.platform.schemas import UserUpdate

            service.update_user(
                session,
                actor=actor,
                user_id=user_id,
                data=UserUpdate(active=action == "enable"),
                cipher=request.app.state.cipher,
            )
            message = "已启用" if action == "enable" else "已停用"
    except DomainError as exc:
        session.rollback()
        user = service.user_read(service.get_user(session, actor=actor, user_id=user_id))
        return render(
            request,
            "platform/user.html",
            actor,
            status_code=exc.status,
            user=user,
            detail=None,
            roles=service.list_roles(session),
            message="",
            error=exc.detail,
        )
    return RedirectResponse(f"/admin/users/{user_id}?msg={quote(message)}", status_code=303)


@router.get("/admin/roles")
def roles_page(request: Request, actor: RoleManager, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "platform/roles.html",
        actor,
        roles=service.list_roles(session),
        permissions=request.app.state.registry.permissions(),
    )


# --- system administrator: organisation, calendar, subsystems


@router.get("/admin/org")
def org_page(request: Request, actor: OrgManager, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "platform/org.html",
        actor,
        divisions=org.list_divisions(session),
        departments=org.list_departments(session, include_inactive=True),
        report=None,
        errors=[],
    )


@router.post("/admin/org/import")
def org_import(
    request: Request,
    actor: OrgManager,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    content = file.file.read()
    report, errors = None, ["上传的文件是空的"]
    if content:
        try:
            report = org.import_bundle(session, bundle=org.parse_excel(content), actor=actor)
            errors = []
        except DomainError as exc:
            session.rollback()
            errors = [exc.detail] + [e.message for e in exc.errors]
    return render(
        request,
        "platform/org.html",
        actor,
        status_code=422 if errors else 200,
        divisions=org.list_divisions(session),
        departments=org.list_departments(session, include_inactive=True),
        report=report,
        errors=errors,
    )


@router.get("/admin/calendar")
def calendar_page(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    year = year or utcnow().year
    cal = service.working_calendar(session, settings=settings)
    months = []
    for month in range(1, 13):
        first = date(year, month, 1)
        days = []
        d = first
        while d.month == month:
            days.append((d, cal.is_workday(d)))
            d += timedelta(days=1)
        months.append((month, first.weekday(), days))
    return render(
        request,
        "platform/calendar.html",
        actor,
        year=year,
        months=months,
        overrides=service.list_overrides(session, year=year),
        errors={},
    )


@router.post("/admin/calendar")
def calendar_submit(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    day: Annotated[str, Form(max_length=10)],
    kind: Annotated[str, Form(pattern="^(work|off|clear)$")],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        return RedirectResponse("/admin/calendar?error=date", status_code=303)
    if kind == "clear":
        with contextlib.suppress(DomainError):  # clearing a day that has no override is a no-op
            service.delete_override(session, actor=actor, day=parsed)
    else:
        service.set_override(
            session, actor=actor, data=CalendarOverrideIn(day=parsed, is_workday=kind == "work", note=note)
        )
    return RedirectResponse(f"/admin/calendar?year={parsed.year}", status_code=303)


@router.get("/admin/subsystems")
def subsystems_page(request: Request, actor: SystemManager) -> HTMLResponse:
    registry = request.app.state.registry
    return render(request, "platform/subsystems.html", actor, registry=registry)


# --- audit administrator


@router.get("/admin/audit")
def audit_page(
    request: Request,
    actor: AuditReader,
    session: SessionDep,
    username: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    result: Annotated[str, Query(max_length=16)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    verify: bool = False,
) -> HTMLResponse:
    from zhixian.web.templating import LOCAL_TZ

    def _day(value: str) -> datetime | None:
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), LOCAL_TZ) if value else None
        except ValueError:
            return None

    end_at = _day(end)
    flt = audit.AuditFilter(
        username=username,
        action=action,
        result=result,
        start=_day(start),
        end=end_at + timedelta(days=1) if end_at else None,
    )
    size = 50
    rows, total = audit.search(session, flt=flt, offset=(page - 1) * size, limit=size)
    check = audit.verify(session) if verify else None
    return render(
        request,
        "platform/audit.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        size=size,
        f={"username": username, "action": action, "result": result, "start": start, "end": end},
        actions=audit.ACTION_NAMES,
        check=check,
        query=request.url.query,
    )
