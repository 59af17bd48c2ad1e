"""A minimal extension: one table, one API route, one page, one permission."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base
from zhixian.platform.actor import Actor
from zhixian.subsystems import MenuItem, Permission, RoleSpec, Subsystem
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

HERE = Path(__file__).parent


class Greeting(Base):
    __tablename__ = "hello_greeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Viewer = Annotated[Actor, Depends(Require("hello.view"))]
api = APIRouter(prefix="/api/v1/hello", tags=["示例扩展"])
pages = APIRouter(include_in_schema=False)


@api.get("/status", summary="示例扩展状态")
def status(actor: Viewer, session: SessionDep) -> dict[str, Any]:
    count = session.execute(select(func.count()).select_from(Greeting)).scalar_one()
    return {"subsystem": "hello", "greetings": count, "user": actor.username}


@pages.get("/hello/")
def page(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    greetings = session.execute(select(Greeting).order_by(Greeting.id)).scalars().all()
    return render(request, "hello/index.html", actor, greetings=greetings)


def seed(session: Session, ctx: Any) -> None:
    if session.execute(select(Greeting.id).limit(1)).first() is None:
        session.add(Greeting(text=f"{ctx.settings.county_name}欢迎你"))
        session.flush()


subsystem = Subsystem(
    code="hello",
    name="示例扩展",
    kind="extension",
    description="第三方扩展示例：独立的表、接口、页面与权限",
    api_router=api,
    page_router=pages,
    templates=HERE / "templates",
    migrations=HERE / "migrations",
    permissions=[Permission("hello.view", "查看示例扩展")],
    roles=[RoleSpec("staff", "一般工作人员", ("hello.view",))],
    menu=[MenuItem("示例扩展", "/hello/", "hello.view", "自选动作")],
    seed=seed,
)
