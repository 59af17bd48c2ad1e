"""JSON routes of 视频共享 under /api/v1/perception: registry, grants, play tickets, media-server hooks, events."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from zhixian.errors import NotPermitted
from zhixian.perception.cameras import events, grants, play, service
from zhixian.perception.cameras.schemas import (
    CameraClassesIn,
    CameraPage,
    CameraRead,
    GrantDecision,
    GrantIn,
    GrantRead,
    ImportResult,
    PlayIn,
    PlayTicket,
    SourceIn,
    TreeNode,
    VideoEventIn,
    VideoEventRead,
    ViewRead,
)
from zhixian.perception.cameras.settings import (
    EVENT_DEDUP_MINUTES,
    MEDIA_SERVER_NETWORKS,
    PLAY_TOKEN_SECONDS,
    PLAY_URL,
)
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.settings import address_in
from zhixian.web.auth import Public, Require, client_ip
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/perception", tags=["城市感知·视频共享"])
Viewer = Annotated[Actor, Depends(Require(service.VIEW))]
Manager = Annotated[Actor, Depends(Require(service.MANAGE))]
Requester = Annotated[Actor, Depends(Require(service.REQUEST))]
Approver = Annotated[Actor, Depends(Require(service.APPROVE))]
Player = Annotated[Actor, Depends(Require(service.PLAY))]
EventSender = Annotated[Actor, Depends(Require(service.EVENT))]


def _media_server(request: Request) -> None:
    """Only the registered media servers may ask whether a token plays (else anyone could probe tokens)."""
    if not address_in(client_ip(request), request.app.state.settings.declared(MEDIA_SERVER_NETWORKS)):
        raise NotPermitted("该地址不是登记的媒体服务器，不能调用播放鉴权回调（见设置 media_server_networks）")


MediaServer = Depends(_media_server)


def _key(request: Request) -> bytes:
    return play.load_key(request.app.state.settings.data_dir)


def _options(request: Request) -> events.OptionsFor:
    from zhixian.citymgmt import service as citymgmt

    state = request.app.state

    def build(context: dict[str, Any], photos: list[Any]) -> citymgmt.IntakeOptions:
        return citymgmt.intake_options(
            state.registry, settings=state.settings, cipher=state.cipher, photos=photos, context=context
        )

    return build


# --- registry


@router.get("/cameras", summary="摄像机（本部门的和已获授权的）")
def list_cameras(
    session: SessionDep,
    actor: Viewer,
    q: Annotated[str, Query(max_length=50)] = "",
    status: Annotated[Literal["", "ON", "OFF"], Query()] = "",
    civil_code: Annotated[str, Query(pattern=r"^\d{0,8}$")] = "",
    group: Annotated[str, Query(pattern=r"^(\d{20})?$")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CameraPage:
    total, rows = service.list_cameras(
        session, actor=actor, q=q, status=status, civil_code=civil_code, group=group, page=page, size=size
    )
    return CameraPage(total=total, items=[service.camera_read(c, actor) for c in rows])


@router.get("/cameras/{camera_id}", summary="摄像机详情")
def get_camera(camera_id: IdPath, session: SessionDep, actor: Viewer) -> CameraRead:
    return service.camera_read(service.get_camera(session, actor=actor, camera_id=camera_id), actor)


@router.put("/cameras/{camera_id}/event-classes", summary="视频分析事件类型 → 案件类别（本摄像机）")
def set_event_classes(camera_id: IdPath, data: CameraClassesIn, session: SessionDep, actor: Manager) -> CameraRead:
    camera = service.set_event_classes(
        session, actor=actor, camera_id=camera_id, classes={str(k): v for k, v in data.classes.items()}
    )
    return service.camera_read(camera, actor)


@router.put("/cameras/{camera_id}/source", summary="设置平台转发用的视频源（RTSP/HLS；无媒体服务器时）")
def set_source(camera_id: IdPath, data: SourceIn, session: SessionDep, actor: Manager) -> CameraRead:
    camera = service.set_source(session, actor=actor, camera_id=camera_id, source_url=data.source_url)
    return service.camera_read(camera, actor)


@router.get("/cameras/{camera_id}/views", summary="谁看过这路视频（运维部门）")
def camera_views(camera_id: IdPath, session: SessionDep, actor: Manager) -> list[ViewRead]:
    return [ViewRead.model_validate(v) for v in play.views(session, actor=actor, camera_id=camera_id)]


@router.get("/video-tree", summary="行政区域与业务分组/虚拟组织树（申请授权用）")
def video_tree(session: SessionDep, actor: Viewer) -> list[TreeNode]:
    return service.tree(session, actor=actor)


@router.post(
    "/cameras/import", summary="导入视频平台目录（GB/T 28181 Catalog XML、CSV、Excel、wvp JSON；按国标编码更新）"
)
def import_cameras(
    request: Request,
    session: SessionDep,
    actor: Manager,
    file: Annotated[UploadFile, File(description="目录文件")],
    format: Annotated[Literal["catalog", "csv", "excel", "wvp"], Form()],
    department_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> ImportResult:
    content = uploads.read_limited(file.file, 20 * 1024 * 1024)
    return service.import_catalogue(
        session,
        actor=actor,
        kind=format,
        content=content,
        county_code=request.app.state.settings.county_code,
        department_id=department_id,
    )


# --- grants


@router.get("/video-grants", summary="视频授权（本部门申请的与待本部门审批的）")
def list_grants(
    session: SessionDep,
    actor: Viewer,
    status: Annotated[Literal["", "pending", "approved", "rejected", "revoked"], Query()] = "",
) -> list[GrantRead]:
    return [grants.grant_read(session, g) for g in grants.list_grants(session, actor=actor, status=status)]


@router.post("/video-grants", status_code=201, summary="申请视频授权")
def request_grant(request: Request, data: GrantIn, session: SessionDep, actor: Requester) -> GrantRead:
    grant = grants.request_grant(session, actor=actor, data=data, county_code=request.app.state.settings.county_code)
    return grants.grant_read(session, grant)


@router.get("/video-grants/{grant_id}", summary="视频授权详情")
def get_grant(grant_id: IdPath, session: SessionDep, actor: Viewer) -> GrantRead:
    return grants.grant_read(session, grants.get_grant(session, actor=actor, grant_id=grant_id))


@router.post("/video-grants/{grant_id}/decide", summary="审批视频授权申请")
def decide_grant(grant_id: IdPath, data: GrantDecision, session: SessionDep, actor: Approver) -> GrantRead:
    return grants.grant_read(session, grants.decide_grant(session, actor=actor, grant_id=grant_id, data=data))


@router.post("/video-grants/{grant_id}/revoke", summary="收回视频授权")
def revoke_grant(
    grant_id: IdPath,
    session: SessionDep,
    actor: Approver,
    note: Annotated[str, Body(embed=True, max_length=500)] = "",
) -> GrantRead:
    return grants.grant_read(session, grants.revoke_grant(session, actor=actor, grant_id=grant_id, note=note))


# --- playing


@router.post("/cameras/{camera_id}/play", summary="取得短时有效的播放地址（须本部门或已获授权）")
def play_camera(
    camera_id: IdPath, request: Request, session: SessionDep, actor: Player, data: PlayIn | None = None
) -> PlayTicket:
    settings = request.app.state.settings
    return play.issue(
        session,
        actor=actor,
        camera_id=camera_id,
        mode=(data or PlayIn()).mode,
        key=_key(request),
        seconds=settings.declared(PLAY_TOKEN_SECONDS),
        url_template=settings.declared(PLAY_URL),
    )


def _token_from_query(query: str) -> str:
    values = parse_qs(query.lstrip("?")).get("token", [""])
    return values[0][:500]


@router.post(
    "/hooks/zlm/on_play",
    dependencies=[Public, MediaServer],
    summary="ZLMediaKit on_play 回调：凭播放令牌放行（code 0）或拒绝",
)
def zlm_on_play(request: Request, session: SessionDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    decision = play.check(
        session,
        key=_key(request),
        token=_token_from_query(str(body.get("params") or "")),
        stream=str(body.get("stream") or "")[:100],
        server="zlm",
        ip=str(body.get("ip") or "")[:64],
    )
    if decision.allowed:
        return {"code": 0, "msg": "success"}
    return {"code": -1, "msg": decision.reason}


@router.post(
    "/hooks/zlm/on_flow_report", dependencies=[Public, MediaServer], summary="ZLMediaKit on_flow_report：记录观看时长"
)
def zlm_flow_report(request: Request, session: SessionDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    if body.get("player"):
        try:
            seconds = int(body.get("duration") or 0)
        except (TypeError, ValueError):
            seconds = 0
        play.flow_report(
            session, key=_key(request), token=_token_from_query(str(body.get("params") or "")), seconds=seconds
        )
    return {"code": 0, "msg": "success"}


@router.post(
    "/hooks/mediamtx/auth",
    dependencies=[Public, MediaServer],
    summary="MediaMTX 外部 HTTP 认证（authHTTPAddress）：200 放行，401 拒绝",
)
def mediamtx_auth(request: Request, session: SessionDep, body: Annotated[dict[str, Any], Body()]) -> Response:
    token = (
        str(body.get("token") or "")
        or _token_from_query(str(body.get("query") or ""))
        or str(body.get("password") or "")
    )
    path = str(body.get("path") or "")[:200]
    decision = play.check(
        session,
        key=_key(request),
        token=token[:500],
        stream=path.rsplit("/", 1)[-1],
        server="mediamtx",
        ip=str(body.get("ip") or "")[:64],
        action=str(body.get("action") or "")[:16],
    )
    if decision.allowed:
        return Response(status_code=200)
    return JSONResponse({"detail": decision.reason}, status_code=401)


# --- analytics events


@router.post("/video-events", status_code=201, summary="视频分析事件（JSON，附 base64 抓拍图）")
def video_event(request: Request, data: VideoEventIn, session: SessionDep, actor: EventSender) -> VideoEventRead:
    window = request.app.state.settings.declared(EVENT_DEDUP_MINUTES)
    event = events.receive(session, data=data, source="json", options=_options(request), window_minutes=window)
    return VideoEventRead.model_validate(event)


@router.post(
    "/video-events/gb28181",
    status_code=201,
    summary="GB/T 28181 报警通知（Notify/Alarm，报警方式 5）",
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def video_event_gb(request: Request, actor: EventSender) -> VideoEventRead:
    body = await request.body()
    data = events.parse_gb_alarm(body)
    window = request.app.state.settings.declared(EVENT_DEDUP_MINUTES)
    with request.app.state.db.transaction() as session:
        event = events.receive(session, data=data, source="gb28181", options=_options(request), window_minutes=window)
        return VideoEventRead.model_validate(event)


@router.get("/video-events", summary="视频分析事件（本部门摄像机）")
def list_video_events(session: SessionDep, actor: Viewer, camera_id: IdQuery = None) -> list[VideoEventRead]:
    rows = events.list_events(session, actor=actor)
    return [VideoEventRead.model_validate(e) for e in rows if camera_id is None or e.camera_id == camera_id]
