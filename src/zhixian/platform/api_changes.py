"""JSON routes of the two-person rule for administrator duties (三权分立), under /api/v1/admin-changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from zhixian.errors import NotPermitted
from zhixian.platform import changes
from zhixian.platform.api import (
    router,  # the platform router itself: a nested router would hide its prefix from route walks
)
from zhixian.platform.deps import Signed
from zhixian.platform.schemas import AdminChangeApplied, AdminChangeIn, AdminChangeRead
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath


def _admin_network(request: Request, actor: Signed) -> None:
    if not request.app.state.settings.admin_allowed_from(actor.ip):
        raise NotPermitted("管理功能只允许从指定的内部网段访问")


@router.get("/admin-changes", summary="管理员职责变更（待确认与已处理）")
def list_changes(
    actor: Signed,
    session: SessionDep,
    request: Request,
    status: Annotated[str, Query(pattern="^(|pending|confirmed|rejected)$")] = "pending",
) -> list[AdminChangeRead]:
    _admin_network(request, actor)
    return [AdminChangeRead.model_validate(r) for r in changes.list_changes(session, actor=actor, status=status)]


@router.post("/admin-changes", status_code=201, summary="提交管理员职责变更（安全管理员提交，另一职责确认）")
def propose(data: AdminChangeIn, actor: Signed, session: SessionDep, request: Request) -> AdminChangeRead:
    _admin_network(request, actor)
    row = changes.propose(
        session,
        actor=actor,
        data=data,
        known_permissions=set(request.app.state.registry.permissions()),
        cipher=request.app.state.cipher,
    )
    return AdminChangeRead.model_validate(row)


@router.post("/admin-changes/{change_id}/confirm", summary="确认管理员职责变更（系统管理员或审计管理员）")
def confirm(
    change_id: IdPath, actor: Signed, session: SessionDep, request: Request, settings: SettingsDep
) -> AdminChangeApplied:
    _admin_network(request, actor)
    applied = changes.confirm(
        session,
        actor=actor,
        change_id=change_id,
        settings=settings,
        cipher=request.app.state.cipher,
        known=set(request.app.state.registry.permissions()),
    )
    return AdminChangeApplied(
        change=AdminChangeRead.model_validate(applied.change),
        initial_password=applied.initial_password,
        message=applied.message,
    )


@router.post("/admin-changes/{change_id}/reject", summary="驳回或撤回管理员职责变更")
def reject(
    change_id: IdPath, actor: Signed, session: SessionDep, request: Request, settings: SettingsDep
) -> AdminChangeRead:
    _admin_network(request, actor)
    return AdminChangeRead.model_validate(changes.reject(session, actor=actor, change_id=change_id, settings=settings))
