"""Contracts of the integration API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

import httpx
from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from zhixian.errors import Invalid
from zhixian.fields import Id, Name
from zhixian.integration.connectors import remote
from zhixian.platform.schemas import Input, Output

SQL_BACKENDS = frozenset({"postgresql", "mysql", "mariadb"})
_SQL_URL_HINT = "如 postgresql+psycopg://用户:密码@主机:5432/库名 或 mysql+pymysql://用户:密码@主机:3306/库名"
_PARAM = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,32}$")


def check_sql_url(url: str) -> None:
    """A SQLAlchemy URL of a supported database whose driver is installed; checked without connecting.

    Messages never repeat the URL: it usually carries a password.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError) as exc:
        raise ValueError(f"连接串格式不正确，{_SQL_URL_HINT}") from exc
    if parsed.get_backend_name() not in SQL_BACKENDS:
        raise ValueError("不支持该数据库类型：只支持 PostgreSQL 和 MySQL/MariaDB")
    try:
        dialect = parsed.get_dialect()
        if dialect.is_async:
            raise ImportError("async driver")  # noqa: TRY301 - same answer as a missing driver
        dialect.import_dbapi()
    except (ArgumentError, ImportError) as exc:
        raise ValueError("服务器没有连接串指定的数据库驱动：请使用 postgresql+psycopg:// 或 mysql+pymysql://") from exc


def check_http_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ValueError("接口地址格式不正确") from exc
    if not url.startswith(("http://", "https://")) or not parsed.host:
        raise ValueError("接口地址必须以 http:// 或 https:// 开头并包含主机名")
    if parsed.userinfo:
        raise ValueError("接口地址中不能包含用户名或密码：请把令牌填在“令牌”一栏（加密保存）")


