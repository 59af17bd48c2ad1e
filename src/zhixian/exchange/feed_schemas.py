"""Contracts of subscriptions and their deliveries (the change feed's push side)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from zhixian.exchange.schemas import _fields
from zhixian.fields import Id
from zhixian.platform.schemas import Input, Output


class SubscriptionIn(Input):
    application_id: Id = Field(description="接收推送的本部门应用")
    grant_id: Id = Field(description="该应用可用的授权（须含“条件查询”）")
    callback_url: str = Field(min_length=8, max_length=500, description="接收推送的地址（http/https）")
    items: list[str] | None = Field(
        default=None, max_length=200, description="推送的信息项；为空时推送全部已授权信息项"
    )
    start: Literal["now", "beginning"] = Field(default="now", description="now：只推送此后的变更；beginning：从头推送")

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str] | None) -> list[str] | None:
        return _fields(v)

    @field_validator("callback_url")
    @classmethod
    def _clean_url(cls, v: str) -> str:
        v = v.strip()
        if not v.startswith(("http://", "https://")):
            raise ValueError("推送地址必须以 http:// 或 https:// 开头")
        return v


class ReplayIn(Input):
    cursor: str = Field(
        min_length=1, max_length=2000, description="从该游标之后重新推送（推送内容或变更接口给出的 cursor）"
    )


class Backlog(Output):
    pending: int = 0  # deliveries waiting in the outbox
    failing: int = 0  # of which at least one attempt failed
    oldest_pending_at: datetime | None = None
    next_attempt_at: datetime | None = None
    unqueued: int = 0  # feed entries of the resource not yet put in the outbox (before the row filter)


class SubscriptionRead(Output):
    id: int
    application_id: int
    application_name: str = ""
    grant_id: int
    resource_id: int
    resource_name: str = ""
    consumer_department_id: int
    provider_department_id: int
    callback_url: str
    items: list[str]
    status: str
    status_label: str = ""
    position: int
    delivered_number: int
    last_delivered_at: datetime | None
    last_error: str
    created_by: str
    created_at: datetime
    grant_state: str = ""
    backlog: Backlog = Field(default_factory=Backlog)


class DeliveryRead(Output):
    id: int
    subscription_id: int
    number: int
    entries: int
    status: str
    status_label: str = ""
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
