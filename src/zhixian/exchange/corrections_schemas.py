"""Contracts of 数据异议: the objection, the provider's answer, and a correction as both sides see it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from zhixian.exchange.schemas import EventRead
from zhixian.fields import Id, LongText, ShortText
from zhixian.platform.schemas import Input, Output

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _values(values: dict[str, str]) -> dict[str, str]:
    """Item → value, trimmed; an item's name must look like one, and a value may not be empty."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if not _FIELD.match(name):
            raise ValueError(f"信息项字段名 {name[:64]!r} 格式不正确")
        text = value.strip()
        if not text:
            raise ValueError(f"信息项 {name} 的正确值不能为空")
        if _CONTROL.search(text):
            raise ValueError(f"信息项 {name} 的正确值包含不可见的控制字符")
        if len(text) > 500:
            raise ValueError(f"信息项 {name} 的正确值不能超过 500 个字符")
        out[name] = text
    return out


class CorrectionIn(Input):
    call_id: Id = Field(description="收到该记录的网关调用编号（响应中的 call_id）")
    key: ShortText = Field(min_length=1, max_length=64, description="记录的主键值（如公民身份号码）")
    values: dict[str, str] = Field(min_length=1, max_length=20, description="有异议的信息项 → 认为正确的值")
    evidence: LongText = Field(min_length=2, max_length=2000, description="依据或证明材料说明")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("主键值不能为空")
        return value.strip()

    @field_validator("values")
    @classmethod
    def _check_values(cls, value: dict[str, str]) -> dict[str, str]:
        return _values(value)

    @field_validator("evidence")
    @classmethod
    def _evidence(cls, value: str) -> str:
        if len(value.strip()) < 2:
            raise ValueError("请写明依据或证明材料（至少 2 个字）")
        return value.strip()


class AcceptIn(Input):
    note: LongText = Field(default="", max_length=1000, description="说明")
    values: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="采纳时改用的值（默认采用异议提出的值）"
    )

    @field_validator("values")
    @classmethod
    def _check_values(cls, value: dict[str, str]) -> dict[str, str]:
        return _values(value)


class RejectIn(Input):
    reason: LongText = Field(min_length=2, max_length=1000, description="不予更正的理由")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if len(value.strip()) < 2:
            raise ValueError("请写明不予更正的理由（至少 2 个字）")
        return value.strip()


class CorrectionItem(Output):
    field: str
    label: str
    current: str = ""  # as the record holds it now, masked as the record is
    proposed: str = ""  # what the consumer believes is right (masked for readers other than the two sides)


class CorrectionRead(Output):
    id: int
    number: str = ""
    call_id: int
    resource_id: int
    resource_code: str
    resource_name: str
    provider_department_id: int
    provider_department_name: str = ""
    consumer_department_id: int
    consumer_department_name: str = ""
    entity: str
    entity_id: int
    record_label: str
    items: list[str]
    evidence: str
    status: str
    status_label: str = ""
    light: str = "none"
    due_at: datetime | None
    remind_at: datetime | None
    escalated_at: datetime | None
    answer: str
    changed_fields: list[str]
    decided_by: str
    decided_at: datetime | None
    on_time: bool | None
    created_by: str
    created_at: datetime
    record_href: str = ""
    actions: list[str] = Field(default_factory=list)
    values: list[CorrectionItem] = Field(default_factory=list)
    timeline: list[EventRead] = Field(default_factory=list)


def event_read(event: Any, label: str) -> EventRead:
    out = EventRead.model_validate(event)
    out.label = label
    return out
