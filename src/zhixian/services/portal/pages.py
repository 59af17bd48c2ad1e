"""Pages of the citizen portal (一网通享): sign-in with a one-time code, 我的 (record, licences, applications,
notices), who used my data, consents and the published lookups. Online applications: ``apply_pages``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhixian.errors import DomainError, Invalid, NotFound, TooManyRequests
from zhixian.exchange import service as exchange_service
from zhixian.services import workflow
from zhixian.services.licences import service as licences
from zhixian.services.portal import apply_pages, consents, lookups, mydata, notices, signin
from zhixian.services.portal.sessions import CITIZEN_COOKIE, create_session, end_session, limits
from zhixian.services.portal.web import CitizenDep, MaybeCitizen, render
from zhixian.web.auth import Public, SettingsDep, check_login_csrf, client_ip, set_cookie
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath

router = APIRouter(include_in_schema=False)
router.include_router(apply_pages.router)

LOGIN_LABELS = {"name": "姓名", "id_number": "公民身份号码", "phone": "手机号码", "code": "验证码"}
SENT = "如果你填写的姓名、身份号码与人口基础库一致，验证码已发送至 {phone}，{minutes} 分钟内有效。"


@router.get("/portal")
def portal_home(request: Request, citizen: MaybeCitizen) -> HTMLResponse:
    return render(request, "portal/home.html", citizen, lookups=consents.LOOKUPS)


# --- sign-in


@router.get("/portal/login")
def login_page(request: Request, citizen: MaybeCitizen) -> Response:
    if citizen is not None:
        return RedirectResponse("/portal/me", status_code=303)
    return render(request, "portal/login.html", None, errors=FormErrors(), form={})


@router.post("/portal/login", dependencies=[Public])
def login_start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=50)] = "",
    id_number: Annotated[str, Form(max_length=30)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Step one: the same page follows whether or not the number exists or matches."""
    check_login_csrf(request, csrf_token)
    form = {"name": name, "phone": phone}
    try:
        started = signin.start(
            session, settings=settings, cipher=request.app.state.cipher, name=name, id_number=id_number,
            phone=phone, ip=client_ip(request),
        )  # fmt: skip
    except TooManyRequests as exc:
        errors = FormErrors(message=exc.detail)
        return render(request, "portal/login.html", None, status_code=429, errors=errors, form=form)
    except Invalid as exc:
        errors = form_errors(exc, LOGIN_LABELS, fallback="请按提示修改")
        return render(request, "portal/login.html", None, status_code=422, errors=errors, form=form)
    sent = SENT.format(phone=started.phone_masked, minutes=signin.CODE_MINUTES)
    return render(request, "portal/code.html", None, challenge=started.challenge, sent=sent, errors=FormErrors())


