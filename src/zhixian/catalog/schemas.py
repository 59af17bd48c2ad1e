"""Contracts of the catalogue API: resources with items, business systems and upward applications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from zhixian.catalog import grading
from zhixian.fields import Code, Day, Name, Number, ShortText
from zhixian.platform.schemas import Input, Output

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from zhixian.platform.actor import Actor

ShareType = Literal["无条件共享", "有条件共享", "不予共享"]
ShareMethod = Literal["接口", "库表", "文件"]
OpenType = Literal["无条件开放", "有条件开放", "不予开放"]
Cycle = Literal["实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期"]
Kind = Literal["基础", "主题", "部门"]
Grade = Literal["一般", "重要", "核心"]
DataType = Literal["字符串", "整数", "数值", "日期", "日期时间", "布尔"]
Rule = Literal["", "身份证号", "统一社会信用代码", "手机号", "电话", "行政区划代码", "性别"]
FieldName = str


class ItemIn(Input):
    name: Name
    field_name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    data_type: DataType = "字符串"
    length: int | None = Field(default=None, ge=1, le=100_000)
    share_type: ShareType = "无条件共享"
    sensitivity: int | None = Field(default=None, ge=1, le=9)
    grade: Grade = "一般"
    rule: Rule = ""
    required: bool = False
    min_value: Number | None = None
    max_value: Number | None = None
    masking: Literal["", "姓名", "手机号", "身份证号", "地址"] = ""

    @model_validator(mode="after")
    def _grade(self) -> ItemIn:
        problem = grading.check_grade(self.grade, self.sensitivity)
        if problem:
            raise ValueError(f"信息项“{self.name}”：{problem}")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(f"信息项“{self.name}”：最小值不能大于最大值")
        return self


class ResourceIn(Input):
    code: str = Field(max_length=40)
    category: str = Field(max_length=20)
    name: Name
    kind: Kind
    base_library: Literal["", "人口", "法人", "地理"] = ""
    department_code: Code
    system_code: Code | None = None
    summary: str = Field(default="", max_length=4000)
    format: ShortText = "数据库"
    share_type: ShareType
    share_condition: str = Field(default="", max_length=1000)
    share_method: ShareMethod = "接口"
    open_type: OpenType = "不予开放"
    open_condition: str = Field(default="", max_length=1000)
    update_cycle: Cycle = "每月"
    publish_date: Day | None = None
    linked_codes: list[str] = Field(default_factory=list, max_length=50)
    classified: bool = False
    grade: Grade
    sensitivity: int | None = Field(default=None, ge=1, le=9)
    key_field: str = Field(default="", max_length=64)
    management_mode: ShortText = ""
    service_info: str = Field(default="", max_length=500)
    online_url: str = Field(default="", max_length=500)
    maintainer: ShortText = ""
    metadata_version: str = Field(default="1.0", max_length=20)
    items: list[ItemIn] = Field(default_factory=list, max_length=500)

    @field_validator("code", "category")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="after")
    def _rules(self) -> ResourceIn:
        problem = (
            grading.check_category(self.category, self.kind)
            or grading.check_code(self.code, self.category)
            or grading.check_grade(self.grade, self.sensitivity)
        )
        if problem:
            raise ValueError(problem)
        if self.share_type != "无条件共享" and not self.share_condition.strip():
            raise ValueError(
                "有条件共享须写明共享条件；不予共享须写明法律、行政法规或国家政策依据"
                if self.share_type == "不予共享"
                else "有条件共享须写明共享条件"
            )
        names = [i.field_name for i in self.items]
        if len(names) != len(set(names)):
            raise ValueError("信息项字段名重复")
        if self.key_field and self.key_field not in names:
            raise ValueError(f"主键字段 {self.key_field} 不在信息项中")
        for code in self.linked_codes:
            if not grading.RESOURCE_CODE_RE.match(code):
                raise ValueError(f"关联资源代码 {code} 格式不正确")
        return self


class ItemRead(Output):
    id: int
    seq: int
    name: str
    field_name: str
    data_type: str
    length: int | None
    share_type: str
    sensitivity: int | None
    grade: str
    rule: str
    required: bool
    min_value: float | None
    max_value: float | None
    masking: str


class ResourceRead(Output):
    id: int
    code: str
    category: str
    name: str
    kind: str
    base_library: str
    department_id: int
    department_code: str = ""
    department_name: str = ""
    system_id: int | None
    summary: str
    format: str
    share_type: str
    share_condition: str
    share_method: str
    open_type: str
    open_condition: str
    update_cycle: str
    publish_date: date | None
    linked_codes: list[str]
    classified: bool
    grade: str
    sensitivity: int | None
    key_field: str
    management_mode: str
    service_info: str
    online_url: str
    maintainer: str
    metadata_version: str
    status: str
    submitted_by: str
    reviewer: str
    reviewed_at: datetime | None
    review_note: str
    updated_at: datetime
    items: list[ItemRead] = Field(default_factory=list)


class ResourceBrief(Output):
    id: int
    code: str
    name: str
    kind: str
    department_name: str
    share_type: str
    grade: str
    sensitivity: int | None
    status: str
    update_cycle: str


class ReviewIn(Input):
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=1000)


class SystemIn(Input):
    code: Code
    name: Name
    department_code: Code
    builder_level: Literal["部建", "省建", "市建", "县建"]
    builder: ShortText = ""
    deployment: ShortText = ""
    data_held: str = Field(default="", max_length=4000)
    access_status: Literal["none", "applied", "granted", "local_copy"] = "none"
    access_scope: str = Field(default="", max_length=500)
    access_expires: Day | None = None
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _granted(self) -> SystemIn:
        if self.access_status == "granted" and not self.access_scope.strip():
            raise ValueError("已授权须写明授权范围")
        return self


class ApplicationRead(Output):
    id: int
    applied_on: date
    addressee: str
    scope: str
    outcome: str
    decided_on: date | None
    granted_scope: str
    expires: date | None
    reply: str


class SystemRead(Output):
    id: int
    code: str
    name: str
    department_id: int
    department_name: str = ""
    builder_level: str
    builder: str
    deployment: str
    data_held: str
    access_status: str
    access_scope: str
    access_expires: date | None
    note: str
    integrable: bool = False
    applications: list[ApplicationRead] = Field(default_factory=list)


class ApplicationIn(Input):
    applied_on: Day
    addressee: Name
    scope: str = Field(min_length=1, max_length=500)


class ApplicationDecision(Input):
    outcome: Literal["granted", "refused"]
    decided_on: Day
    granted_scope: str = Field(default="", max_length=500)
    expires: Day | None = None
    reply: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _scope(self) -> ApplicationDecision:
        if self.outcome == "granted" and not self.granted_scope.strip():
            raise ValueError("同意开放须写明授权范围")
        if self.outcome == "refused" and not self.reply.strip():
            raise ValueError("不同意须记录上级答复理由")
        return self


class RegistrySummary(Output):
    total: int
    by_level: dict[str, int]
    by_access: dict[str, int]
    integrable: int


class CatalogImportReport(Output):
    created: int
    updated: int
    unchanged: int


# --- what other subsystems know about a resource (Subsystem.catalog_resource_facts), shown on its page


class Fact(Output):
    """One line of a resource's sheet: a label, its value, and where to go for the records behind it."""

    label: str
    value: str
    href: str | None = None
    note: str = ""


class FactGroup(Output):
    title: str
    facts: list[Fact] = Field(default_factory=list)
    downloads: list[Fact] = Field(default_factory=list)  # files and API addresses for this resource


ResourceFacts = Callable[["Session", "Actor", ResourceRead], list[FactGroup]]
"""``fn(session, actor, resource)``: another subsystem's facts on one resource (integration: records,
quality, sources), contributed as ``Subsystem(catalog_resource_facts=[fn])`` so the catalogue imports none."""
