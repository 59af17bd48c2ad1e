"""HTML pages of 物联感知 under /perception: map, devices, device charts, registering a device, ingest figures.

The alarm console is in ``alarm_pages``, the profile and rule editor in ``profile_pages``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from zhixian.clock import utcnow
from zhixian.errors import DomainError
from zhixian.perception.sensors import alarms, devices, readings, service
from zhixian.perception.sensors.mqtt import telemetry_topic
from zhixian.perception.sensors.schemas import DeviceIn
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/perception", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("perception.view"))]
DeviceManager = Annotated[Actor, Depends(Require("perception.device.manage"))]
STATES = devices.STATE_LABELS
DEVICE_LABELS = {
    "code": "设备编码",
    "name": "名称",
    "profile_id": "设备类型",
    "department_id": "权属部门",
    "lon": "经度（WGS84）",
    "lat": "纬度（WGS84）",
    "address": "安装地址",
    "component_code": "关联部件编码",
    "note": "备注",
    "active": "启用",
}
SIZE = 50


def _common(session: Any, actor: Actor) -> dict[str, Any]:
    return {
        "profiles": service.list_profiles(session, actor=actor),
        "states": STATES,
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
    rows, total = devices.list_devices(
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


def _new_device_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "perception/device_new.html",
        actor,
        status_code=status_code,
        departments=_departments(session, actor),
        form=form if form is not None else {"active": "on"},
        errors=errors or FormErrors(),
        labels=DEVICE_LABELS,
        **_common(session, actor),
    )


@router.get("/devices/new")
def new_device_page(request: Request, session: SessionDep, actor: DeviceManager) -> HTMLResponse:
    return _new_device_page(request, session, actor)


@router.post("/devices/new")
async def create_device_page(request: Request, session: SessionDep, actor: DeviceManager) -> Response:
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}
    values: dict[str, Any] = {k: v for k, v in form.items() if v != ""}
    values["active"] = form.get("active") == "on"
    try:
        data = DeviceIn.model_validate(values)
        device, secret = devices.create_device(session, actor=actor, data=data)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 403:
            raise
        status = exc.status if isinstance(exc, DomainError) and exc.status == 409 else 422
        session.rollback()
        errors = form_errors(exc, DEVICE_LABELS, title="设备未登记")
        return _new_device_page(request, session, actor, form=form, errors=errors, status_code=status)
    return _secret_page(request, actor, device, secret, created=True)


def _secret_page(request: Request, actor: Actor, device: Any, secret: str, *, created: bool) -> HTMLResponse:
    topic = telemetry_topic(request.app.state.settings, device.code)
    return render(request, "perception/secret.html", actor, device=device, secret=secret, topic=topic, created=created)


@router.get("/devices/{device_id}")
def device_page(device_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    device = service.get_device(session, actor=actor, device_id=device_id)
    read = devices.device_reads(session, [device])[0]
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
    read = devices.device_reads(session, [device])[0]
    profile = service.get_profile(session, device.profile_id)
    return render(request, "perception/_live.html", actor, device=read, telemetry=profile.telemetry)


@router.post("/devices/{device_id}/secret")
def rotate_secret_page(device_id: IdPath, request: Request, session: SessionDep, actor: DeviceManager) -> HTMLResponse:
    device, secret = devices.rotate_secret(session, actor=actor, device_id=device_id)
    return _secret_page(request, actor, device, secret, created=False)


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
