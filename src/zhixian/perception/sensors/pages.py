"""HTML pages of 物联感知 under /perception: map, devices, device charts, alarm console, duty list, profile editor."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.clock import utcnow
from zhixian.errors import DomainError, Invalid, invalid_from
from zhixian.perception.sensors import alarms, escalation, readings, service
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors.api import intake_options
from zhixian.perception.sensors.mqtt import telemetry_topic
from zhixian.perception.sensors.schemas import DeviceIn, ProfileIn, RuleIn
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/perception", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("perception.view"))]
Handler = Annotated[Actor, Depends(Require("perception.alarm.handle"))]
DeviceManager = Annotated[Actor, Depends(Require("perception.device.manage"))]
ProfileManager = Annotated[Actor, Depends(Require("perception.profile.manage"))]
STATES = service.STATE_LABELS
ACTIONS = {"ack": "确认", "assign": "指派", "clear": "清除", "comment": "评论", "case": "转为案件"}
SIZE = 50


def _common(session: Any, actor: Actor) -> dict[str, Any]:
    return {
        "profiles": service.list_profiles(session, actor=actor),
        "states": STATES,
        "severities": engine.SEVERITIES,
        "kinds": engine.KINDS,
    }


@router.get("/map")
def map_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    profile: Annotated[str, Query(max_length=32)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    figures = alarms.figures(session, actor=actor)
    return render(
        request, "perception/map.html", actor, figures=figures, profile=profile, state=state, **_common(session, actor)
    )


@router.get("/devices")
def devices_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    profile: Annotated[str, Query(max_length=32)] = "",
    state: Annotated[str, Query(pattern="^(|normal|alarm|offline|never|inactive)$")] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    rows, total = service.list_devices(
        session,
        actor=actor,
        profile_code=profile or None,
        state=state or None,
        q=q,
        offset=(page - 1) * SIZE,
        limit=SIZE,
    )
    base_query = urlencode({"profile": profile, "state": state, "q": q})
    return render(
        request,
        "perception/devices.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        size=SIZE,
        base_query=base_query,
        profile=profile,
        state=state,
        q=q,
        **_common(session, actor),
    )


def _departments(session: Any, actor: Actor) -> list[Any]:
    depts = platform.list_departments(session)
    return [d for d in depts if service.sees_all(actor) or actor.sees_department(d.path)]


@router.get("/devices/new")
def new_device_page(request: Request, session: SessionDep, actor: DeviceManager) -> HTMLResponse:
    return render(
        request,
        "perception/device_new.html",
        actor,
        departments=_departments(session, actor),
        form={},
        errors={},
        **_common(session, actor),
    )


@router.post("/devices/new")
async def create_device_page(request: Request, session: SessionDep, actor: DeviceManager) -> Response:
    form = dict((await request.form()).items())
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
    values["active"] = form.get("active") == "on"
    try:
        data = DeviceIn.model_validate(values)
        device, secret = service.create_device(session, actor=actor, data=data)
    except (ValidationError, DomainError) as exc:
        err = invalid_from(exc) if isinstance(exc, ValidationError) else exc
        errors = {e.field or "": e.message for e in err.errors} or {"": err.detail}
        return render(
            request,
            "perception/device_new.html",
            actor,
            status_code=422,
            departments=_departments(session, actor),
            form=form,
            errors=errors,
            message=err.detail,
            **_common(session, actor),
        )
    return _secret_page(request, actor, device, secret, created=True)


def _secret_page(request: Request, actor: Actor, device: Any, secret: str, *, created: bool) -> HTMLResponse:
    topic = telemetry_topic(request.app.state.settings, device.code)
    return render(request, "perception/secret.html", actor, device=device, secret=secret, topic=topic, created=created)


@router.get("/devices/{device_id}")
def device_page(device_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    device = service.get_device(session, actor=actor, device_id=device_id)
    read = service.device_reads(session, [device])[0]
    profile = service.get_profile(session, device.profile_id)
    active, _ = alarms.list_alarms(
        session, actor=actor, flt=alarms.AlarmFilter(status=None, device_id=device.id), limit=20
    )
    return render(
        request,
        "perception/device.html",
        actor,
        device=read,
        profile=service.profile_read(session, profile),
        telemetry=profile.telemetry,
        alarms=active,
        overrides=service.device_rules(session, actor=actor, device_id=device.id),
        topic=telemetry_topic(request.app.state.settings, device.code),
        done=request.query_params.get("done"),
        now_ms=int(utcnow().timestamp() * 1000),
    )


@router.get("/devices/{device_id}/live")
def device_live(device_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    device = service.get_device(session, actor=actor, device_id=device_id)
    read = service.device_reads(session, [device])[0]
    profile = service.get_profile(session, device.profile_id)
    return render(request, "perception/_live.html", actor, device=read, telemetry=profile.telemetry)


@router.post("/devices/{device_id}/secret")
def rotate_secret_page(device_id: IdPath, request: Request, session: SessionDep, actor: DeviceManager) -> HTMLResponse:
    device, secret = service.rotate_secret(session, actor=actor, device_id=device_id)
    return _secret_page(request, actor, device, secret, created=False)


# --- alarms


def _flag(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value)


@router.get("/alarms")
def alarms_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    status: Annotated[str, Query(pattern="^(active|cleared|all)$")] = "active",
    acknowledged: Annotated[str, Query(pattern="^(|true|false)$")] = "",
    severity: Annotated[str, Query(pattern="^(|critical|major|minor|warning)$")] = "",
    profile: Annotated[str, Query(max_length=32)] = "",
    rule_kind: Annotated[str, Query(pattern="^(|threshold|duration|repeat|rate|offline)$")] = "",
    escalated: Annotated[str, Query(pattern="^(|true|false)$")] = "",
    device_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    flt = alarms.AlarmFilter(
        status=None if status == "all" else status,
        acknowledged=_flag(acknowledged),
        severity=severity or None,
        profile_code=profile or None,
        rule_kind=rule_kind or None,
        escalated=_flag(escalated),
        device_id=device_id,
    )
    rows, total = alarms.list_alarms(session, actor=actor, flt=flt, offset=(page - 1) * SIZE, limit=SIZE)
    params = {
        "status": status,
        "acknowledged": acknowledged,
        "severity": severity,
        "profile": profile,
        "rule_kind": rule_kind,
        "escalated": escalated,
        "device_id": device_id or "",
    }
    fragment = request.headers.get("hx-request") == "true"
    return render(
        request,
        "perception/_alarm_rows.html" if fragment else "perception/alarms.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        size=SIZE,
        params=params,
        base_query=urlencode(params),
        figures=alarms.figures(session, actor=actor),
        **_common(session, actor),
    )


@router.get("/alarms/{alarm_id}")
def alarm_page(alarm_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    detail = alarms.alarm_detail(session, actor=actor, alarm_id=alarm_id)
    alarm = alarms.get_alarm(session, actor=actor, alarm_id=alarm_id)
    people = alarms.handlers(session, alarm=alarm) if actor.can(alarms.HANDLE) else []
    return render(
        request,
        "perception/alarm.html",
        actor,
        alarm=detail,
        people=people,
        done=request.query_params.get("done"),
        error=request.query_params.get("error"),
        actions=ACTIONS,
        can_case=actor.can(escalation.ESCALATE),
    )


@router.post("/alarms/{alarm_id}/act/{action}")
def alarm_act(
    alarm_id: IdPath,
    action: Annotated[str, Path(pattern="^(ack|assign|clear|comment|case)$")],
    request: Request,
    session: SessionDep,
    actor: Handler,
    note: Annotated[str, Form(max_length=4000)] = "",
    user_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    back: Annotated[str, Form(pattern="^(|duty)$")] = "",
) -> Response:
    try:
        if action == "ack":
            alarms.acknowledge(session, actor=actor, alarm_id=alarm_id, note=note)
        elif action == "assign":
            if user_id is None:
                raise Invalid("请选择指派对象", field="user_id")
            alarms.assign(session, actor=actor, alarm_id=alarm_id, user_id=user_id)
        elif action == "clear":
            alarms.clear(session, actor=actor, alarm_id=alarm_id, note=note)
        elif action == "comment":
            if not note.strip():
                raise Invalid("评论不能为空", field="note")
            alarms.comment(session, actor=actor, alarm_id=alarm_id, text=note)
        elif action == "case":
            actor.require(escalation.ESCALATE)
            alarm = alarms.get_alarm(session, actor=actor, alarm_id=alarm_id)
            reason = f"值班人员 {actor.full_name} 人工转案件" + (f"：{note}" if note else "")
            escalation.open_case(session, alarm=alarm, options=intake_options(request), reason=reason, actor=actor)
        else:
            raise Invalid("不支持的操作", field="action")
    except DomainError as exc:
        if exc.status in (403, 404):
            raise  # out of scope stays a 404, without permission a 403
        target = "/perception/duty" if back == "duty" else f"/perception/alarms/{alarm_id}"
        return RedirectResponse(f"{target}?{urlencode({'error': exc.detail})}", status_code=303)
    target = "/perception/duty" if back == "duty" else f"/perception/alarms/{alarm_id}"
    return RedirectResponse(f"{target}?{urlencode({'done': ACTIONS.get(action, action)})}", status_code=303)


@router.get("/duty")
def duty_page(request: Request, session: SessionDep, actor: Handler) -> HTMLResponse:
    """The duty officer's phone list: active alarms, unacknowledged and worst first, refreshed every 15 s."""
    rows, total = alarms.list_alarms(session, actor=actor, flt=alarms.AlarmFilter(status="active"), limit=100)
    fragment = request.headers.get("hx-request") == "true"
    return render(
        request,
        "perception/_duty_list.html" if fragment else "perception/duty.html",
        actor,
        rows=rows,
        total=total,
        figures=alarms.figures(session, actor=actor),
        done=request.query_params.get("done"),
        error=request.query_params.get("error"),
    )


