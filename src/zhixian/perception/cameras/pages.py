"""HTML pages of 视频共享 under /perception: camera list and map, camera page, grants, video wall."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.clock import LOCAL_TZ
from zhixian.errors import DomainError, FieldError, Invalid
from zhixian.perception.cameras import gbid, grants, play, service
from zhixian.perception.cameras.api import _key
from zhixian.perception.cameras.events import ALARM_TYPES
from zhixian.perception.cameras.relay import Relay, with_token
from zhixian.perception.cameras.schemas import GrantDecision, GrantIn
from zhixian.perception.cameras.settings import PLAY_TOKEN_SECONDS, PLAY_URL
from zhixian.perception.labels import CATALOGUE_FORMATS
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.web.auth import Public, Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/perception", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require(service.VIEW))]
Manager = Annotated[Actor, Depends(Require(service.MANAGE))]
Requester = Annotated[Actor, Depends(Require(service.REQUEST))]
Approver = Annotated[Actor, Depends(Require(service.APPROVE))]
Player = Annotated[Actor, Depends(Require(service.PLAY))]
SIZE = 50
STATUS = {"ON": "在线", "OFF": "离线"}
IMPORT_LABELS = {"format": "格式", "file": "文件"}
GRANT_LABELS = {
    "scope": "范围",
    "target": "编码",
    "live": "权限",
    "playback": "录像回放",
    "ptz": "云台控制",
    "windows": "时段",
    "purpose": "用途",
    "valid_until": "截止时间",
}
DECISION_LABELS = {"note": "意见", "approve": "审批"}


def _cameras_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    q: str = "",
    status: str = "",
    page: int = 1,
    import_form: dict[str, Any] | None = None,
    import_errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    total, rows = service.list_cameras(session, actor=actor, q=q, status=status, page=page, size=SIZE)
    on, _ = service.list_cameras(session, actor=actor, status="ON", size=1)
    everything, _ = service.list_cameras(session, actor=actor, size=1)
    return render(
        request,
        "perception/cameras.html",
        actor,
        status_code=status_code,
        cameras=[service.camera_read(c, actor) for c in rows],
        total=total,
        page=page,
        size=SIZE,
        base_query=urlencode({"q": q, "status": status}),
        q=q,
        status=status,
        statuses=STATUS,
        formats=CATALOGUE_FORMATS,
        import_form=import_form or {},
        import_errors=import_errors or FormErrors(),
        figures={"all": everything, "on": on, "off": everything - on},
    )


@router.get("/cameras")
def cameras_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    q: Annotated[str, Query(max_length=50)] = "",
    status: Annotated[Literal["", "ON", "OFF"], Query()] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    return _cameras_page(request, session, actor, q=q, status=status, page=page)


@router.get("/cameras.geojson")
def cameras_geojson(
    session: SessionDep, actor: Viewer, status: Annotated[Literal["", "ON", "OFF"], Query()] = ""
) -> dict[str, Any]:
    _total, rows = service.list_cameras(session, actor=actor, status=status, size=5000)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
            "properties": {
                "name": c.name,
                "code": c.gb_id,
                "state": "normal" if c.status == "ON" else "offline",
                "state_label": STATUS[c.status],
                "href": f"/perception/cameras/{c.id}",
            },
        }
        for c in rows
        if c.lon is not None and c.lat is not None
    ]
    return {"type": "FeatureCollection", "features": features}


@router.post("/cameras/import")
async def import_page(
    request: Request,
    session: SessionDep,
    actor: Manager,
    format: Annotated[Literal["catalog", "csv", "excel", "wvp"], Form(title="格式")],
    file: Annotated[UploadFile | None, File(title="文件")] = None,
) -> HTMLResponse:
    try:
        if file is None or not file.filename:
            raise Invalid("请选择要导入的文件", field="file")
        content = uploads.read_limited(file.file, 20 * 1024 * 1024)
        result = service.import_catalogue(
            session, actor=actor, kind=format, content=content, county_code=request.app.state.settings.county_code
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        # each refused entry already says which it is ("第 3 条：…"): listed as it is, not as a row number again
        listed = Invalid(exc.detail, [FieldError(e.message, e.field) for e in exc.errors])
        errors = form_errors(listed, IMPORT_LABELS, title="未导入", fallback="未导入任何摄像机")
        return _cameras_page(
            request, session, actor, import_form={"format": format}, import_errors=errors, status_code=exc.status
        )
    return render(request, "perception/camera_import.html", actor, result=result)


@router.get("/cameras/{camera_id}")
def camera_page(camera_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    camera = service.get_camera(session, actor=actor, camera_id=camera_id)
    read = service.camera_read(camera, actor)
    views = play.views(session, actor=actor, camera_id=camera.id)[:50] if read.own and actor.can(service.MANAGE) else []
    return render(
        request,
        "perception/camera.html",
        actor,
        camera=read,
        industry=gbid.industry_name(camera.industry_code),
        network=gbid.NETWORKS.get(camera.network_code, ""),
        views=views,
        people=play.viewer_names(session, views),
        alarm_types=ALARM_TYPES,
        classes=camera.event_classes,
        reason=service.may_use(session, department_path=actor.department_path, camera=camera, mode="live"),
    )


@router.post("/cameras/{camera_id}/play")
def play_page(camera_id: IdPath, request: Request, session: SessionDep, actor: Player) -> HTMLResponse:
    settings = request.app.state.settings
    ticket = play.issue(
        session,
        actor=actor,
        camera_id=camera_id,
        mode="live",
        key=_key(request),
        seconds=settings.declared(PLAY_TOKEN_SECONDS),
        url_template=settings.declared(PLAY_URL),
    )
    camera = service.camera_read(service.get_camera(session, actor=actor, camera_id=camera_id), actor)
    return render(request, "perception/camera_play.html", actor, camera=camera, ticket=ticket)


def _relay(request: Request) -> Relay:
    state = request.app.state
    relay = getattr(state, "perception_relay", None)
    if relay is None:
        relay = state.perception_relay = Relay(state.settings.data_dir)
    return relay


def _refuse(reason: str) -> Response:
    return PlainTextResponse(reason, status_code=403)


@router.get("/relay/{camera_id}/index.m3u8", dependencies=[Public])
def relay_playlist(
    camera_id: IdPath,
    request: Request,
    session: SessionDep,
    token: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    camera = play.relay_camera(session, camera_id)
    if camera is None or not camera.source_url:
        return PlainTextResponse("该摄像机没有可转发的视频源", status_code=404)
    ip = request.client.host if request.client else ""
    reason = play.relay_check(session, key=_key(request), token=token, camera=camera, ip=ip, segment=False)
    if reason:
        return _refuse(reason)
    folder = _relay(request).ensure(camera.id, camera.source_url)
    text = (folder / "index.m3u8").read_text()
    return Response(
        with_token(text, token), media_type="application/vnd.apple.mpegurl", headers={"Cache-Control": "no-store"}
    )


@router.get("/relay/{camera_id}/{segment}", dependencies=[Public])
def relay_segment(
    camera_id: IdPath,
    segment: Annotated[str, Path(pattern=r"^seg\d{5}\.ts$")],
    request: Request,
    session: SessionDep,
    token: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    camera = play.relay_camera(session, camera_id)
    if camera is None:
        return PlainTextResponse("摄像机不存在", status_code=404)
    reason = play.relay_check(session, key=_key(request), token=token, camera=camera, ip="", segment=True)
    if reason:
        return _refuse(reason)
    folder = _relay(request).touch(camera.id)
    path = folder / segment if folder else None
    if path is None or not path.is_file():
        return PlainTextResponse("分片已过期", status_code=404)
    return FileResponse(path, media_type="video/mp2t")


@router.get("/video-wall")
def video_wall(request: Request, session: SessionDep, actor: Player) -> HTMLResponse:
    _total, rows = service.list_cameras(session, actor=actor, status="ON", size=16)
    usable = [
        service.camera_read(c, actor)
        for c in rows
        if not service.may_use(session, department_path=actor.department_path, camera=c, mode="live")
    ]
    return render(request, "perception/video_wall.html", actor, cameras=usable)


@router.get("/video-grants")
def grants_page(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    return _grants(request, session, actor)


def _grants(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    decided: tuple[int, str, FormErrors] | None = None,
) -> HTMLResponse:
    """The grants and the request form; ``form``/``errors``: a refused request; ``decided``: a refused decision
    (the grant, the opinion typed, why)."""
    rows = [grants.grant_read(session, g) for g in grants.list_grants(session, actor=actor)]
    return render(
        request,
        "perception/video_grants.html",
        actor,
        status_code=status_code,
        grants=rows,
        tree=service.tree(session, actor=actor),
        mine=actor.department_path,
        form=form if form is not None else {"live": "on"},
        errors=errors or FormErrors(),
        decided=decided,
        labels=GRANT_LABELS,
    )


@router.post("/video-grants")
async def request_grant_page(request: Request, session: SessionDep, actor: Requester) -> Response:
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}
    values: dict[str, Any] = {
        "scope": form.get("scope"),
        "target": form.get("target"),
        "live": form.get("live") == "on",
        "playback": form.get("playback") == "on",
        "ptz": form.get("ptz") == "on",
        "windows": [w.strip() for w in str(form.get("windows") or "").replace("，", ",").split(",") if w.strip()],
        "purpose": form.get("purpose"),
    }
    try:
        try:
            values["valid_until"] = datetime.fromisoformat(str(form.get("valid_until") or "")).replace(tzinfo=LOCAL_TZ)
        except ValueError:
            raise Invalid("请填写截止日期和时间", field="valid_until") from None
        grants.request_grant(
            session,
            actor=actor,
            data=GrantIn.model_validate(values),
            county_code=request.app.state.settings.county_code,
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 403:
            raise
        session.rollback()
        errors = form_errors(exc, GRANT_LABELS, title="申请未提交", place=_grant_field)
        return _grants(request, session, actor, status_code=422, form=form, errors=errors)
    return RedirectResponse("/perception/video-grants", status_code=303)


def _grant_field(error: FieldError) -> str | None:
    """The rights are three boxes under one legend: a refusal about any of them goes beside the first."""
    return "live" if error.field in ("playback", "ptz") else None


@router.post("/video-grants/{grant_id}/decide")
def decide_page(
    grant_id: IdPath,
    request: Request,
    session: SessionDep,
    actor: Approver,
    approve: Annotated[Literal["yes", "no"], Form(title="审批")],
    note: Annotated[str, Form(max_length=500, title="意见")] = "",
) -> Response:
    try:
        grants.decide_grant(
            session, actor=actor, grant_id=grant_id, data=GrantDecision(approve=approve == "yes", note=note)
        )
    except Invalid as exc:  # NotFound (another department's request) goes to the error page
        session.rollback()
        errors = form_errors(exc, DECISION_LABELS, title="未办理", on_form=("note",))
        return _grants(request, session, actor, status_code=422, decided=(grant_id, note, errors))
    return RedirectResponse("/perception/video-grants", status_code=303)
