"""Contracts of 视频共享."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhixian.fields import Id

_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class RefusedRow(BaseModel):
    row: int
    gb_id: str
    message: str


class ImportResult(BaseModel):
    regions: int = 0
    groups: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    refused: list[RefusedRow] = []


class CameraRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    gb_id: str
    name: str
    type_code: str
    type_name: str = ""
    industry_code: str
    network_code: str
    civil_code: str
    group_gb_id: str
    department_id: int
    manufacturer: str
    model: str
    address: str
    ptz_type: int
    lon: float | None
    lat: float | None
    status: str
    source: str
    relay: bool = False  # the platform can relay it (a source is set; the address itself is not shown)
    own: bool = False  # the actor's department runs it


class CameraPage(BaseModel):
    total: int
    items: list[CameraRead]


class CameraClassesIn(BaseModel):
    """Analytics type (1–12) → case class code for this camera."""

    classes: dict[Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"], str] = Field(max_length=12)

    @field_validator("classes")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for k, v in value.items():
            if v and not re.match(r"^[A-Z]\d{4,6}$", v):
                raise ValueError(f"类型 {k} 的案件类别“{v[:10]}”格式不对（如 S0101）")
        return value


class TreeNode(BaseModel):
    code: str
    name: str
    kind: str  # region | 215 | 216
    parent: str
    cameras: int = 0


class GrantIn(BaseModel):
    scope: Literal["camera", "group", "region"]
    target: str = Field(min_length=2, max_length=20, pattern=r"^\d+$")
    live: bool = True
    playback: bool = False
    ptz: bool = False
    windows: list[str] = Field(default_factory=list, max_length=6, description="北京时间段，如 08:00-18:00")
    purpose: str = Field(min_length=4, max_length=500)
    valid_until: datetime

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for w in value:
            if not _WINDOW.match(w):
                raise ValueError(f"时间段“{w[:20]}”格式应为 HH:MM-HH:MM")
        return value


class GrantDecision(BaseModel):
    approve: bool
    note: str = Field("", max_length=500)


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    department_id: int
    department_name: str = ""
    scope: str
    target: str
    target_name: str = ""
    live: bool
    playback: bool
    ptz: bool
    windows: list[str]
    purpose: str
    valid_until: datetime
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_note: str


class PlayIn(BaseModel):
    mode: Literal["live", "playback"] = "live"


class SourceIn(BaseModel):
    source_url: str = Field(max_length=500, description="rtsp://… 或 HLS（http(s)://…m3u8）；空为不经平台转发")


class PlayTicket(BaseModel):
    url: str
    relay_url: str = ""  # the platform's own HLS relay, when the camera has a source for it
    token: str
    expires_at: datetime
    camera_id: int
    stream: str
    app: str


class ViewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    camera_id: int
    username: str
    mode: str
    issued_at: datetime
    expires_at: datetime
    first_play_at: datetime | None
    last_play_at: datetime | None
    ended_at: datetime | None
    seconds: int
    plays: int
    refusals: int
    server: str
    client_ip: str


class VideoEventIn(BaseModel):
    """The documented HTTP/JSON event of an analytics box: which camera, which type, when, and a snapshot."""

    device_id: str = Field(pattern=r"^\d{20}$", description="摄像机国标编码")
    alarm_type: int = Field(ge=1, le=12, description="GB/T 28181 报警方式 5 的类型 1–12")
    at: datetime
    description: str = Field("", max_length=500)
    event_id: str = Field("", max_length=64, description="分析设备的事件编号（重发时不变）")
    snapshot: str = Field("", max_length=14_000_000, description="抓拍图片，base64（JPEG/PNG）")


class VideoEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    camera_id: int
    alarm_type: int
    at: datetime
    outcome: str
    case_id: int | None
    case_number: str
    note: str


__all__ = ["Id"]