# --- profiles and rules


@router.get("/profiles")
def profiles_page(request: Request, session: SessionDep, actor: ProfileManager) -> HTMLResponse:
    return render(request, "perception/profiles.html", actor, **_common(session, actor))


def _profile_context(session: Any, actor: Actor, profile_id: int) -> dict[str, Any]:
    from zhixian.citymgmt import service as citymgmt

    profile = service.profile_read(session, service.get_profile(session, profile_id))
    devices, _ = service.list_devices(session, actor=actor, profile_code=profile.code, limit=500)
    return {
        "profile": profile,
        "telemetry_json": json.dumps(profile.telemetry, ensure_ascii=False, indent=1),
        "classes": citymgmt.class_names(session),
        "devices": devices,
        "kinds": engine.KINDS,
        "severities": engine.SEVERITIES,
        "levels": engine.LEVELS,
        "ops": engine.OPS,
        "directions": engine.DIRECTIONS,
    }


@router.get("/profiles/{profile_id}")
def profile_page(profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager) -> HTMLResponse:
    return render(
        request,
        "perception/profile.html",
        actor,
        done=request.query_params.get("done"),
        errors={},
        **_profile_context(session, actor, profile_id),
    )


def _rule_from_form(form: dict[str, Any]) -> RuleIn:
    params: dict[str, Any] = {}
    for name in ("op", "value", "hysteresis", "minutes", "count", "change", "direction", "severity", "level"):
        if form.get(name) not in (None, ""):
            params[name] = form[name]
    levels_raw = str(form.get("levels", "")).strip()
    if levels_raw:
        levels = []
        for part in levels_raw.replace("，", ",").split(","):
            colour, _, value = part.strip().partition(":")
            if not value:
                colour, _, value = part.strip().partition("：")
            levels.append({"level": colour.strip(), "value": value.strip()})
        params["levels"] = levels
        params.pop("value", None)
    return RuleIn(
        code=str(form.get("code", "")),
        name=str(form.get("name", "")),
        kind=form.get("kind", ""),
        key=str(form.get("key", "")),
        params=params,
        enabled=form.get("enabled", "on") == "on",
    )


