"""Contracts of federation: what a department forwards, what an authority decides or grants, what is shown."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from zhixian.exchange.schemas import OperationName, _fields, _lookup_only
from zhixian.fields import Day, Id
from zhixian.platform.schemas import Input, Output

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}$"


class FedRequestIn(Input):
    """A department's sharing request for a resource of another node (forwarded there to be decided)."""

    peer_id: Id | None = Field(default=None, description="提供资源的节点；为空则为本节点的上级节点")
    resource_code: str = Field(pattern=CODE_PATTERN, description="对方目录中的资源代码")
    items: list[str] = Field(min_length=1, max_length=200, description="申请的信息项字段名")
    operations: list[OperationName] = Field(default_factory=_lookup_only, min_length=1, max_length=3)
    purpose: str = Field(min_length=2, max_length=500, description="用途")
    period_end: Day

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str]) -> list[str] | None:
        return _fields(v)


class DecideIn(Input):
    approve: bool
    reason: str = Field(default="", max_length=1000, description="不同意的理由或说明")
    valid_until: Day | None = Field(default=None, description="授权截止日期；为空则按申请的期限")

    @model_validator(mode="after")
    def _reason(self) -> DecideIn:
        if not self.approve and len(self.reason.strip()) < 2:
            raise ValueError("不同意时须写明理由")
        return self


class FedGrantIn(Input):
    """A federated grant made here without a request: a peer (one department of it, or all) may call a resource."""

    peer_id: Id
    resource_code: str = Field(pattern=CODE_PATTERN)
    department_code: str = Field(default="", max_length=32, description="对方节点的部门代码；为空则对方各部门均可")
    items: list[str] = Field(min_length=1, max_length=200)
    operations: list[OperationName] = Field(default_factory=_lookup_only, min_length=1, max_length=3)
    purpose: str = Field(min_length=2, max_length=500)
    valid_until: Day

    @field_validator("items")
    @classmethod
    def _clean_items(cls, v: list[str]) -> list[str] | None:
        return _fields(v)


class PeerRead(Output):
    id: int
    node_id: str
    name: str
    role: Literal["upstream", "downstream"] | str
    base_url: str
    algorithm: str
    fingerprint: str
    status: str
    approved_by: str
    approved_at: datetime | None
    published_until: datetime | None


class RemoteResourceRead(Output):
    id: int
    peer_id: int
    origin_node: str
    code: str
    name: str
    department: str
    share_type: str
    grade: str
    items: list[dict[str, Any]]
    changed_at: datetime


class FedRequestRead(Output):
    id: int
    direction: str
    peer_id: int
    remote_id: int | None
    resource_code: str
    resource_name: str
    department_code: str
    department_name: str
    items: list[str]
    operations: list[str]
    purpose: str
    period_end: date
    status: str
    reason: str
    created_at: datetime


class FedGrantRead(Output):
    id: int
    direction: str
    peer_id: int
    remote_id: int | None
    resource_code: str
    resource_name: str
    department_code: str
    items: list[str]
    operations: list[str]
    purpose: str
    valid_until: date
    status: str


class MessageRead(Output):
    id: int
    direction: str
    peer_node: str
    message_id: str
    type: str
    digest: str
    result: str
    note: str
    attempts: int
    at: datetime
    done_at: datetime | None
