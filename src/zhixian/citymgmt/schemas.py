"""Contracts of the 数字城管 API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from zhixian.fields import Id, Number, ShortText
from zhixian.platform.schemas import Input, Output

DESCRIPTION_MAX = 1000

Source = Literal["inspector", "hotline", "open311", "sensor", "video", "referral", "leader", "storefront", "portal"]
Action = Literal[
    "verify",
    "verified",
    "file",
    "reject",
    "merge",
    "dispatch",
    "return",
    "complete",
    "check",
    "postpone",
    "decide_postpone",
    "hold",
    "resume",
    "supervise",
]


class CaseIntake(Input):
    source: Source = "inspector"
    class_code: str = Field(min_length=1, max_length=8, description="部件/事件小类代码，如 S0102")
    lon: float = Field(allow_inf_nan=False, description="经度")
    lat: float = Field(allow_inf_nan=False, description="纬度")
    crs: Literal["WGS84", "GCJ02"] = Field(default="WGS84", description="坐标系；手机地图 SDK 的 GCJ-02 会自动转换")
    description: str = Field("", max_length=DESCRIPTION_MAX, description="问题描述")
    address: ShortText = ""
    urgent: bool = False
    component_code: str | None = Field(None, pattern=r"^\d{16}$")
    reporter_name: ShortText = ""
    reporter_contact: str | None = Field(None, max_length=60)
    external_ref: str | None = Field(None, max_length=64, description="外部编号（12345 工单号、设备号）")
    self_disposed: bool = Field(default=False, description="监督员已自行处置（需附处置后照片）")


class ChannelIntake(CaseIntake):
    """A report from a channel another subsystem contributes (``IntakeSource``), built by its service.

    Not a request body: the public API keeps its documented channels; the hub checks this one's permission.
    """

    source: str = Field(min_length=1, max_length=16)  # type: ignore[assignment]  # any contributed channel code


class BatchItem(CaseIntake):
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=128, description="每条的幂等键；重发同键同内容得到同一案件"
    )


class BatchIntake(Input):
    """Machine channels (物联感知、视频分析、上级转办、12345 系统) push many reports in one request."""

    items: list[BatchItem] = Field(min_length=1, max_length=200)


class ActionIn(Input):
    note: str = Field("", max_length=DESCRIPTION_MAX)
    department_id: Id | None = None
    hours: float = Field(0, ge=0, le=2000, allow_inf_nan=False)
    days: float = Field(0, ge=0, le=250, allow_inf_nan=False)
    passed: bool | None = None
    confirmed: bool | None = None
    approve: bool | None = None
    target_id: Id | None = None
    postponement_id: Id | None = None


class EventRead(Output):
    step: str
    from_status: str | None
    to_status: str | None
    actor_name: str
    note: str
    data: dict[str, Any]
    at: datetime


class PhotoRead(Output):
    id: int
    stage: str
    sha256: str
    size: int
    width: int
    height: int
    at: datetime
    url: str = ""


class TaskRead(Output):
    id: int
    case_id: int
    kind: str
    assignee_id: int | None
    created_at: datetime
    deadline: datetime
    done_at: datetime | None
    result: str | None


class PostponementRead(Output):
    id: int
    hours: float
    days: float
    reason: str
    state: str
    requested_at: datetime
    decided_at: datetime | None
    old_deadline: datetime | None
    new_deadline: datetime | None


class CaseRead(BaseModel):
    id: int
    number: str
    source: str
    source_label: str
    kind: str
    class_code: str
    class_name: str
    status: str
    status_label: str
    urgent: bool
    description: str
    address: str
    lon: float
    lat: float
    coord_note: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    component_code: str | None
    department_id: int | None
    department_name: str | None
    merged_into_id: int | None
    reported_at: datetime
    filed_at: datetime | None
    dispatched_at: datetime | None
    deadline: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    light: Literal["green", "yellow", "red", "none"]
    self_disposed: bool
    rework_count: int
    return_count: int
    postpone_count: int
    hold_count: int
    supervise_count: int


class DuplicateRead(BaseModel):
    id: int
    number: str
    status: str
    distance_m: float
    reported_at: datetime


class PlaceRead(BaseModel):
    """Where a case is in words: division names beside their codes, and the nearest standard address."""

    grid_code: str | None
    community_code: str | None
    community_name: str
    street_code: str | None
    street_name: str
    nearest_address: str | None
    nearest_distance_m: float | None


class CaseDetail(CaseRead):
    events: list[EventRead]
    photos: list[PhotoRead]
    tasks: list[TaskRead]
    postponements: list[PostponementRead]
    duplicates: list[DuplicateRead]
    actions: list[str]
    suggested_department_id: int | None
    suggested_reason: str = ""  # why that department (component maintainer, class default, 属地) or why none
    place: PlaceRead | None = None
    deadline_warnings: list[str] = []


class PhotoRef(BaseModel):
    id: int
    stage: str
    url: str


class CaseCreated(BaseModel):
    """The 201 answer to an intake: enough to show the case number and follow ``links``, nothing costly."""

    id: int
    number: str
    source: str
    kind: str
    class_code: str
    status: str
    status_label: str
    urgent: bool
    self_disposed: bool
    lon: float
    lat: float
    coord_note: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    reported_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    photos: list[PhotoRef]
    links: dict[str, str]


class ClassIn(Input):
    code: str = Field(pattern=r"^[BS]\d{4}$|^[A-Z]{1,2}\d{4}$")
    name: str = Field(min_length=1, max_length=100)
    filing_standard: str = Field("", max_length=500)
    closing_standard: str = Field("", max_length=500)
    limit_value: float = Field(gt=0, le=1000, allow_inf_nan=False)
    limit_unit: Literal["hours", "days"] = "hours"
    urgent_value: float = Field(gt=0, le=1000, allow_inf_nan=False)
    urgent_unit: Literal["hours", "days"] = "hours"
    department_code: str | None = Field(None, max_length=32)
    active: bool = True


class ClassRead(Output):
    code: str
    kind: str
    name: str
    parent_code: str | None
    filing_standard: str
    closing_standard: str
    limit_value: float
    limit_unit: str
    urgent_value: float
    urgent_unit: str
    department_code: str | None
    source: str
    active: bool


class LocationRead(BaseModel):
    lon: float
    lat: float
    coord_note: str
    grid_code: str | None
    community_code: str
    community_name: str
    street_code: str | None
    street_name: str


class GeoImportReport(BaseModel):
    kind: str
    imported: int
    repaired_rows: list[int]
    errors: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]


class CoverIn(Input):
    community_code: str = Field(pattern=r"^\d{12}$")
    size_m: float = Field(gt=20, le=5000, allow_inf_nan=False)
    replace: bool = True
    overlap: Literal["refuse", "clip"] = Field("refuse", description="与其他网格重叠时：refuse 拒绝，clip 裁去重叠部分")


class AddressRead(Output):
    id: int
    text: str
    lon: float
    lat: float
    grid_code: str | None


ApiKey = Annotated[str, StringConstraints(min_length=8, max_length=64)]


class ConfigIn(Input):
    yellow_ratio: float | None = Field(None, gt=0, lt=1)
    duplicate_distance_m: float | None = Field(None, gt=0, le=5000)
    duplicate_hours: float | None = Field(None, gt=0, le=720)
    photo_max_bytes: int | None = Field(None, ge=10_000, le=50_000_000)
    filing_limit_hours: float | None = Field(None, gt=0, le=100)
    verify_limit_hours: float | None = Field(None, gt=0, le=100)
    check_limit_hours: float | None = Field(None, gt=0, le=100)
    weights: dict[Literal["ontime_close_rate", "close_rate", "no_rework_rate"], Number] | None = None
    open311_api_keys: list[ApiKey] | None = Field(
        None, max_length=50, description="替换全部 api_key（只写；读取时只显示指纹）"
    )
    open311_api_keys_add: list[ApiKey] | None = Field(None, max_length=50, description="新增的 api_key")
    open311_api_keys_remove: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]] | None = Field(
        None, max_length=50, description="按指纹删除的 api_key"
    )
    open311_reports_per_hour: int | None = Field(None, ge=1, le=100_000)
    open311_public_sources: list[Source] | None = Field(None, max_length=len(get_args(Source)))