class ConnectionIn(Input):
    """How to reach a SQL or HTTP source, checked as far as possible without connecting: a supported SQL
    driver and one SELECT, or an http(s) address without credentials. Messages never repeat the URL."""

    kind: Literal["sql", "http"]
    url: str = Field(min_length=1, max_length=1000, description="SQL：SQLAlchemy 连接串；HTTP：接口地址")
    query: str = Field(default="", max_length=20_000, description="SQL 数据源的 SELECT 查询")
    token: str = Field(default="", max_length=2000, description="HTTP 接口的 Bearer 令牌")
    records_key: str = Field(default="data", max_length=64)
    page_param: str = Field(default="page", max_length=32)
    size_param: str = Field(default="size", max_length=32)
    page_size: int = Field(default=100, ge=1, le=10_000)
    timeout: int = Field(default=30, ge=1, le=600)

    @model_validator(mode="after")
    def _kind(self) -> ConnectionIn:
        if self.kind == "sql" and not self.query.strip():
            raise ValueError("SQL 数据源须填写查询语句")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "sql":
            check_sql_url(value)
        elif kind == "http":
            check_http_url(value)
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") != "sql" or not value.strip():
            return value  # an empty query is refused by _kind
        try:
            remote.check_query(value)
        except Invalid as exc:
            raise ValueError(exc.detail) from exc
        return value

    @field_validator("page_param", "size_param")
    @classmethod
    def _param(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "http" and not _PARAM.match(value):
            raise ValueError("参数名须为 1–32 个字母、数字或 _ . - [ ]")
        return value


class RemoteSourceIn(ConnectionIn):
    """A new SQL or HTTP source: its connection, its name and target resource, and how it is kept fresh."""

    name: Name
    resource_id: Id
    incremental: Literal["hash", "watermark"] = "hash"
    watermark_column: str = Field(default="", max_length=100)
    schedule: str = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _watermark(self) -> RemoteSourceIn:
        if self.incremental == "watermark" and not self.watermark_column:
            raise ValueError("按水位增量同步须指定水位列")
        if self.kind == "sql" and self.watermark_column and not remote.IDENT.match(self.watermark_column):
            raise ValueError("SQL 数据源的水位列名只能含字母、数字、下划线")
        return self


class SourceSettings(Input):
    schedule: str = Field(default="", max_length=100)
    incremental: Literal["hash", "watermark"] = "hash"
    watermark_column: str = Field(default="", max_length=100)
    active: bool = True


class SourceRead(Output):
    id: int
    name: str
    kind: str
    department_id: int
    resource_id: int
    resource_name: str = ""
    file_name: str
    file_sha256: str
    incremental: str
    watermark_column: str
    watermark_value: str
    schedule: str
    next_run_at: datetime | None
    mapping_version: int
    active: bool
    deleted_at: datetime | None = None
    deleted_by: str = ""
    department_name: str = ""
    columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    rows: int | None = None


class MappingIn(Input):
    columns: dict[str, str] = Field(description="信息项字段名 → 源列名", max_length=500)


class MappingRead(Output):
    version: int
    columns: dict[str, str]
    created_by: str
    created_at: datetime


class PreviewRow(Output):
    row: int
    values: dict[str, Any]
    clean: dict[str, Any]
    errors: list[dict[str, str]]


class PreviewRead(Output):
    columns: list[str]
    items: list[dict[str, Any]]
    mapping: dict[str, str]
    suggested: dict[str, str]
    rows: list[PreviewRow]
    valid: int
    invalid: int


class RunRead(Output):
    id: int
    source_id: int
    resource_id: int
    kind: str
    trigger: str
    status: str
    mapping_version: int
    operator: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int
    checkpoint: int
    batches: int
    read: int
    loaded: int
    updated: int
    unchanged: int
    quarantined: int
    duplicates: int
    key_conflicts: int = Field(description="与本次已读行主键相同、内容不同而暂存待选的行")
    conflicts: int = Field(description="与其他部门所供值不同、留待资源部门确认的字段数（该行仍计入新增/更新/未变）")
    error: str
    lineage: dict[str, Any]
    total: int | None = None  # rows in the source file, when known
    progress: float | None = None  # checkpoint / total
    source_name: str = ""
    still_open: int | None = Field(default=None, description="本次隔离与暂存的行中仍待处理的条数")


class RunAccepted(Output):
    """202 body: the run is queued; poll status_url until status is succeeded or failed."""

    id: int
    status: str
    status_url: str
    page_url: str


class QuarantineRead(Output):
    id: int
    source_id: int
    run_id: int
    kind: str = Field(description="invalid：未通过校验；conflict：与 other_row 行主键相同、内容不同")
    row_number: int
    other_row: int | None = None
    reason: str
    reasons: list[dict[str, str]]
    status: str
    resolved_by: str
    data: dict[str, Any] | None = None
    pairs: dict[str, list[str | None]] | None = Field(
        default=None, description="同键异值：各有差异的信息项 → [other_row 行的值, 本行的值]（仅详情，查看留痕）"
    )


class ResubmitIn(Input):
    values: dict[str, Any] = Field(max_length=500)


class ChooseIn(Input):
    """For each differing item: keep the value of the row already loaded ("kept") or take this row's ("held")."""

    choices: dict[str, Literal["kept", "held"]] = Field(max_length=500)


class ChangeRead(Output):
    """One field of a record changed: old → new (masked as the record is), who, when, which run."""

    field: str
    label: str
    old: str
    new: str
    run_id: int | None
    source_name: str
    department_name: str
    operator: str
    note: str
    changed_at: datetime


class PersonRead(Output):
    """Masked (the default) it carries birth_year and no birth_date: see ``platform.masking.person_view``."""

    id: int
    id_number: str
    name: str
    gender: str
    birth_date: date | None
    birth_year: int | None = None
    phone: str
    address: str
    division_code: str
    masked: bool
    provenance: dict[str, Any]


class LegalPersonRead(Output):
    id: int
    uscc: str
    name: str
    legal_rep: str
    address: str
    established: date | None
    capital: float | None
    phone: str
    division_code: str
    provenance: dict[str, Any]


class ConflictRead(Output):
    id: int
    entity: str
    entity_id: int
    field: str
    current_value: str
    current_department: str
    incoming_value: str
    incoming_department: str
    run_id: int
    status: str
    resolved_by: str


class ConflictResolve(Input):
    action: Literal["keep", "replace"]


class QualityRead(Output):
    resource_id: int
    resource_name: str
    department_name: str
    day: date
    records: int
    completeness: float
    validity: float
    timeliness: float
    duplication: float
    overdue: bool
    last_load_at: datetime | None
