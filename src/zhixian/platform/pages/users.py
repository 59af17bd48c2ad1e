"""Security administrator's pages: users (list, create, detail, actions) and roles."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError
from zhixian.platform import accounts, figures, org, service
from zhixian.platform.deps import RoleManager, UserManager, UserReader
from zhixian.platform.schemas import UserCreate, UserUpdate
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

# "/admin/users/new" is declared before "/admin/users/{user_id}", which would otherwise take it.
router = APIRouter(include_in_schema=False)
# the new-user form's labels: the template draws the fields with them, refusals name the fields by them
USER_LABELS = {
    "username": "用户名",
    "full_name": "姓名",
    "department_id": "部门",
    "phone": "手机号码",
    "email": "电子邮箱",
    "roles": "角色",
}


@router.get("/admin/users")
def users_page(
    request: Request,
    actor: UserReader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=64)] = "",
    department_id: IdQuery = None,
    status: Annotated[str, Query(pattern="^(|active|locked|pending|dormant|expired|shared)$")] = "",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    size = 50
    if status:  # the same function counts the home page's cards
        rows = figures.users_with_status(
            session, actor=actor, settings=request.app.state.settings, status=status, q=q, department_id=department_id
        )
        total = len(rows)
        rows = rows[(page - 1) * size : page * size]
    else:
        rows, total = service.list_users(
            session, actor=actor, q=q, department_id=department_id, offset=(page - 1) * size, limit=size
        )
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
        errors=FormErrors(),
        labels=USER_LABELS,
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
        user, initial = accounts.create_user(
            session,
            actor=actor,
            data=UserCreate.model_validate(data),
            settings=request.app.state.settings,
            cipher=request.app.state.cipher,
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return render(
            request,
            "platform/user_form.html",
            actor,
            status_code=exc.status if isinstance(exc, DomainError) else 422,
            errors=form_errors(exc, USER_LABELS, title="用户未创建"),
            labels=USER_LABELS,
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
            accounts.assign_roles(session, actor=actor, user_id=user_id, codes=roles)
            message = "角色已更新"
        elif action == "reset":
            password, ended = accounts.reset_password(
                session, actor=actor, user_id=user_id, settings=request.app.state.settings
            )
            user = service.user_read(service.get_user(session, actor=actor, user_id=user_id))
            return render(
                request, "platform/user_created.html", actor, user=user, password=password, reset=True, ended=ended
            )
        elif action == "unlock":
            accounts.unlock_user(session, actor=actor, user_id=user_id)
            message = "已解除锁定"
        else:
            accounts.update_user(
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
            errors=form_errors(exc, {"roles": "角色"}) if action == "roles" else FormErrors(),
            error="" if action == "roles" else exc.detail,
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