@router.post("/portal/login/code", dependencies=[Public])
def login_code(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    challenge: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_login_csrf(request, csrf_token)
    ip = client_ip(request)
    done = signin.confirm(session, cipher=request.app.state.cipher, challenge=challenge, code=code, ip=ip)
    if done.citizen is None:
        errors = FormErrors(message="未能登录")
        errors.add("code", done.error, "验证码")
        return render(
            request, "portal/code.html", None, status_code=422, challenge=challenge, sent="", errors=errors,
            expired=done.locked or "重新获取" in done.error,
        )  # fmt: skip
    token = create_session(session, citizen=done.citizen, ip=ip, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse("/portal/me", status_code=303)
    set_cookie(request, response, CITIZEN_COOKIE, token, max_age=int(limits(settings)[1].total_seconds()))
    return response


@router.post("/portal/logout")
def logout(request: Request, citizen: CitizenDep, session: SessionDep) -> Response:
    signin.signed_out(session, citizen_id=citizen.citizen_id, ip=citizen.ip)
    end_session(session, session_id=citizen.session_id)
    response = RedirectResponse("/portal", status_code=303)
    response.delete_cookie(CITIZEN_COOKIE, path="/")
    return response


# --- 我的


@router.get("/portal/me")
def me(request: Request, citizen: CitizenDep, session: SessionDep) -> HTMLResponse:
    mine = mydata.overview(session, citizen=citizen)
    names = mydata.type_names(session)  # once per page, not once per licence
    return render(
        request,
        "portal/me.html",
        citizen,
        person=mine.person,
        licences=[licences.licence_read(r, names) for r in mine.licences],
        applications=mine.applications,
        matter_names=mine.matter_names,
        status_labels=workflow.STATUS_LABELS,
        light=lambda a: workflow.light(apply_pages.now(), a.status, a.remind_at, a.due_at),
        light_labels=workflow.LIGHT_LABELS,
        notices=notices.notices(session, recipient_index=citizen.id_index),
        unread=notices.unread(session, recipient_index=citizen.id_index),
        lookups=consents.LOOKUPS,
    )


@router.get("/portal/me/licences/{licence_id}")
def my_licence(request: Request, citizen: CitizenDep, session: SessionDep, licence_id: IdPath) -> HTMLResponse:
    row = mydata.my_licence(session, citizen=citizen, licence_id=licence_id)
    return render(
        request, "portal/licence.html", citizen, licence=licences.licence_read(row, mydata.type_names(session))
    )


@router.get("/portal/me/notices/{notice_id}")
def open_notice(citizen: CitizenDep, session: SessionDep, notice_id: IdPath) -> Response:
    row = mydata.my_notice(session, citizen=citizen, notice_id=notice_id)
    target = row.link if row.link.startswith("/portal/") else "/portal/me#notices"
    return RedirectResponse(target, status_code=303)


@router.post("/portal/me/notices/read")
def read_notices(citizen: CitizenDep, session: SessionDep) -> Response:
    notices.mark_read(session, recipient_index=citizen.id_index)
    return RedirectResponse("/portal/me#notices", status_code=303)


@router.get("/portal/me/usage")
def usage(request: Request, citizen: CitizenDep, session: SessionDep) -> HTMLResponse:
    rows = exchange_service.citizen_usage(session, who=mydata.who(citizen), subject_index=citizen.id_index)
    return render(request, "portal/usage.html", citizen, rows=rows, total=len(rows))


# --- consents and lookups


def _consents_page(
    request: Request, citizen: CitizenDep, session: SessionDep, status_code: int = 200, message: str = ""
) -> HTMLResponse:
    live = {s: consents.has(session, citizen_id=citizen.citizen_id, scope=s) for s in consents.scopes()}
    return render(
        request,
        "portal/consents.html",
        citizen,
        status_code=status_code,
        live=live,
        names={s: consents.scope_name(s) for s in consents.scopes()},
        history=consents.history(session, citizen_id=citizen.citizen_id),
        lookups=consents.LOOKUPS,
        message=message,
    )


@router.get("/portal/me/consents")
def consent_page(request: Request, citizen: CitizenDep, session: SessionDep) -> HTMLResponse:
    return _consents_page(request, citizen, session)


@router.post("/portal/me/consents")
def consent_change(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    scope: Annotated[str, Form(max_length=60)] = "",
    do: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    try:
        if do == "give":
            consents.give(session, who=mydata.who(citizen), citizen_id=citizen.citizen_id, scope=scope)
        elif do == "withdraw":
            consents.withdraw(session, who=mydata.who(citizen), citizen_id=citizen.citizen_id, scope=scope)
        else:
            raise Invalid("请选择同意或撤回", field="do")
    except DomainError as exc:
        session.rollback()
        return _consents_page(request, citizen, session, exc.status, exc.detail)
    done = "已同意" if do == "give" else "已撤回"
    return _consents_page(request, citizen, session, message=f"{done}：{consents.scope_name(scope)}")


@router.get("/portal/me/lookups/{code}")
def lookup_page(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Path(max_length=10)],
) -> HTMLResponse:
    if code not in consents.LOOKUPS:
        raise NotFound("没有这项查询")
    name = consents.LOOKUPS[code][0]
    if not consents.has(session, citizen_id=citizen.citizen_id, scope=f"lookup:{code}"):
        return render(request, "portal/lookup.html", citizen, code=code, lookup_name=name, need_consent=True, read=None)
    read = lookups.lookup(session, settings=settings, cipher=request.app.state.cipher, citizen=citizen, code=code)
    return render(request, "portal/lookup.html", citizen, code=code, lookup_name=name, need_consent=False, read=read)
