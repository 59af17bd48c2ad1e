"""Video analytics events → city-management cases.

Two ways in: GB/T 28181 alarm notifications (``<Notify><CmdType>Alarm</CmdType>`` with AlarmMethod 5 and
``Info/AlarmType`` 1–12, as a video platform forwards them) and a JSON event with a base64 snapshot.
The class comes from the camera's own mapping, else the county default below; the snapshot becomes the
case's photo. A repeat of the same type from the same camera within the window joins the first case
instead of opening another, and an event re-sent with the same ``event_id`` is answered from the record.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.schemas import ChannelIntake
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import DomainError, Invalid, NotFound
from zhixian.perception.cameras.catalog_import import _decode_xml
from zhixian.perception.cameras.models import Camera, VideoEvent
from zhixian.perception.cameras.schemas import VideoEventIn
from zhixian.perception.cameras.service import EVENT
from zhixian.platform.actor import COUNTY_SCOPE, Actor, system_actor

SOURCE = "video"
ALARM_TYPES = {
    1: "人工视频报警",
    2: "运动目标检测",
    3: "遗留物检测",
    4: "物体移除检测",
    5: "绊线检测",
    6: "入侵检测",
    7: "逆行检测",
    8: "徘徊检测",
    9: "流量统计",
    10: "密度检测",
    11: "视频异常检测",
    12: "快速移动",
}
# county defaults; a camera's own mapping (``event_classes``) comes first
DEFAULT_CLASSES = {3: "S0102", 8: "S0501", 10: "S0502"}
OptionsFor = Callable[[dict[str, Any], list[citymgmt.PhotoIn]], citymgmt.IntakeOptions]


def system() -> Actor:
    return system_actor(frozenset({COUNTY_SCOPE, EVENT}))


def parse_gb_alarm(content: bytes) -> VideoEventIn:
    """A GB/T 28181 ``Notify`` of CmdType Alarm, method 5 (video), as the JSON event."""
    text = _decode_xml(content[:1_000_000])
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise Invalid("报警 XML 不得包含 DOCTYPE 或实体声明", field="body")
    try:
        root = ET.fromstring(text)  # noqa: S314 -- DTD and entities refused just above
    except ET.ParseError as exc:
        raise Invalid(f"报警 XML 格式错误：{exc}", field="body") from exc
    if root.tag != "Notify" or (root.findtext("CmdType") or "").strip() != "Alarm":
        raise Invalid("不是 GB/T 28181 报警通知（Notify/CmdType=Alarm）", field="body")
    if (root.findtext("AlarmMethod") or "").strip() != "5":
        raise Invalid("只接收报警方式 5（视频报警）", field="AlarmMethod")
    raw_type = (root.findtext("Info/AlarmType") or root.findtext("AlarmType") or "").strip()
    when = (root.findtext("AlarmTime") or "").strip()
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        raise Invalid(f"报警时间“{when[:30]}”格式错误", field="AlarmTime") from None
    if at.tzinfo is None:  # GB/T 28181 times are local (Beijing) without an offset
        at = at.replace(tzinfo=LOCAL_TZ)
    try:
        return VideoEventIn(
            device_id=(root.findtext("DeviceID") or "").strip(),
            alarm_type=int(raw_type),
            at=at,
            description=(root.findtext("AlarmDescription") or "").strip()[:500],
            event_id=f"gb-{(root.findtext('DeviceID') or '').strip()}-{(root.findtext('SN') or '').strip()}"[:64],
        )
    except ValueError as exc:
        raise Invalid(f"报警通知字段不正确：{str(exc)[:200]}", field="body") from None


def receive(
    session: Session, *, data: VideoEventIn, source: str, options: OptionsFor, window_minutes: int
) -> VideoEvent:
    camera = session.execute(select(Camera).where(Camera.gb_id == data.device_id)).scalar()
    if camera is None:
        raise NotFound(f"没有国标编码为 {data.device_id} 的摄像机")
    if data.event_id:
        earlier = session.execute(
            select(VideoEvent).where(VideoEvent.camera_id == camera.id, VideoEvent.external_id == data.event_id)
        ).scalar()
        if earlier is not None:
            return earlier
    photos = []
    if data.snapshot:
        try:
            content = base64.b64decode(data.snapshot, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("抓拍图片不是有效的 base64", field="snapshot") from None
        photos.append(citymgmt.PhotoIn(content=content, filename="snapshot.jpg", stage="before"))
    now = utcnow()
    event = VideoEvent(
        camera_id=camera.id,
        alarm_type=data.alarm_type,
        at=data.at,
        received_at=now,
        description=data.description,
        source=source,
        external_id=data.event_id,
        outcome="unmapped",
    )
    session.add(event)
    kind = ALARM_TYPES[data.alarm_type]
    class_code = camera.event_classes.get(str(data.alarm_type)) or DEFAULT_CLASSES.get(data.alarm_type, "")
    if not class_code:
        event.note = f"摄像机未给“{kind}”配置案件类别，只记录不立案"
        session.flush()
        return event
    first = session.execute(
        select(VideoEvent)
        .where(
            VideoEvent.camera_id == camera.id,
            VideoEvent.alarm_type == data.alarm_type,
            VideoEvent.outcome == "case",
            VideoEvent.at >= data.at - timedelta(minutes=window_minutes),
            VideoEvent.at <= data.at + timedelta(minutes=window_minutes),
        )
        .order_by(VideoEvent.id)
    ).scalar()
    if first is not None:
        event.outcome, event.case_id, event.case_number = "duplicate", first.case_id, first.case_number
        event.note = f"{window_minutes} 分钟内同一摄像机同类事件已立案 {first.case_number}，不重复立案"
        session.flush()
        return event
    if camera.lon is None or camera.lat is None:
        event.outcome, event.note = "failed", "摄像机没有经纬度，无法定位立案"
        session.flush()
        return event
    intake = ChannelIntake(
        source=SOURCE,
        class_code=class_code,
        lon=camera.lon,
        lat=camera.lat,
        address=camera.address[:200],
        description=f"【视频分析·{kind}】{camera.name}（{camera.gb_id}）{data.description}"[:1000],
        external_ref=f"pv-{camera.gb_id}-{data.alarm_type}"[:64],
    )
    try:
        case = citymgmt.intake(session, actor=system(), data=intake, options=options({"video_event": True}, photos))
    except DomainError as exc:
        event.outcome, event.note = "failed", f"立案失败：{exc.detail}"[:300]
        session.flush()
        return event
    event.outcome, event.case_id, event.case_number = "case", case.id, case.number
    event.note = f"已立案 {case.number}"
    session.flush()
    return event


def list_events(session: Session, *, actor: Actor, limit: int = 200) -> list[VideoEvent]:
    actor.require("perception.camera.view")
    query = select(VideoEvent).join(Camera, Camera.id == VideoEvent.camera_id)
    if not actor.county_scope:
        query = query.where(actor.department_filter(Camera.department_path))
    return list(session.execute(query.order_by(VideoEvent.id.desc()).limit(limit)).scalars())
