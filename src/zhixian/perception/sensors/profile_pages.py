"""HTML pages of device profiles and their alarm rules under /perception/profiles.

The profile page holds two forms (the profile's settings, a rule); a refused one comes back with what was
typed and each message beside its field, through the one form-error path (``zhixian.web.forms``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.citymgmt import service as citymgmt
from zhixian.errors import DomainError, Invalid
from zhixian.perception.sensors import readings, service
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors.devices import list_devices
from zhixian.perception.sensors.schemas import ProfileIn, RuleIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/perception", include_in_schema=False)
ProfileManager = Annotated[Actor, Depends(Require("perception.profile.manage"))]

PROFILE_LABELS = {
    "code": "代码",
    "name": "名称",
    "description": "说明",
    "telemetry": "遥测项",
    "telemetry.key": "代码 key",
    "telemetry.name": "名称 name",
    "telemetry.unit": "单位 unit",
    "telemetry.min": "下限 min",
    "telemetry.max": "上限 max",
    "offline_minutes": "离线判定（分钟）",
    "case_class_code": "告警转案件的类别",
    "maintenance_class_code": "离线维护案件类别",
    "notify_minutes": "未确认多少分钟通知值班员",
    "case_minutes": "未确认多少分钟转为案件",
    "case_min_severity": "自动转案件的最低级别",
}
PROFILE_FIELDS = [k for k in PROFILE_LABELS if "." not in k and k != "code"]
RULE_LABELS = {
    "code": "代码（告警类型）",
    "name": "名称",
    "kind": "类型",
    "key": "遥测项",
    **engine.PARAM_NAMES,
    "device_id": "只对设备",
    "enabled": "启用",
    "hours": "试算读数（小时）",
    "params": "规则参数",
}
RULE_FIELDS = [k for k in RULE_LABELS if k != "params"]
DONE = {"profile": "已保存设备类型", "rule": "已保存规则", "rule_deleted": "已删除规则"}


def _telemetry_json(telemetry: Any) -> str:
    return json.dumps(telemetry, ensure_ascii=False, indent=1)


def _profile_page(
    request: Request,
    session: Any,
    actor: Actor,
    profile_id: int,
    *,
    status_code: int = 200,
    **forms: Any,
) -> HTMLResponse:
    """The page; ``forms`` may hold a refused form (``profile_form``/``profile_errors`` or ``rule_form``/
    ``rule_errors``) and a test result, drawn in place of the stored values."""
    profile = service.profile_read(session, service.get_profile(session, profile_id))
    devices, _ = list_devices(session, actor=actor, profile_code=profile.code, limit=500)
    stored = profile.model_dump(exclude={"rules", "devices", "telemetry"}) | {
        "telemetry": _telemetry_json(profile.telemetry)
    }
    context: dict[str, Any] = {
        "profile_form": stored,
        "profile_errors": FormErrors(),
        "rule_form": {"enabled": "on", "op": ">=", "hours": "72"},
        "rule_errors": FormErrors(),
    }
    return render(
        request,
        "perception/profile.html",
        actor,
        status_code=status_code,
        profile=profile,
        classes=citymgmt.class_names(session),
        devices=devices,
        kinds=engine.KINDS,
        severities=engine.SEVERITIES,
        levels=engine.LEVELS,
        ops=engine.OPS,
        directions=engine.DIRECTIONS,
        profile_labels=PROFILE_LABELS,
        rule_labels=RULE_LABELS,
        done=DONE.get(request.query_params.get("done", "")) if not forms else None,
        **(context | forms),
    )


@router.get("/profiles")
def profiles_page(request: Request, session: SessionDep, actor: ProfileManager) -> HTMLResponse:
    profiles = service.list_profiles(session, actor=actor)
    return render(request, "perception/profiles.html", actor, profiles=profiles, classes=citymgmt.class_names(session))


@router.get("/profiles/{profile_id}")
def profile_page(profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager) -> HTMLResponse:
    return _profile_page(request, session, actor, profile_id)


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
        enabled=form.get("enabled") == "on",
    )


async def _form(request: Request) -> dict[str, Any]:
    return {k: v for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}


def _refused(exc: DomainError | ValidationError) -> int:
    if isinstance(exc, DomainError) and exc.status in (403, 404):
        raise exc  # another department's device stays a 404, a missing permission a 403
    return exc.status if isinstance(exc, DomainError) else 422


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
            raise Invalid('应为 JSON 数组，如 [{"key": "level", "name": "水位", …}]', field="telemetry")
        values = {k: v for k, v in form.items() if k != "telemetry" and v != ""}
        data = ProfileIn.model_validate({**values, "telemetry": telemetry})
        service.save_profile(session, actor=actor, data=data, profile_id=profile_id)
    except (ValidationError, DomainError) as exc:
        status = _refused(exc)
        session.rollback()
        errors = form_errors(exc, PROFILE_LABELS, title="设备类型未保存", on_form=PROFILE_FIELDS)
        return _profile_page(
            request, session, actor, profile_id, status_code=status, profile_form=form, profile_errors=errors
        )
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=profile", status_code=303)


def _rule_errors(exc: DomainError | ValidationError, title: str) -> FormErrors:
    return form_errors(exc, RULE_LABELS, title=title, on_form=RULE_FIELDS)


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
        status = _refused(exc)
        session.rollback()
        errors = _rule_errors(exc, "规则未保存")
        return _profile_page(
            request, session, actor, profile_id, status_code=status, rule_form=form, rule_errors=errors
        )
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=rule", status_code=303)


@router.post("/profiles/{profile_id}/rules/{rule_id}/delete")
def delete_rule_page(profile_id: IdPath, rule_id: IdPath, session: SessionDep, actor: ProfileManager) -> Response:
    service.delete_rule(session, actor=actor, rule_id=rule_id)
    return RedirectResponse(f"/perception/profiles/{profile_id}?done=rule_deleted", status_code=303)


@router.post("/profiles/{profile_id}/test")
async def test_rule_page(
    profile_id: IdPath, request: Request, session: SessionDep, actor: ProfileManager
) -> HTMLResponse:
    """Tries the drafted rule on recent readings: into the rule form (htmx), or the whole page without script."""
    form = await _form(request)
    result, errors = None, FormErrors()
    try:
        rule = _rule_from_form(form)
        hours = int(form["hours"]) if str(form.get("hours", "")).isdigit() else 0
        if not 1 <= hours <= 720:
            raise Invalid("试算时长应为 1–720 小时", field="hours")
        result = readings.try_rule(session, actor=actor, profile_id=profile_id, data=rule, hours=hours)
    except (ValidationError, DomainError) as exc:
        _refused(exc)
        errors = _rule_errors(exc, "未能试算")
    if request.headers.get("hx-request") == "true":  # htmx swaps 2xx answers only: a refusal is a 200 here too
        return render(
            request, "perception/_test.html", actor, result=result, test_errors=errors, severities=engine.SEVERITIES
        )
    return _profile_page(
        request,
        session,
        actor,
        profile_id,
        status_code=422 if errors else 200,
        rule_form=form,
        rule_errors=errors,
        result=result,
        tested=True,
    )
