"""Pydantic contracts of 物联感知: profiles, rules, devices, readings, alarms and what devices send."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhixian.fields import Id, LongText, Name, ShortText

CodeStr = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
KeyStr = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TelemetryKey(Input):
    """One value a device reports: ``key`` in the payload, its unit and the physically possible range."""

    key: str = KeyStr
    name: Name
    unit: str = Field("", max_length=16)
    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _range(self) -> TelemetryKey:
        if self.min >= self.max:
            raise ValueError(f"遥测项 {self.key} 的下限须小于上限")
        return self


class ProfileIn(Input):
    code: str = CodeStr
    name: Name
    description: ShortText = ""
    telemetry: list[TelemetryKey] = Field(min_length=1, max_length=20)
    offline_minutes: int = Field(30, ge=1, le=10_080)
    case_class_code: str = Field("", max_length=8)
    maintenance_class_code: str = Field("", max_length=8)
    notify_minutes: int | None = Field(None, ge=0, le=10_080)
    case_minutes: int | None = Field(None, ge=1, le=10_080)
    case_min_severity: Literal["critical", "major", "minor", "warning", "never"] = "major"

    @field_validator("telemetry")
    @classmethod
    def _unique(cls, value: list[TelemetryKey]) -> list[TelemetryKey]:
        keys = [t.key for t in value]
        if len(set(keys)) != len(keys):
            raise ValueError("遥测项 key 不能重复")
        return value


class RuleIn(Input):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="告警类型代码，如 water_high")
    name: Name
    kind: Literal["threshold", "duration", "repeat", "rate", "offline"]
    key: str = Field("", max_length=32)
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("params")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(str(value)) > 4000:
            raise ValueError("规则参数过长")
        return value


class RuleRead(Output):
    id: int
    profile_id: int | None
    device_id: int | None
    code: str
    name: str
    kind: str
    kind_label: str = ""
    key: str
    params: dict[str, Any]
    enabled: bool
    summary: str = ""


class ProfileRead(Output):
    id: int
    code: str
    name: str
    description: str
    telemetry: list[dict[str, Any]]
    offline_minutes: int
    case_class_code: str
    maintenance_class_code: str
    notify_minutes: int | None
    case_minutes: int | None
    case_min_severity: str
    rules: list[RuleRead] = []
    devices: int = 0


class DeviceIn(Input):
    code: str = CodeStr
    name: Name
    profile_id: Id
    department_id: Id
    lon: float = Field(allow_inf_nan=False, ge=-180, le=180)
    lat: float = Field(allow_inf_nan=False, ge=-90, le=90)
    address: ShortText = ""
    component_code: str | None = Field(None, pattern=r"^\d{16}$")
    note: ShortText = ""
    active: bool = True


class DeviceUpdate(Input):
    name: Name | None = None
    department_id: Id | None = None
    lon: float | None = Field(None, allow_inf_nan=False, ge=-180, le=180)
    lat: float | None = Field(None, allow_inf_nan=False, ge=-90, le=90)
    address: ShortText | None = None
    component_code: str | None = Field(None, pattern=r"^(\d{16})?$", description="空字符串表示解除关联")
    note: ShortText | None = None
    active: bool | None = None


class DeviceRead(Output):
    id: int
    code: str
    name: str
    profile_id: int
    profile_code: str
    profile_name: str
    department_id: int
    department_name: str
    address: str
    lon: float
    lat: float
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    component_code: str | None
    active: bool
    note: str
    state: Literal["normal", "alarm", "offline", "never", "inactive"]
    state_label: str
    last_seen: datetime | None
    values: dict[str, Any] = {}
    active_alarms: int = 0
    secret_set_at: datetime
    links: dict[str, str] = {}


class DeviceCreated(DeviceRead):
    secret: str = Field(description="设备密钥：只在登记和重置时显示这一次，平台只保存其摘要")


class SecretRead(BaseModel):
    device_id: int
    code: str
    secret: str = Field(description="新的设备密钥，只显示这一次")
    topic: str


class DevicePage(BaseModel):
    items: list[DeviceRead]
    total: int
    page: int
    size: int


# --- what devices send (HTTP; MQTT carries the same JSON)


class ReadingIn(Input):
    ts: int | float | str | None = Field(
        None, description="读数时间：Unix 毫秒（整数）或带时区的 ISO 8601；缺省为平台收到的时间"
    )
    values: dict[str, Any] = Field(min_length=1, max_length=20)


class TelemetryIn(BaseModel):
    """The payload: one reading (``ts`` + ``values``) or several buffered ones (``readings``)."""

    model_config = ConfigDict(extra="ignore")
    token: str | None = Field(
        None, max_length=200, description="设备密钥（MQTT 必填；HTTP 也可放在 X-Device-Token 头）"
    )
    ts: int | float | str | None = None
    values: dict[str, Any] | None = None
    readings: list[ReadingIn] | None = Field(None, max_length=500)


class IngestResult(BaseModel):
    accepted: int
    refused: int
    reasons: dict[str, int] = {}
    messages: list[str] = []


# --- series for charts


class Series(BaseModel):
    device_id: int
    key: str
    name: str
    unit: str
    resolution: Literal["raw", "5m", "1h"]
    start: datetime
    end: datetime
    points: list[tuple[int, float, float, float]] = Field(description="[Unix 毫秒, 平均, 最小, 最大]")


# --- alarms


class AlarmRead(Output):
    id: int
    device_id: int
    device_code: str = ""
    device_name: str = ""
    profile_name: str = ""
    type: str
    name: str
    rule_kind: str
    severity: str
    severity_label: str = ""
    level: str
    status: str
    status_label: str = ""
    acknowledged: bool
    acked_by: str
    acked_at: datetime | None
    assignee_id: int | None
    assignee_name: str = ""
    key: str
    value: float | None
    peak: float | None
    message: str
    grid_code: str | None
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    escalation: int
    case_id: int | None
    case_number: str
    case_closed_at: datetime | None

    @field_validator("value", "peak")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        return v if v is None or math.isfinite(v) else None


class AlarmEventRead(Output):
    id: int
    at: datetime
    kind: str
    actor_name: str
    text: str


class AlarmDetail(AlarmRead):
    events: list[AlarmEventRead] = []
    key_name: str = ""  # the telemetry value's name and unit in the device's profile (积水深度, m)
    unit: str = ""
    lon: float = 0
    lat: float = 0
    address: str = ""


class AlarmPage(BaseModel):
    items: list[AlarmRead]
    total: int
    page: int
    size: int


class AlarmNote(Input):
    note: LongText = ""


class AlarmComment(Input):
    text: LongText = Field(min_length=1)


class AlarmAssign(Input):
    user_id: Id


class RuleTestIn(Input):
    rule: RuleIn
    device_id: Id | None = None
    hours: int = Field(24, ge=1, le=24 * 30)


class RuleTestHit(BaseModel):
    device_id: int
    device_code: str
    at: datetime
    action: str
    severity: str
    level: str
    value: float | None
    message: str


class RuleTestResult(BaseModel):
    devices: int
    readings: int
    hits: list[RuleTestHit]
    truncated: bool = False