async def _form(request: Request) -> dict[str, Any]:
    return {k: v for k, v in (await request.form()).items() if k != "csrf_token"}


@router.post("/profiles/{profile_id}")
async def save_profile_page(
    profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager
) -> Response:
    form = await _form(request)
    try:
        telemetry = json.loads(str(form.get("telemetry", "[]")))
    except ValueError:
        telemetry = None
    try:
        if not isinstance(telemetry, list):
            raise Invalid("遥测项应为 JSON 数组", field="telemetry")
        values = {k: v for k, v in form.items() if k != "telemetry" and v != ""}
        data = ProfileIn.model_validate({**values, "telemetry": telemetry})
        service.save_profile(session, actor=actor, data=data, profile_id=profile_id)
    except (ValidationError, DomainError) as exc:
        return _profile_error(request, session, actor, profile_id, exc)
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=已保存设备类型", status_code=303)


def _profile_error(request: Request, session: Any, actor: Actor, profile_id: int, exc: Exception) -> HTMLResponse:
    err = invalid_from(exc) if isinstance(exc, ValidationError) else exc
    assert isinstance(err, DomainError)
    errors = {e.field or "": e.message for e in err.errors} or {"": err.detail}
    return render(
        request,
        "perception/profile.html",
        actor,
        status_code=422,
        errors=errors,
        message=err.detail,
        **_profile_context(session, actor, profile_id),
    )


