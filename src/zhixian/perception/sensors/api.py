"""JSON routes of 物联感知 under /api/v1/perception: thin, the rules are in the sensor services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from zhixian.errors import FieldError, Invalid, NotAuthenticated, NotPermitted
from zhixian.fields import Moment
from zhixian.perception.sensors import alarms, devices, escalation, ingest, readings, service
from zhixian.perception.sensors.mqtt import telemetry_topic
from zhixian.perception.sensors.schemas import (
    AlarmAssign,
    AlarmComment,
    AlarmDetail,
    AlarmNote,
    AlarmPage,
    AlarmRead,
    DeviceCreated,
    DeviceIn,
    DevicePage,
    DeviceRead,
    DeviceUpdate,
    IngestResult,
    ProfileIn,
    ProfileRead,
    RuleIn,
    RuleRead,
    RuleTestIn,
    RuleTestResult,
    SecretRead,
    Series,
    TelemetryIn,
)
from zhixian.platform.actor import Actor
from zhixian.web.auth import Public, Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/perception", tags=["城市感知·物联感知"])
Viewer = Annotated[Actor, Depends(Require("perception.view"))]
Handler = Annotated[Actor, Depends(Require("perception.alarm.handle"))]
DeviceManager = Annotated[Actor, Depends(Require("perception.device.manage"))]
ProfileManager = Annotated[Actor, Depends(Require("perception.profile.manage"))]
Page = Annotated[int, Query(ge=1, le=100_000)]
Size = Annotated[int, Query(ge=1, le=500)]
Text = Annotated[str, Query(max_length=100)]


def intake_options(request: Request) -> escalation.OptionsFor:
    from zhixian.citymgmt import service as citymgmt

    state = request.app.state

    def build(context: dict[str, Any]) -> citymgmt.IntakeOptions:
        return citymgmt.intake_options(state.registry, settings=state.settings, cipher=state.cipher, context=context)

    return build


# --- profiles and rules


@router.get("/profiles", summary="设备类型（含告警规则）")
def list_profiles(session: SessionDep, actor: Viewer) -> list[ProfileRead]:
    return service.list_profiles(session, actor=actor)


@router.post("/profiles", status_code=201, summary="新建设备类型")
def create_profile(data: ProfileIn, session: SessionDep, actor: ProfileManager) -> ProfileRead:
    return service.profile_read(session, service.save_profile(session, actor=actor, data=data))


@router.get("/profiles/{profile_id}", summary="设备类型详情")
def get_profile(profile_id: IdPath, session: SessionDep, actor: Viewer) -> ProfileRead:
    return service.profile_read(session, service.get_profile(session, profile_id))


@router.put("/profiles/{profile_id}", summary="修改设备类型")
def update_profile(profile_id: IdPath, data: ProfileIn, session: SessionDep, actor: ProfileManager) -> ProfileRead:
    return service.profile_read(session, service.save_profile(session, actor=actor, data=data, profile_id=profile_id))


@router.post("/profiles/{profile_id}/rules", summary="新增或修改设备类型的告警规则（按代码）")
def save_profile_rule(profile_id: IdPath, data: RuleIn, session: SessionDep, actor: ProfileManager) -> RuleRead:
    return service.rule_read(service.save_rule(session, actor=actor, data=data, profile_id=profile_id))


@router.post("/profiles/{profile_id}/rules/test", summary="用近期读数试算规则：会在何时产生和清除告警")
def test_rule(profile_id: IdPath, data: RuleTestIn, session: SessionDep, actor: ProfileManager) -> RuleTestResult:
    return readings.try_rule(
        session, actor=actor, profile_id=profile_id, data=data.rule, device_id=data.device_id, hours=data.hours
    )


@router.delete("/rules/{rule_id}", status_code=204, summary="删除规则（设备的覆盖规则删除后恢复设备类型的规则）")
def delete_rule(rule_id: IdPath, session: SessionDep, actor: ProfileManager) -> Response:
    service.delete_rule(session, actor=actor, rule_id=rule_id)
    return Response(status_code=204)


# --- devices


@router.get("/devices", summary="感知设备列表")
def list_devices(
    session: SessionDep,
    actor: Viewer,
    profile: Annotated[str | None, Query(max_length=32, description="设备类型代码")] = None,
    state: Annotated[
        str | None, Query(pattern="^(|normal|alarm|offline|never|inactive)$", description="空表示全部")
    ] = None,
    q: Text = "",
    page: Page = 1,
    size: Size = 50,
) -> DevicePage:
    items, total = devices.list_devices(
        session,
        actor=actor,
        profile_code=profile or None,
        state=state or None,
        q=q,
        offset=(page - 1) * size,
        limit=size,
    )
    return DevicePage(items=items, total=total, page=page, size=size)


@router.get("/devices.geojson", summary="感知地图：设备点位与状态（GeoJSON）")
def devices_geojson(
    session: SessionDep,
    actor: Viewer,
    profile: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[
        str | None, Query(pattern="^(|normal|alarm|offline|never|inactive)$", description="空表示全部")
    ] = None,
) -> dict[str, Any]:
    return devices.devices_geojson(session, actor=actor, profile_code=profile or None, state=state or None)


@router.post("/devices", status_code=201, summary="登记设备（返回只显示一次的设备密钥）")
def create_device(data: DeviceIn, request: Request, session: SessionDep, actor: DeviceManager) -> DeviceCreated:
    device, secret = devices.create_device(session, actor=actor, data=data)
    read = devices.device_reads(session, [device])[0]
    return DeviceCreated(**read.model_dump(), secret=secret)


@router.get("/devices/{device_id}", summary="设备详情（状态、最新读数）")
def get_device(device_id: IdPath, session: SessionDep, actor: Viewer) -> DeviceRead:
    return devices.device_reads(session, [service.get_device(session, actor=actor, device_id=device_id)])[0]


@router.patch("/devices/{device_id}", summary="修改设备")
def update_device(device_id: IdPath, data: DeviceUpdate, session: SessionDep, actor: DeviceManager) -> DeviceRead:
    device = devices.update_device(session, actor=actor, device_id=device_id, data=data)
    return devices.device_reads(session, [device])[0]


@router.post("/devices/{device_id}/secret", summary="重置设备密钥（旧密钥立即失效）")
def rotate_secret(device_id: IdPath, request: Request, session: SessionDep, actor: DeviceManager) -> SecretRead:
    device, secret = devices.rotate_secret(session, actor=actor, device_id=device_id)
    topic = telemetry_topic(request.app.state.settings, device.code)
    return SecretRead(device_id=device.id, code=device.code, secret=secret, topic=topic)


@router.get("/devices/{device_id}/rules", summary="设备的覆盖规则")
def device_rules(device_id: IdPath, session: SessionDep, actor: Viewer) -> list[RuleRead]:
    return service.device_rules(session, actor=actor, device_id=device_id)


@router.post(
    "/devices/{device_id}/rules", summary="为设备覆盖设备类型的规则（同一代码；enabled=false 表示对该设备关闭）"
)
def save_device_rule(device_id: IdPath, data: RuleIn, session: SessionDep, actor: ProfileManager) -> RuleRead:
    return service.rule_read(service.save_rule(session, actor=actor, data=data, device_id=device_id))


@router.get("/devices/{device_id}/series", summary="读数曲线（按时间范围自动选用原始值、5 分钟或小时汇总）")
def device_series(
    device_id: IdPath,
    session: SessionDep,
    actor: Viewer,
    key: Annotated[str | None, Query(max_length=32, description="遥测项；缺省为设备类型的第一项")] = None,
    start: Annotated[Moment | None, Query()] = None,
    end: Annotated[Moment | None, Query()] = None,
) -> Series:
    return readings.series(session, actor=actor, device_id=device_id, key=key, start=start, end=end)


# --- ingest over HTTP


@router.post(
    "/ingest/{device_code}",
    status_code=202,
    dependencies=[Public],
    summary="设备经 HTTP 上报读数（无 MQTT 的设备；密钥放在报文 token 或 X-Device-Token 头）",
)
def ingest_http(
    device_code: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="设备编码")],
    data: TelemetryIn,
    request: Request,
    session: SessionDep,
    x_device_token: Annotated[str | None, Header(max_length=200)] = None,
) -> IngestResult:
    state = request.app.state
    cache = getattr(state, "perception_cache", None)
    if cache is None:
        cache = state.perception_cache = ingest.DeviceCache()
    msg = ingest.Message(
        device_code=device_code,
        payload=data.model_dump_json(exclude_none=True).encode(),
        channel="http",
        token=x_device_token,
    )
    result = ingest.process(session, [msg], cache=cache, limits=ingest.Limits.from_settings(state.settings))
    outcomes = result.per_message[0][1] if result.per_message else {}
    if outcomes.get("unknown_device") or outcomes.get("bad_token"):
        session.commit()  # the refusal is counted even though the answer is an error
        raise NotAuthenticated("设备编码或设备密钥错误")
    if outcomes.get("inactive_device"):
        session.commit()
        raise NotPermitted("设备已停用")
    reasons = {ingest.OUTCOMES.get(k, k): n for k, n in outcomes.items() if k not in ("accepted",) and n}
    if not outcomes.get("accepted"):
        session.commit()
        raise Invalid(
            "读数全部被拒收", [FieldError(f"{label}：{n} 项", field="values") for label, n in reasons.items()] or None
        )
    return IngestResult(
        accepted=int(outcomes.get("accepted", 0)),
        refused=sum(n for k, n in outcomes.items() if k in ingest.REASONS),
        reasons=reasons,
        messages=[f"{label} {n} 项" for label, n in reasons.items()],
    )


@router.get("/ingest/stats", summary="接入统计：每日接收与拒收（按原因），最近的拒收样本")
def ingest_stats(
    session: SessionDep, actor: DeviceManager, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> dict[str, Any]:
    return readings.ingest_stats(session, actor=actor, days=days)


# --- alarms


@router.get("/alarms", summary="告警列表（未确认、级别高、较新的在前）")
def list_alarms(
    session: SessionDep,
    actor: Viewer,
    status: Annotated[str | None, Query(pattern="^(active|cleared|all)$")] = "active",
    acknowledged: bool | None = None,
    severity: Annotated[str | None, Query(pattern="^(critical|major|minor|warning)$")] = None,
    profile: Annotated[str | None, Query(max_length=32)] = None,
    device_id: IdQuery = None,
    escalated: bool | None = None,
    rule_kind: Annotated[str | None, Query(pattern="^(threshold|duration|repeat|rate|offline)$")] = None,
    page: Page = 1,
    size: Size = 50,
) -> AlarmPage:
    flt = alarms.AlarmFilter(
        status=None if status == "all" else status,
        acknowledged=acknowledged,
        severity=severity,
        profile_code=profile,
        device_id=device_id,
        escalated=escalated,
        rule_kind=rule_kind,
    )
    items, total = alarms.list_alarms(session, actor=actor, flt=flt, offset=(page - 1) * size, limit=size)
    return AlarmPage(items=items, total=total, page=page, size=size)


@router.get("/alarms/figures", summary="告警台的数字（每个数字对应 /alarms 的一个筛选）")
def alarm_figures(session: SessionDep, actor: Viewer) -> dict[str, int]:
    return alarms.figures(session, actor=actor)


@router.get("/alarms/{alarm_id}", summary="告警详情与时间线")
def get_alarm(alarm_id: IdPath, session: SessionDep, actor: Viewer) -> AlarmDetail:
    return alarms.alarm_detail(session, actor=actor, alarm_id=alarm_id)


def _read(session: Any, alarm: Any) -> AlarmRead:
    return alarms.alarm_reads(session, [alarm])[0]


@router.post("/alarms/{alarm_id}/ack", summary="确认告警")
def ack_alarm(alarm_id: IdPath, data: AlarmNote, session: SessionDep, actor: Handler) -> AlarmRead:
    return _read(session, alarms.acknowledge(session, actor=actor, alarm_id=alarm_id, note=data.note))


@router.post("/alarms/{alarm_id}/assign", summary="指派告警")
def assign_alarm(alarm_id: IdPath, data: AlarmAssign, session: SessionDep, actor: Handler) -> AlarmRead:
    return _read(session, alarms.assign(session, actor=actor, alarm_id=alarm_id, user_id=data.user_id))


@router.post("/alarms/{alarm_id}/clear", summary="人工清除告警（须说明原因）")
def clear_alarm(alarm_id: IdPath, data: AlarmNote, session: SessionDep, actor: Handler) -> AlarmRead:
    return _read(session, alarms.clear(session, actor=actor, alarm_id=alarm_id, note=data.note))


@router.post("/alarms/{alarm_id}/comments", summary="告警评论")
def comment_alarm(alarm_id: IdPath, data: AlarmComment, session: SessionDep, actor: Handler) -> AlarmRead:
    return _read(session, alarms.comment(session, actor=actor, alarm_id=alarm_id, text=data.text))


@router.post("/alarms/{alarm_id}/case", summary="立即转为城管案件（物联感知渠道）")
def alarm_to_case(
    alarm_id: IdPath,
    data: AlarmNote,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require(escalation.ESCALATE))],
) -> AlarmRead:
    alarm = alarms.get_alarm(session, actor=actor, alarm_id=alarm_id)
    reason = f"值班人员 {actor.full_name} 人工转案件" + (f"：{data.note}" if data.note else "")
    escalation.open_case(session, alarm=alarm, options=intake_options(request), reason=reason, actor=actor)
    return _read(session, alarm)
