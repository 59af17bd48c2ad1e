"""Contracts of 一网通办: matters and their materials, licences, applications, ratings and rectifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from zhixian.fields import Id, LongText, ShortText
from zhixian.platform.schemas import Input, Output

KINDS = ("行政许可", "行政给付", "行政确认", "行政征收", "行政奖励", "行政裁决", "其他行政权力", "公共服务")
LEVELS = ("县", "乡镇", "村")
DEPTHS = ("全程网办", "最多跑一次", "跑一次", "即办件", "不见面审批", "就近办", "窗口办理")
CHANNELS = ("窗口", "网上", "自助终端", "邮寄", "就近办")
SOURCES = {"upload": "申请人提交", "licence": "电子证照", "shared": "共享数据"}
GRADES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

MaterialSource = Literal["upload", "licence", "shared"]


class MaterialIn(Input):
    name: ShortText = Field(min_length=1, max_length=200, title="材料名称")
    required: bool = Field(default=True, title="是否必需")
    source: MaterialSource = Field(default="upload", title="满足方式")
    licence_type: ShortText = Field(default="", max_length=20, title="电子证照类型")
    resource_id: Id | None = Field(default=None, title="共享资源")
    items: list[ShortText] = Field(default_factory=list, max_length=50, title="信息项")
    household: bool = Field(default=False, title="含同户成员")
    note: LongText = Field(default="", max_length=500, title="说明")

    @model_validator(mode="after")
    def _how(self) -> MaterialIn:
        if self.source == "licence" and not self.licence_type:
            raise ValueError("满足方式为电子证照时须填写证照类型")
        if self.source == "shared" and not self.resource_id:
            raise ValueError("满足方式为共享数据时须填写目录资源")
        return self


class FaqIn(Input):
    q: LongText = Field(min_length=1, max_length=500, title="问题")
    a: LongText = Field(min_length=1, max_length=2000, title="解答")


class MatterIn(Input):
    code: LongText = Field(pattern=r"^[0-9A-Za-z-]{6,40}$", title="实施编码")
    name: ShortText = Field(min_length=2, max_length=200, title="事项名称")
    department_code: ShortText = Field(min_length=1, max_length=40, title="实施部门")
    kind: Literal[KINDS] = Field(title="事项类型")  # type: ignore[valid-type]
    level: Literal[LEVELS] = Field(title="办理层级")  # type: ignore[valid-type]
    legal_basis: LongText = Field(default="", title="设定依据")
    conditions: LongText = Field(default="", title="受理条件")
    statutory_days: int = Field(ge=0, le=365, title="法定办结时限")
    promised_days: int = Field(ge=0, le=365, title="承诺办结时限")
    fee: ShortText = Field(default="不收费", max_length=200, title="收费")
    channels: list[Literal[CHANNELS]] = Field(default_factory=lambda: ["窗口"], max_length=5, title="办理渠道")  # type: ignore[valid-type]
    online_depth: Literal[DEPTHS] = Field(default="窗口办理", title="网办深度")  # type: ignore[valid-type]
    faqs: list[FaqIn] = Field(default_factory=list, max_length=30, title="常见问题")
    materials: list[MaterialIn] = Field(default_factory=list, max_length=60, title="申请材料")

    @model_validator(mode="after")
    def _promise(self) -> MatterIn:
        if self.promised_days > self.statutory_days:
            raise ValueError("承诺办结时限不能长于法定办结时限")
        return self


class MaterialRead(Output):
    id: int
    seq: int
    name: str
    required: bool
    source: str
    licence_type: str
    resource_id: int | None
    items: list[str]
    household: bool
    note: str


class MatterRead(Output):
    id: int
    code: str
    name: str
    department_id: int
    department_name: str = ""
    kind: str
    level: str
    legal_basis: str
    conditions: str
    statutory_days: int
    promised_days: int
    fee: str
    channels: list[str]
    online_depth: str
    faqs: list[dict[str, str]]
    status: str
    materials: list[MaterialRead] = Field(default_factory=list)


class ImportResult(Output):
    created: int
    updated: int
    rows: int


class LicenceIn(Input):
    type_code: ShortText = Field(min_length=1, max_length=20, title="证照类型")
    number: ShortText = Field(min_length=1, max_length=60, title="证照编号")
    holder_key: ShortText = Field(min_length=15, max_length=18, title="持证主体代码")
    holder_name: ShortText = Field(min_length=1, max_length=200, title="持证主体名称")
    issuer: ShortText = Field(default="", max_length=100, title="发证机关")
    issued_on: date | None = Field(default=None, title="发证日期")
    valid_until: date | None = Field(default=None, title="有效期至")


class LicenceRead(Output):
    id: int
    type_code: str
    type_name: str = ""
    number: str
    holder_kind: str
    holder_masked: str
    holder_name: str
    issuer: str
    issued_on: date | None
    valid_until: date | None
    status: str
    state: str = ""  # valid expired revoked, today


class ApplicationIn(Input):
    matter_id: Id = Field(title="事项")
    applicant_kind: Literal["person", "legal"] = Field(default="person", title="申请人类型")
    applicant_key: ShortText = Field(min_length=15, max_length=18, title="证件号码")
    applicant_name: ShortText = Field(min_length=1, max_length=200, title="申请人姓名")
    phone: ShortText = Field(default="", max_length=20, title="联系电话")
    consent: bool = Field(default=False, title="同意使用共享数据和电子证照")
    channel: Literal["window", "point"] = Field(default="window", title="受理渠道")


class CiteIn(Input):
    licence_id: Id = Field(title="电子证照")


class CorrectionIn(Input):
    notes: list[ShortText] = Field(default_factory=list, max_length=30, title="其他需补正的事项")


class ReasonIn(Input):
    reason: LongText = Field(min_length=2, max_length=1000, title="理由")


class NoteIn(Input):
    note: LongText = Field(default="", max_length=1000, title="意见")


class DecisionIn(Input):
    decision: Literal["approve", "deny"] = Field(title="决定")
    note: LongText = Field(min_length=2, max_length=1000, title="决定意见")


class AppMaterialRead(Output):
    id: int
    material_id: int
    seq: int
    name: str
    required: bool
    source: str
    state: str
    file_name: str
    licence_id: int | None
    shared: dict[str, Any]
    call_id: int | None
    note: str


class EventRead(Output):
    at: datetime
    action: str
    actor: str
    note: str


class ApplicationRead(Output):
    id: int
    number: str = ""
    matter_id: int
    matter_name: str = ""
    department_id: int
    department_name: str = ""
    channel: str
    clerk: str
    applicant_kind: str
    applicant_name: str
    applicant_masked: str
    consent: bool
    status: str
    status_label: str = ""
    correction: list[str]
    reason: str
    decision: str
    household: list[dict[str, Any]]
    received_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None
    done_at: datetime | None
    light: str = ""
    actions: list[str] = Field(default_factory=list)
    materials: list[AppMaterialRead] = Field(default_factory=list)
    events: list[EventRead] = Field(default_factory=list)


class PrefillRead(Output):
    filled: list[str] = Field(default_factory=list)
    refused: dict[str, str] = Field(default_factory=dict)


class RatingIn(Input):
    grade: int = Field(ge=1, le=5, title="评价等级")
    reasons: list[ShortText] = Field(default_factory=list, max_length=10, title="评价理由")
    comment: LongText = Field(default="", max_length=1000, title="意见")


class RatingRead(Output):
    id: int
    application_id: int | None
    case_id: int | None = None
    case_number: str | None = None
    matter_id: int | None
    department_id: int
    channel: str
    grade: int
    grade_label: str = ""
    reasons: list[str]
    comment: str
    at: datetime
    rectification_id: int | None = None


class RectifyIn(Input):
    measures: LongText = Field(min_length=2, max_length=1000, title="整改措施")
    callback: LongText = Field(min_length=2, max_length=1000, title="回访情况")
    outcome: Literal["satisfied", "unsatisfied"] = Field(title="回访结果")


class RectificationRead(Output):
    id: int
    rating_id: int
    department_id: int
    status: str
    due_at: datetime
    escalated_at: datetime | None
    measures: str
    callback: str
    outcome: str
    done_at: datetime | None
    late: bool = False


class KpiFigureRead(Output):
    label: str
    value: int
    href: str


class KpiRead(Output):
    """One reported figure: the share numerator/denominator, each with the list it counts."""

    code: str
    name: str
    rate: float | None
    percent: str
    definition: str
    note: str
    numerator: KpiFigureRead
    denominator: KpiFigureRead


class KpiReport(Output):
    scope: str
    since: date | None
    until: date | None
    items: list[KpiRead]
