"""Who is acting: passed to every service function so scope is enforced below the web layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from zhixian.errors import NotFound, NotPermitted
from zhixian.platform.audit import AuditContext

COUNTY_SCOPE = "platform.scope.county"


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    full_name: str
    department_id: int
    department_path: str
    department_name: str
    permissions: frozenset[str]
    roles: tuple[str, ...] = ()
    ip: str = ""
    via: Literal["session", "token", "system"] = "session"
    session_id: int | None = None
    csrf_token: str | None = None
    must_change_password: bool = False
    mfa_pending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise NotPermitted()

    @property
    def county_scope(self) -> bool:
        return COUNTY_SCOPE in self.permissions

    @property
    def audit(self) -> AuditContext:
        return AuditContext(self.user_id or None, self.username, self.department_id, self.ip)

    def sees_department(self, department_path: str) -> bool:
        return self.county_scope or department_path.startswith(self.department_path)

    def check_department(self, department_path: str) -> None:
        """Objects of other departments are reported as missing: their existence is not disclosed."""
        if not self.sees_department(department_path):
            raise NotFound()

    def department_filter(self, path_column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """SQL condition limiting a query to the departments this actor may see."""
        if self.county_scope:
            return path_column.is_not(None)
        return or_(path_column == self.department_path, path_column.startswith(self.department_path))


def system_actor(permissions: frozenset[str] = frozenset({COUNTY_SCOPE})) -> Actor:
    """For CLI commands and jobs, which act for the node itself and are audited as such."""
    return Actor(
        user_id=0,
        username="system",
        full_name="系统",
        department_id=0,
        department_path="/",
        department_name="",
        permissions=permissions,
        via="system",
    )
