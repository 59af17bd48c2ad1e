"""Finding business systems in the registry: search, filters and paging for the registry page, and the
catalogue resources each system provides. The registry's rules (who may register, upward applications)
stay in ``service``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog.models import BusinessSystem, Resource
from zhixian.catalog.service import visible
from zhixian.platform.actor import Actor


@dataclass
class SystemFilter:
    q: str = ""
    builder_level: str | None = None
    access_status: str | None = None
    department_id: int | None = None


def page_systems(
    session: Session, *, actor: Actor, flt: SystemFilter, offset: int = 0, limit: int = 50
) -> tuple[list[BusinessSystem], int]:
    """One page of the registry, searched by name, code, builder, deployment or data held."""
    actor.require("catalog.view")
    stmt = select(BusinessSystem)
    words = flt.q.split()
    for word in words:
        like = f"%{word}%"
        stmt = stmt.where(
            or_(
                BusinessSystem.name.ilike(like),
                BusinessSystem.code.ilike(like),
                BusinessSystem.builder.ilike(like),
                BusinessSystem.deployment.ilike(like),
                BusinessSystem.data_held.ilike(like),
            )
        )
    for column, value in (
        (BusinessSystem.builder_level, flt.builder_level),
        (BusinessSystem.access_status, flt.access_status),
        (BusinessSystem.department_id, flt.department_id),
    ):
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.options(selectinload(BusinessSystem.applications))
        .order_by(BusinessSystem.code)
        .offset(offset)
        .limit(limit)
    ).scalars()
    return list(rows), total


def system_resources(session: Session, *, actor: Actor, system_id: int) -> list[Resource]:
    """The catalogue resources a system provides, as far as the actor may see them."""
    actor.require("catalog.view")
    stmt = select(Resource).where(Resource.system_id == system_id, visible(actor)).order_by(Resource.code)
    return list(session.execute(stmt).scalars())
