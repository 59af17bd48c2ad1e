"""JSON routes of the base platform under /api/v1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from zhixian.errors import Invalid, NotAuthenticated
from zhixian.exports import csv_text
from zhixian.fields import Day, Moment
from zhixian.platform import accounts, audit, auth, org, service, sessions, uploads
from zhixian.platform.actor import Actor
from zhixian.platform.deps import (
    AuditExporter,
    AuditReader,
    CalendarManager,
    OrgManager,
    Pending,
    RoleManager,
    Signed,
    SystemManager,
    TokenCreator,
    UserManager,
    UserReader,
)
from zhixian.platform.models import ApiToken
from zhixian.platform.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    AuditRead,
    AuditVerifyRead,
    CalendarOverrideIn,
    CalendarOverrideRead,
    DeadlineRead,
    DepartmentIn,
    DepartmentRead,
    DivisionRead,
    ImportReport,
    LoginIn,
    Me,
    OrgBundle,
    PasswordChange,
    PermissionRead,
    RoleIn,
    RoleRead,
    RolesAssign,
    SubsystemRead,
    UserCreate,
    UserCreated,
    UserDetail,
    UserRead,
    UserUpdate,
)
from zhixian.web.auth import SESSION_COOKIE, Public, SettingsDep, client_ip, set_cookie
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1", tags=["底座"])


Paging = Annotated[PageParams, Depends(page_params)]


def _me(actor: Actor) -> Me:
    return Me(
        id=actor.user_id,
        username=actor.username,
        full_name=actor.full_name,
        department_id=actor.department_id,
        department_name=actor.department_name,
        roles=list(actor.roles),
        permissions=sorted(actor.permissions),
        county_scope=actor.county_scope,
        must_change_password=actor.must_change_password,
    )


# --- sign-in


@router.post("/auth/login", dependencies=[Public], summary="账号密码登录（浏览器会话）")
def login(data: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    outcome = auth.authenticate(
        session,
        settings=settings,
        username=data.username,
        password=data.password,
        ctx=audit.AuditContext(ip=client_ip(request)),
        user_agent=request.headers.get("user-agent", ""),
    )
    if not outcome.ok or outcome.user is None or outcome.token is None or outcome.session is None:
        # the failure and any lockout are committed with the request; only the answer is an error
        return JSONResponse(
            {"type": "about:blank", "title": "登录失败", "status": 401, "detail": outcome.message},
            status_code=401,
            media_type="application/problem+json",
        )
    actor = service.actor_for(
        outcome.user,
        ip=client_ip(request),
        session_id=outcome.session.id,
        csrf_token=outcome.session.csrf_token,
        mfa_pending=outcome.mfa_required,
    )
    body = {
        "user": _me(actor).model_dump(),
        "csrf_token": outcome.session.csrf_token,
        "must_change_password": outcome.must_change_password,
        "mfa_required": outcome.mfa_required,
    }
    response = JSONResponse(body)
    set_cookie(request, response, SESSION_COOKIE, outcome.token, max_age=settings.session_absolute_hours * 3600)
    return response


@router.post("/auth/logout", status_code=204, summary="退出登录，结束服务器端会话")
def logout(actor: Pending, session: SessionDep) -> Response:
    if actor.session_id is None:
        raise NotAuthenticated("API 令牌无需退出；如需停用请吊销令牌")
    from zhixian.platform.models import UserSession

    row = session.get(UserSession, actor.session_id)
    if row is not None:
        sessions.end_session(session, row=row, ctx=actor.audit)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="当前用户")
def me(actor: Pending) -> Me:
    return _me(actor)


@router.post("/me/password", status_code=204, summary="修改本人密码")
def change_my_password(data: PasswordChange, actor: Pending, session: SessionDep, settings: SettingsDep) -> Response:
    """Every other session and every API token of the user end; the X-Ended header says how many."""
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    ended = auth.change_password(
        session,
        settings=settings,
        user=user,
        current=data.current_password,
        new=data.new_password,
        ctx=actor.audit,
        session_id=actor.session_id,
    )
    return Response(
        status_code=204, headers={"X-Sessions-Ended": str(ended.sessions), "X-Tokens-Revoked": str(ended.tokens)}
    )


@router.get("/me/tokens", summary="本人的 API 令牌")
def my_tokens(actor: Signed, session: SessionDep) -> list[ApiTokenRead]:
    from sqlalchemy import select

    rows = session.execute(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)).scalars()
    return [ApiTokenRead.model_validate(r) for r in rows]


@router.post("/me/tokens", status_code=201, summary="创建 API 令牌（仅显示一次）")
def create_token(
    data: ApiTokenCreate, actor: TokenCreator, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreated:
    """Only from a signed-in session, and only for roles given ``platform.token.create``."""
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    plain, row = sessions.create_api_token(
        session, user=user, name=data.name, days=data.days, settings=settings, ctx=actor.audit
    )
    return ApiTokenCreated(token=plain, info=ApiTokenRead.model_validate(row))


@router.delete("/me/tokens/{token_id}", status_code=204, summary="吊销 API 令牌")
def revoke_token(token_id: IdPath, actor: Signed, session: SessionDep) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    sessions.revoke_api_token(session, token_id=token_id, user=user, ctx=actor.audit)
    return Response(status_code=204)


# --- organisation


@router.get("/divisions", summary="行政区划")
def divisions(
    _: Signed,
    session: SessionDep,
    parent_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    level: Annotated[str | None, Query(pattern="^(county|town|village)$")] = None,
) -> list[DivisionRead]:
    return [DivisionRead.model_validate(d) for d in org.list_divisions(session, parent_code=parent_code, level=level)]


@router.get("/departments", summary="部门")
def departments(_: Signed, session: SessionDep) -> list[DepartmentRead]:
    return [DepartmentRead.model_validate(d) for d in org.list_departments(session)]


@router.post("/departments", status_code=201, summary="新建或修改部门（按代码）")
def save_department(data: DepartmentIn, actor: OrgManager, session: SessionDep) -> DepartmentRead:
    return DepartmentRead.model_validate(org.upsert_department(session, data=data, actor=actor))


@router.get("/org/export.json", summary="导出区划与部门（JSON）")
def export_org_json(_: OrgManager, session: SessionDep) -> OrgBundle:
    return org.export_bundle(session)


@router.get("/org/export.xlsx", summary="导出区划与部门（Excel）", response_class=Response)
def export_org_xlsx(_: OrgManager, session: SessionDep) -> Response:
    return Response(
        org.export_excel(session),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=org.xlsx"},
    )


@router.post("/org/import", summary="导入区划与部门（JSON，全部成功或全部不变）")
def import_org_json(bundle: OrgBundle, actor: OrgManager, session: SessionDep) -> ImportReport:
    return org.import_bundle(session, bundle=bundle, actor=actor)


@router.post("/org/import.xlsx", summary="导入区划与部门（Excel，全部成功或全部不变）")
def import_org_excel(
    file: Annotated[UploadFile, File(description="与导出格式相同的工作簿")],
    actor: OrgManager,
    session: SessionDep,
) -> ImportReport:
    content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, label="工作簿")
    if not content:
        raise Invalid("上传的文件是空的", field="file")
    return org.import_bundle(session, bundle=org.parse_excel(content), actor=actor)


# --- users and roles


@router.get("/users", summary="用户（按部门范围）")
def users(
    actor: UserReader,
    session: SessionDep,
    paging: Paging,
    q: Annotated[str, Query(max_length=64)] = "",
    department_id: IdQuery = None,
) -> Page[UserRead]:
    rows, total = service.list_users(
        session, actor=actor, q=q, department_id=department_id, offset=paging.offset, limit=paging.size
    )
    return Page(items=[service.user_read(u) for u in rows], total=total, page=paging.page, size=paging.size)


@router.post("/users", status_code=201, summary="新建用户")
def create_user(
    data: UserCreate,
    actor: UserManager,
    session: SessionDep,
    request: Request,
) -> UserCreated:
    user, password = accounts.create_user(
        session, actor=actor, data=data, settings=request.app.state.settings, cipher=request.app.state.cipher
    )
    return UserCreated(user=service.user_read(user), initial_password=password)


@router.get("/users/risky", summary="需复核的账号：休眠、密码过期、共享（等保）")
def risky_users(actor: UserManager, session: SessionDep, settings: SettingsDep) -> dict[str, list[UserRead]]:
    groups = accounts.risky_accounts(session, actor=actor, settings=settings)
    return {kind: [service.user_read(u) for u in users] for kind, users in groups.items()}


@router.get("/users/{user_id}", summary="用户（手机号脱敏）")
def get_user(user_id: IdPath, actor: Signed, session: SessionDep) -> UserRead:
    return service.user_read(service.get_user(session, actor=actor, user_id=user_id))


@router.get("/users/{user_id}/personal", summary="用户完整联系方式（记入审计）")
def get_user_personal(user_id: IdPath, actor: Signed, session: SessionDep, request: Request) -> UserDetail:
    return service.read_user_personal(session, actor=actor, user_id=user_id, cipher=request.app.state.cipher)


@router.patch("/users/{user_id}", summary="修改用户")
def update_user(
    user_id: IdPath,
    data: UserUpdate,
    actor: UserManager,
    session: SessionDep,
    request: Request,
) -> UserRead:
    user = accounts.update_user(session, actor=actor, user_id=user_id, data=data, cipher=request.app.state.cipher)
    return service.user_read(user)


@router.put("/users/{user_id}/roles", summary="设置用户角色（三权分立校验）")
def set_roles(
    user_id: IdPath,
    data: RolesAssign,
    actor: UserManager,
    session: SessionDep,
) -> UserRead:
    return service.user_read(accounts.assign_roles(session, actor=actor, user_id=user_id, codes=data.roles))


@router.post("/users/{user_id}/reset-password", summary="重置密码（返回一次性初始密码；结束其全部会话并吊销令牌）")
def reset_password(user_id: IdPath, actor: UserManager, session: SessionDep, settings: SettingsDep) -> dict[str, str]:
    password, ended = accounts.reset_password(session, actor=actor, user_id=user_id, settings=settings)
    message = f"密码已重置。已结束该账号的全部 {ended.sessions} 个登录会话，并吊销全部 {ended.tokens} 个 API 令牌"
    return {"initial_password": password, "message": message}


@router.post("/users/{user_id}/unlock", summary="解除锁定")
def unlock_user(user_id: IdPath, actor: UserManager, session: SessionDep) -> UserRead:
    return service.user_read(accounts.unlock_user(session, actor=actor, user_id=user_id))


@router.get("/roles", summary="角色")
def roles(_: UserReader, session: SessionDep) -> list[RoleRead]:
    return [RoleRead.model_validate(r) for r in service.list_roles(session)]


@router.put("/roles/{code}", summary="新建或修改角色")
def save_role(
    code: str,
    data: RoleIn,
    actor: RoleManager,
    session: SessionDep,
    request: Request,
) -> RoleRead:
    if code != data.code:
        raise Invalid("路径中的角色代码与请求体不一致", field="code")
    known = set(request.app.state.registry.permissions())
    return RoleRead.model_validate(accounts.save_role(session, actor=actor, data=data, known_permissions=known))


@router.get("/permissions", summary="全部权限")
def permissions(_: UserReader, request: Request) -> list[PermissionRead]:
    registry = request.app.state.registry
    return [
        PermissionRead(code=p.code, name=p.name, subsystem=s.code)
        for s in registry.enabled.values()
        for p in s.permissions
    ]


# --- audit (审计管理员 only)


def _audit_filter(
    username: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    result: Annotated[str, Query(max_length=16)] = "",
    object_type: Annotated[str, Query(max_length=64)] = "",
    start: Moment | None = None,
    end: Moment | None = None,
) -> audit.AuditFilter:
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid("时间须带时区，例如 2026-11-01T00:00:00+08:00", field=name)
    return audit.AuditFilter(
        username=username, action=action, result=result, object_type=object_type, start=start, end=end
    )


AuditFilterDep = Annotated[audit.AuditFilter, Depends(_audit_filter)]


@router.get("/audit", summary="审计日志")
def audit_log(_: AuditReader, session: SessionDep, paging: Paging, flt: AuditFilterDep) -> Page[AuditRead]:
    rows, total = audit.search(session, flt=flt, offset=paging.offset, limit=paging.size)
    return Page(items=[AuditRead.model_validate(r) for r in rows], total=total, page=paging.page, size=paging.size)


@router.get("/audit/verify", summary="校验审计日志哈希链")
def audit_verify(_: AuditReader, session: SessionDep) -> AuditVerifyRead:
    result = audit.verify(session)
    return AuditVerifyRead(
        ok=result.ok, checked=result.checked, problems=result.problems, first_bad_id=result.first_bad_id
    )


@router.get("/audit/export.csv", summary="导出审计日志（CSV，供异地备份）", response_class=Response)
def audit_export(actor: AuditExporter, session: SessionDep, flt: AuditFilterDep) -> Response:
    header = [
        "id",
        "时间(UTC)",
        "用户",
        "部门ID",
        "操作",
        "对象类型",
        "对象",
        "结果",
        "来源地址",
        "详情",
        "前序哈希",
        "哈希",
        "链道",
    ]
    count = 0

    def rows() -> Iterator[list[object]]:
        nonlocal count
        for r in audit.iter_filtered(session, flt=flt):
            count += 1
            yield [
                r.id,
                r.at.isoformat(),
                r.username,
                r.department_id or "",
                r.action,
                r.object_type,
                r.object_id,
                r.result,
                r.ip,
                str(r.detail),
                r.prev_hash,
                r.hash,
                r.lane,
            ]

    body = csv_text(header, rows())  # every cell through the formula guard, the source address included
    audit.record(session, actor.audit, action="audit_export", object_type="audit", detail={"rows": count})
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )


# --- calendar


@router.get("/calendar/overrides", summary="工作日历调整")
def overrides(
    _: Signed, session: SessionDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> list[CalendarOverrideRead]:
    return [CalendarOverrideRead.model_validate(r) for r in service.list_overrides(session, year=year)]


@router.put("/calendar/overrides/{day}", summary="设置某日为工作日或休息日")
def set_override(
    day: Day,
    data: CalendarOverrideIn,
    actor: CalendarManager,
    session: SessionDep,
) -> CalendarOverrideRead:
    if day != data.day:
        raise Invalid("路径中的日期与请求体不一致", field="day")
    return CalendarOverrideRead.model_validate(service.set_override(session, actor=actor, data=data))


@router.delete("/calendar/overrides/{day}", status_code=204, summary="删除日历调整")
def delete_override(day: Day, actor: CalendarManager, session: SessionDep) -> Response:
    service.delete_override(session, actor=actor, day=day)
    return Response(status_code=204)


@router.get("/calendar/deadline", summary="按工作时间计算期限")
def deadline(
    _: Signed,
    session: SessionDep,
    settings: SettingsDep,
    start: Moment,
    hours: Annotated[float, Query(ge=0, le=87600)] = 0,
    days: Annotated[float, Query(ge=0, le=3650)] = 0,
) -> DeadlineRead:
    if start.tzinfo is None:
        raise Invalid("开始时间须带时区，例如 2026-10-09T10:00:00+08:00", field="start")
    try:
        result = service.add_working_time(session, settings=settings, start=start, hours=hours, days=days)
    except ValueError as exc:
        raise Invalid(str(exc), field="hours") from exc
    return DeadlineRead(start=start, deadline=result.at, warnings=list(result.warnings))


# --- subsystems


@router.get("/subsystems", summary="子系统（规定动作与自选动作）")
def subsystem_list(_: SystemManager, request: Request) -> list[SubsystemRead]:
    registry = request.app.state.registry
    return [
        SubsystemRead(
            code=s.code,
            name=s.name,
            kind=s.kind,
            state=registry.state(s.code),
            standard=s.standard,
            description=s.description,
        )
        for s in registry.available.values()
    ]


# --- two-person rule for administrator duties (its own module: api.py is near the size limit)

from zhixian.platform import api_changes  # noqa: E402, F401 - registers its routes on this router
