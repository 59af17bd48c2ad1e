"""Contracts of the base platform API. Every input model forbids unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from zhixian.fields import Code, Day, DivisionCode, Email, Id, Mobile, Name, ShortText, Username


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- organisation


class DivisionIn(Input):
    code: DivisionCode
    name: Name
    level: Literal["county", "town", "village"]
    # GB/T 2260 county-level kinds, then township (苏木: Inner Mongolia) and village (嘎查) kinds
    kind: Literal[
        "县", "自治县", "县级市", "区", "旗", "自治旗", "林区", "特区",
        "街道", "镇", "乡", "民族乡", "苏木", "社区", "村", "嘎查",
    ]  # fmt: skip
    parent_code: DivisionCode | None = None


class DivisionRead(Output):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None


class DepartmentIn(Input):
    code: Code
    name: Name
    short_name: ShortText = ""
    kind: ShortText = ""
    parent_code: Code | None = None
    division_code: DivisionCode | None = None


class DepartmentRead(Output):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    parent_id: int | None
    division_code: str | None
    active: bool


class OrgBundle(Input):
    """The JSON exchange form of the county's structure (same content as the Excel workbook)."""

    divisions: list[DivisionIn] = Field(default_factory=list, max_length=100_000)
    departments: list[DepartmentIn] = Field(default_factory=list, max_length=10_000)


class ImportReport(Output):
    created: int
    updated: int
    unchanged: int


# --- users and roles


class UserCreate(Input):
    username: Username
    full_name: Name
    department_id: Id
    phone: Mobile | None = None
    email: Email | None = None
    roles: list[Code] = Field(default_factory=list, max_length=20)
    password: str | None = Field(default=None, max_length=128, description="为空时生成初始密码，首次登录须修改")


class UserUpdate(Input):
    full_name: Name | None = None
    department_id: Id | None = None
    phone: Mobile | None = None
    email: Email | None = None
    active: bool | None = None
    shared_account: bool | None = None


class UserRead(Output):
    id: int
    username: str
    full_name: str
    department_id: int
    department_name: str
    phone_masked: str
    email: str
    roles: list[str]
    active: bool
    locked: bool
    must_change_password: bool
    totp_enabled: bool
    last_login_at: datetime | None
    created_at: datetime


class UserDetail(UserRead):
    phone: str | None


class UserCreated(BaseModel):
    user: UserRead
    initial_password: str | None = Field(description="仅显示一次")


class RolesAssign(Input):
    roles: list[Code] = Field(max_length=20)


class RoleIn(Input):
    code: Code
    name: Name
    description: ShortText = ""
    permissions: list[str] = Field(default_factory=list, max_length=500)


class AdminChangeIn(Input):
    """A change to an administrator duty, proposed by a security administrator (三权分立 two-person rule)."""

    kind: Literal["user_create", "user_roles", "user_reset", "user_active", "role"] = Field(
        description="新建管理员账号 / 调整其角色 / 重置其密码 / 启用或停用 / 修改管理员角色"
    )
    user_id: int | None = Field(default=None, ge=1, description="user_roles、user_reset、user_active 的对象")
    roles: list[Code] | None = Field(default=None, max_length=20)
    active: bool | None = None
    user: UserCreate | None = None
    role: RoleIn | None = None


class AdminChangeRead(Output):
    id: int
    kind: str
    target: str
    status: str
    proposed_by_name: str
    proposed_at: datetime
    decided_by_name: str
    decided_at: datetime | None


class AdminChangeApplied(BaseModel):
    change: AdminChangeRead
    initial_password: str | None = Field(default=None, description="新建或重置时的一次性初始密码，只显示给确认人")
    message: str


class RoleRead(Output):
    code: str
    name: str
    description: str
    admin_kind: str | None
    permissions: list[str]
    builtin: bool


class PermissionRead(BaseModel):
    code: str
    name: str
    subsystem: str


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    department_id: int
    department_name: str
    roles: list[str]
    permissions: list[str]
    county_scope: bool
    must_change_password: bool


# --- sign-in


class LoginIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class ApiTokenCreate(Input):
    name: Name
    days: int | None = Field(
        default=None, ge=1, le=3650, description="有效天数；为空取默认值（90 天），不能超过设置的上限（365 天）"
    )


class ApiTokenRead(Output):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ApiTokenCreated(BaseModel):
    token: str = Field(description="仅显示一次，请妥善保存")
    info: ApiTokenRead


# --- calendar


class CalendarOverrideIn(Input):
    day: Day
    is_workday: bool
    note: ShortText = ""


class CalendarOverrideRead(Output):
    day: date
    is_workday: bool
    note: str
    updated_by: str


class DeadlineRead(BaseModel):
    start: datetime
    deadline: datetime
    warnings: list[str]


# --- audit


class AuditRead(Output):
    id: int
    at: datetime
    user_id: int | None
    username: str
    department_id: int | None
    action: str
    object_type: str
    object_id: str
    result: str
    ip: str
    detail: dict[str, Any]


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    problems: list[str]
    first_bad_id: int | None


class SubsystemRead(BaseModel):
    code: str
    name: str
    kind: str
    state: str
    standard: str
    description: str
