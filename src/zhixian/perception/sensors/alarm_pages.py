"""HTML pages of the alarm console under /perception: the alarm list, one alarm and its actions, the duty list.

A refused action re-renders the page it came from (the alarm, or the duty officer's list) with the message
beside the field and what was typed kept, through the one form-error path (``zhixian.web.forms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhixian.errors import DomainError, Invalid, NotFound
from zhixian.perception.sensors import alarms, escalation, service
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors.api import intake_options
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/perception", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("perception.view"))]
Handler = Annotated[Actor, Depends(Require("perception.alarm.handle"))]
ACTIONS = {"ack": "确认", "assign": "指派", "clear": "清除", "comment": "评论", "case": "转为案件"}
# each action form's fields by their labels (alarm.html draws them with these)
ACTION_FIELDS = {
    "ack": {"note": "确认说明（可空）"},
    "assign": {"user_id": "指派给"},
    "comment": {"note": "评论"},
    "clear": {"note": "清除原因（必填，如误报）"},
    "case": {"note": "转案件说明"},
}
SIZE = 50


@dataclass
class FailedAction:
    """The action form that was refused, shown again with what was typed and why."""

    action: str
    values: dict[str, Any]
    errors: FormErrors


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
    device = None
    if device_id:  # the filter tag names the device (a number alone tells the officer nothing)
        try:
            device = service.get_device(session, actor=actor, device_id=device_id)
        except NotFound:
            device = None
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
        device=device,
        base_query=urlencode(params),
        figures=alarms.figures(session, actor=actor),
        profiles=service.list_profiles(session, actor=actor),
        severities=engine.SEVERITIES,
        kinds=engine.KINDS,
    )


def _alarm_page(
    request: Request,
    session: Any,
    actor: Actor,
    alarm_id: int,
    *,
    failed: FailedAction | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = alarms.alarm_detail(session, actor=actor, alarm_id=alarm_id)
    alarm = alarms.get_alarm(session, actor=actor, alarm_id=alarm_id)
    people = alarms.handlers(session, alarm=alarm) if actor.can(alarms.HANDLE) else []
    return render(
        request,
        "perception/alarm.html",
        actor,
        status_code=status_code,
        alarm=detail,
        people=people,
        done=ACTIONS.get(request.query_params.get("done", "")) if failed is None else None,
        failed=failed,
        labels=ACTION_FIELDS,
        can_case=actor.can(escalation.ESCALATE),
    )


@router.get("/alarms/{alarm_id}")
def alarm_page(alarm_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    return _alarm_page(request, session, actor, alarm_id)


def _act(
    request: Request, session: Any, actor: Actor, alarm_id: int, action: str, note: str, user_id: int | None
) -> None:
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
    else:  # "case": the path's pattern admits nothing else
        actor.require(escalation.ESCALATE)
        alarm = alarms.get_alarm(session, actor=actor, alarm_id=alarm_id)
        reason = f"值班人员 {actor.full_name} 人工转案件" + (f"：{note}" if note else "")
        escalation.open_case(session, alarm=alarm, options=intake_options(request), reason=reason, actor=actor)


@router.post("/alarms/{alarm_id}/act/{action}")
def alarm_act(
    alarm_id: IdPath,
    action: Annotated[str, Path(pattern="^(ack|assign|clear|comment|case)$")],
    request: Request,
    session: SessionDep,
    actor: Handler,
    note: Annotated[str, Form(max_length=4000, title="说明")] = "",
    user_id: Annotated[int | None, Form(ge=1, le=2**31 - 1, title="指派给")] = None,
    back: Annotated[str, Form(pattern="^(|duty)$")] = "",
) -> Response:
    try:
        _act(request, session, actor, alarm_id, action, note, user_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise  # out of scope stays a 404, without permission a 403
        session.rollback()  # nothing of a refused action is kept
        errors = form_errors(exc, ACTION_FIELDS[action], title=f"未能{ACTIONS[action]}")
        if back == "duty":
            return _duty_page(request, session, actor, errors=errors, status_code=exc.status)
        failed = FailedAction(action, {"note": note, "user_id": user_id}, errors)
        return _alarm_page(request, session, actor, alarm_id, failed=failed, status_code=exc.status)
    target = "/perception/duty" if back == "duty" else f"/perception/alarms/{alarm_id}"
    return RedirectResponse(f"{target}?{urlencode({'done': action})}", status_code=303)


def _duty_page(
    request: Request, session: Any, actor: Actor, *, errors: FormErrors | None = None, status_code: int = 200
) -> HTMLResponse:
    rows, total = alarms.list_alarms(session, actor=actor, flt=alarms.AlarmFilter(status="active"), limit=100)
    fragment = request.headers.get("hx-request") == "true" and errors is None
    return render(
        request,
        "perception/_duty_list.html" if fragment else "perception/duty.html",
        actor,
        status_code=status_code,
        rows=rows,
        total=total,
        figures=alarms.figures(session, actor=actor),
        done=ACTIONS.get(request.query_params.get("done", "")) if errors is None else None,
        errors=errors,
    )


@router.get("/duty")
def duty_page(request: Request, session: SessionDep, actor: Handler) -> HTMLResponse:
    """The duty officer's phone list: active alarms, unacknowledged and worst first, refreshed every 15 s."""
    return _duty_page(request, session, actor)
