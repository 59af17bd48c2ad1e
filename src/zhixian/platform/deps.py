"""Annotated actor dependencies of the platform routes (one place, so API and pages agree)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from zhixian.platform.actor import Actor
from zhixian.web.auth import Require

Signed = Annotated[Actor, Depends(Require())]
Pending = Annotated[Actor, Depends(Require(allow_pending=True))]  # may still owe a password change or TOTP
UserReader = Annotated[Actor, Depends(Require("platform.users.read"))]
UserManager = Annotated[Actor, Depends(Require("platform.users.manage"))]
RoleManager = Annotated[Actor, Depends(Require("platform.roles.manage"))]
OrgManager = Annotated[Actor, Depends(Require("platform.org.manage"))]
CalendarManager = Annotated[Actor, Depends(Require("platform.calendar.manage"))]
SystemManager = Annotated[Actor, Depends(Require("platform.system.manage"))]
AuditReader = Annotated[Actor, Depends(Require("platform.audit.read"))]
TokenCreator = Annotated[Actor, Depends(Require("platform.token.create", session_only=True))]
AuditExporter = Annotated[Actor, Depends(Require("platform.audit.export"))]
