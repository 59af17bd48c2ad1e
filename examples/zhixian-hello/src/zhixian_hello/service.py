"""Rules of the example: its greetings, and what it adds to 数字城管 — only through citymgmt's service and schemas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.schemas import ChannelIntake
from zhixian.platform.actor import Actor
from zhixian.settings import Settings
from zhixian.subsystems import CaseCategory, HomeCard
from zhixian_hello.models import Greeting
from zhixian_hello.schemas import HelloReportIn, HelloReportRead, StatusRead
from zhixian_hello.settings import GREETING

if TYPE_CHECKING:
    from zhixian.citymgmt.models import Case  # the case hook's argument type only

CHANNEL = "hello"  # the intake channel this extension contributes (IntakeSource)
CATEGORIES = [
    CaseCategory(
        code="H0101",
        major="H01",
        major_name="扩展事件·示例",
        name="示例问题",
        filing_standard="示例扩展上报的问题",
        closing_standard="问题已处理",
        limit_value=2,
        limit_unit="days",
        source="hello",
    )
]


def greetings(session: Session, *, actor: Actor) -> list[Greeting]:
    actor.require("hello.view")
    return list(session.execute(select(Greeting).order_by(Greeting.id)).scalars())


def status(session: Session, *, actor: Actor) -> StatusRead:
    actor.require("hello.view")
    count = session.execute(select(func.count()).select_from(Greeting)).scalar_one()
    return StatusRead(subsystem="hello", greetings=count, user=actor.username)


def home_cards(session: Session, actor: Actor, settings: Settings) -> list[HomeCard]:
    """Home-page contribution: how many greetings there are, linking to the page that lists them."""
    if not actor.can("hello.view"):
        return []
    count = session.execute(select(func.count()).select_from(Greeting)).scalar_one()
    return [HomeCard(title=f"问候（{settings.declared(GREETING)}）", value=count, href="/hello/", group="示例扩展")]


def on_case_created(session: Session, case: Case, context: dict[str, Any]) -> None:
    """Case hook: the hub calls it after every new case, in the same transaction."""
    if case.source == CHANNEL:
        session.add(Greeting(text=f"案件 {case.number} 已由示例渠道上报"[:100]))
        session.flush()


def report(session: Session, *, actor: Actor, options: citymgmt.IntakeOptions, data: HelloReportIn) -> HelloReportRead:
    """A case through the contributed channel: the hub checks ``hello.report`` and runs every case hook."""
    intake = ChannelIntake(
        source=CHANNEL, class_code=data.class_code, lon=data.lon, lat=data.lat, description=data.description
    )
    case = citymgmt.intake(session, actor=actor, data=intake, options=options)
    return HelloReportRead(case_id=case.id, number=case.number, source=case.source)


def seed(session: Session, ctx: Any) -> None:
    """Demo seed: the example's case class, and one greeting in the county's name."""
    citymgmt.add_case_classes(session, CATEGORIES)
    if session.execute(select(Greeting.id).limit(1)).first() is None:
        session.add(Greeting(text=f"{ctx.settings.county_name}{ctx.settings.declared(GREETING)}"))
        session.flush()