@router.post("/profiles/{profile_id}/rules")
async def save_rule_page(profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager) -> Response:
    form = await _form(request)
    try:
        rule = _rule_from_form(form)
        device_id = int(form["device_id"]) if str(form.get("device_id", "")).isdigit() else None
        if device_id:
            service.save_rule(session, actor=actor, data=rule, device_id=device_id)
        else:
            service.save_rule(session, actor=actor, data=rule, profile_id=profile_id)
    except (ValidationError, DomainError) as exc:
        return _profile_error(request, session, actor, profile_id, exc)
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=已保存规则 {rule.code}", status_code=303)


@router.post("/profiles/{profile_id}/rules/{rule_id}/delete")
def delete_rule_page(profile_id: IdPath, rule_id: IdPath, session: SessionDep, actor: ProfileManager) -> Response:
    service.delete_rule(session, actor=actor, rule_id=rule_id)
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=已删除规则", status_code=303)


@router.post("/profiles/{profile_id}/test")
async def test_rule_page(
    profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager
) -> HTMLResponse:
    form = await _form(request)
    try:
        rule = _rule_from_form(form)
        hours = int(form.get("hours") or 24)
        if not 1 <= hours <= 720:
            raise Invalid("试算时长应为 1–720 小时", field="hours")
        result = readings.try_rule(session, actor=actor, profile_id=profile_id, data=rule, hours=hours)
    except (ValidationError, DomainError) as exc:
        err = invalid_from(exc) if isinstance(exc, ValidationError) else exc
        assert isinstance(err, DomainError)
        return render(request, "perception/_test.html", actor, error=err.detail, errors=err.errors, result=None)
    return render(request, "perception/_test.html", actor, result=result, error=None, errors=[], hours=hours)


@router.get("/ingest")
def ingest_page(request: Request, session: SessionDep, actor: DeviceManager) -> HTMLResponse:
    stats = readings.ingest_stats(session, actor=actor, days=7)
    return render(
        request,
        "perception/ingest.html",
        actor,
        stats=stats,
        topic=telemetry_topic(request.app.state.settings, "<设备编码>"),
    )
