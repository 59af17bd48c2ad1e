"""Contracts of the exchange: requests and decisions, grants, applications, gateway calls, usage."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from zhixian.fields import Day, Id, LongText, Name
from zhixian.platform.schemas import Input, Output

FieldName = str
OperationName = Literal["lookup", "query", "verify"]
_FIELD_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


def _fields(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    out: list[str] = []
    for value in values:
        name = value.strip()
        if not re.match(_FIELD_PATTERN, name):
            raise ValueError(f"信息项字段名 {name[:64]!r} 格式不正确")
        if name not in out:
            out.append(name)
    return out


def _lookup_only() -> list[OperationName]:
    return ["lookup"]


class ConditionIn(Input):
    field: str = Field(pattern=_FIELD_PATTERN)
    op: Literal["eq", "in", "prefix"] = "eq"
    value: str | list[str] = Field(description="取值；op 为 in 时为列表")


class RequestIn(Input):
    """共享申请: which resource and items, for which application, why, on what basis, for how long."""

    resource_id: Id
    items: list[str] = Field(min_length=1, max_length=200, description="申请的信息项字段名")
    operations: list[OperationName] = Field(default_factory=_lookup_only, min_length=1, max_length=3)
    application_id: Id | None = Field(default=None, description="使用数据的应用；为空则本部门所有应用可用")
    purpose: str = Field(min_length=2, max_length=500, description="用途")
    legal_basis: LongText = Field(default="", max_length=1000, description="法律法规或政策依据")
    scenario: LongText = Field(default="", max_length=1000, description="应用场景")
    period_start: Day
    period_end: Day
    row_scope: Literal["all", "own_division"] = Field(
        default="all", description="own_division：仅本部门所在区划（数据回流）"
    )
    row_filter: list[ConditionIn] = Field(default_factory=list, max_length=10)

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str] | None) -> list[str] | None:
        return _fields(v)

    # field validators (not one for the model), so a refusal names the field it is about
    @field_validator("purpose")
    @classmethod
    def _purpose(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("须写明用途")
        return v

    @field_validator("period_end")
    @classmethod
    def _period(cls, v: date, info: ValidationInfo) -> date:
        start = info.data.get("period_start")
        if start is not None and v < start:
            raise ValueError("使用期限的结束日期不能早于开始日期")
        return v


class ApproveIn(Input):
    """同意: the approver may narrow items, operations, rows and period, and decide which items go unmasked."""

    items: list[str] | None = Field(default=None, max_length=200, description="为空则按申请的信息项")
    plain_items: list[str] = Field(default_factory=list, max_length=200, description="不脱敏提供的信息项")
    operations: list[OperationName] | None = Field(default=None, max_length=3)
    row_scope: Literal["keep", "all", "own_division"] = "keep"
    row_filter: list[ConditionIn] | None = Field(default=None, max_length=10, description="为空则按申请的行范围")
    valid_until: Day | None = Field(default=None, description="为空则按申请的使用期限")
    note: LongText = Field(default="", max_length=1000)

    @field_validator("items", "plain_items")
    @classmethod
    def _clean_items(cls, v: list[str] | None) -> list[str] | None:
        return _fields(v)


class RefuseIn(Input):
    reason: LongText = Field(min_length=2, max_length=1000, description="不同意的理由（须引用依据）")


class DisputeIn(Input):
    reason: LongText = Field(min_length=2, max_length=1000, description="提出争议的理由")


class ResolveIn(ApproveIn):
    decision: Literal["grant", "refuse"]
    reason: LongText = Field(default="", max_length=1000, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str, info: ValidationInfo) -> str:
        if info.data.get("decision") == "refuse" and len(v.strip()) < 2:
            raise ValueError("维持不予共享须写明理由和依据")
        return v


class NoteIn(Input):
    note: LongText = Field(default="", max_length=1000)


class ReasonIn(Input):
    reason: LongText = Field(min_length=2, max_length=1000, description="理由")


class RenewIn(Input):
    valid_until: Day
    note: LongText = Field(default="", max_length=1000)


def _networks(values: list[str]) -> list[str]:
    out = []
    for value in values:
        text = value.strip()
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValueError(f"{text[:50]!r} 不是有效的 IP 地址或网段（如 10.1.2.0/24）") from None
    return out


class ApplicationIn(Input):
    name: Name
    description: LongText = Field(default="", max_length=1000)
    ip_allow: list[str] = Field(default_factory=list, max_length=50, description="允许的来源地址或网段；为空不限制")
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000, description="每分钟调用上限")
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000, description="每日调用配额")

    @field_validator("ip_allow")
    @classmethod
    def _nets(cls, v: list[str]) -> list[str]:
        return _networks(v)


class ApplicationUpdate(Input):
    name: Name | None = None
    description: LongText | None = Field(default=None, max_length=1000)
    ip_allow: list[str] | None = Field(default=None, max_length=50)
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000)
    status: Literal["active", "disabled"] | None = None

    @field_validator("ip_allow")
    @classmethod
    def _nets(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _networks(v)


class ApplicationRead(Output):
    id: int
    department_id: int
    department_name: str = ""
    name: str
    description: str
    client_id: str
    secret_fingerprint: str
    secret_version: int
    secret_rotated_at: datetime
    ip_allow: list[str]
    rate_per_minute: int
    daily_quota: int
    status: str
    created_by: str
    created_at: datetime


class ApplicationCreated(BaseModel):
    application: ApplicationRead
    client_secret: str = Field(description="仅显示这一次，请立即保存；平台只保存加密后的密钥")


class EventRead(Output):
    at: datetime
    action: str
    label: str = ""
    username: str
    note: str
    detail: dict[str, Any]


class RequestRead(Output):
    id: int
    number: str = ""
    resource_id: int
    resource_code: str
    resource_name: str
    provider_department_id: int
    provider_department_name: str = ""
    consumer_department_id: int
    consumer_department_name: str = ""
    application_id: int | None
    application_name: str = ""
    items: list[str]
    operations: list[str]
    row_filter: list[dict[str, Any]]
    purpose: str
    legal_basis: str
    scenario: str
    period_start: date
    period_end: date
    share_type: str
    status: str
    status_label: str = ""
    stage: str = ""
    due_at: datetime | None
    remind_at: datetime | None
    light: str = "none"
    escalated_at: datetime | None
    reminded_at: datetime | None
    refused_by: str
    refusal_reason: str
    dispute_reason: str
    disputed: bool
    decided_by: str
    decided_at: datetime | None
    on_time: bool | None
    grant_id: int | None = None
    created_by: str
    created_at: datetime
    actions: list[str] = Field(default_factory=list, description="当前用户可执行的操作")
    timeline: list[EventRead] = Field(default_factory=list)


class GrantRead(Output):
    id: int
    request_id: int | None
    resource_id: int
    resource_code: str
    resource_name: str
    provider_department_id: int
    provider_department_name: str = ""
    consumer_department_id: int
    consumer_department_name: str = ""
    application_id: int | None
    application_name: str = ""
    items: list[str]
    plain_items: list[str]
    operations: list[str]
    row_filter: list[dict[str, Any]]
    purpose: str
    legal_basis: str
    valid_from: date
    valid_until: date
    status: str
    state: str = ""
    state_label: str = ""
    status_reason: str
    created_by: str
    created_at: datetime
    actions: list[str] = Field(default_factory=list)
    timeline: list[EventRead] = Field(default_factory=list)


class CallRead(Output):
    id: int
    at: datetime
    application_id: int | None
    application_name: str = ""
    client_id: str
    consumer_department_id: int | None
    consumer_department_name: str = ""
    resource_id: int | None
    resource_name: str = ""
    provider_department_id: int | None
    grant_id: int | None
    operation: str
    items: list[str]
    rows: int
    purpose: str
    reason: str
    status: int
    result: str
    error: str
    duration_ms: int
    node: str = ""  # the peer node a federated call went to or came from
    node_name: str = ""


class PersonUsageIn(Input):
    id_number: str = Field(min_length=15, max_length=20, description="公民身份号码（不出现在网址中）")
    note: LongText = Field(default="", max_length=500, description="查询事由")


class PersonUsageRow(BaseModel):
    at: datetime
    department_name: str
    application_name: str
    resource_name: str
    operation: str
    purpose: str
    reason: str


# --- gateway bodies (parsed from the signed raw body)


class LookupIn(Input):
    key: str = Field(min_length=1, max_length=64, description="主键值，如公民身份号码、统一社会信用代码")
    items: list[str] | None = Field(default=None, max_length=200, description="只返回这些信息项（须在授权内）")
    reason: str = Field(default="", max_length=200, description="本次调用的事由（如办件编号），记入审计")

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str] | None) -> list[str] | None:
        return _fields(v)


class QueryIn(Input):
    filters: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    page_size: int = Field(default=50, ge=1, le=1_000_000)
    cursor: str | None = Field(default=None, max_length=2000)
    count: bool = Field(default=False, description="是否返回精确总数（上限 100000）")
    items: list[str] | None = Field(default=None, max_length=200)
    reason: str = Field(default="", max_length=200)

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str] | None) -> list[str] | None:
        return _fields(v)


class VerifyIn(Input):
    key: str = Field(min_length=1, max_length=64, description="公民身份号码或统一社会信用代码")
    name: str = Field(min_length=1, max_length=200, description="姓名或名称")
    reason: str = Field(default="", max_length=200)


class DepartmentRead(BaseModel):
    """One record a department read through its grant (not an application's signed call): 一网通办's
    pre-fill. ``refused`` says why nothing was returned (no grant, suspended, revoked, no such record)."""

    resource_id: int
    resource_name: str = ""
    grant_id: int | None = None
    call_id: int | None = None
    record: dict[str, Any] = Field(default_factory=dict)
    masked: list[str] = Field(default_factory=list)
    item_names: dict[str, str] = Field(default_factory=dict)
    members: list[dict[str, Any]] = Field(default_factory=list)
    refused: str = ""
