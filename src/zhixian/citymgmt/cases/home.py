"""Home-page cards: what each operations role acts on first; every figure opens its case list."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.cases.pages import ops_figures
from zhixian.platform.actor import Actor
from zhixian.subsystems import HomeCard

GROUP = "数字城管"


def home_cards(session: Session, actor: Actor, _settings: Any) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if actor.can("citymgmt.view"):
        f = ops_figures(session)
        cards += [
            HomeCard(title="在办案件", value=f["open"], href="/citymgmt/cases?status=open", group=GROUP),
            HomeCard(
                title="超期（红灯）",
                value=f["red"],
                href="/citymgmt/cases?light=red",
                group=GROUP,
                alert=f["red"] > 0,
            ),
            HomeCard(title="临期（黄灯）", value=f["yellow"], href="/citymgmt/cases?light=yellow", group=GROUP),
        ]
        if actor.can("citymgmt.accept"):
            cards.append(
                HomeCard(
                    title="待受理",
                    value=f["to_accept"],
                    href="/citymgmt/cases?status=reported",
                    group=GROUP,
                    alert=f["to_accept"] > 0,
                )
            )
        if actor.can("citymgmt.dispatch"):
            cards.append(
                HomeCard(
                    title="待派遣",
                    value=f["to_dispatch"],
                    href="/citymgmt/cases?status=dispatching",
                    group=GROUP,
                    alert=f["to_dispatch"] > 0,
                )
            )
    if actor.can("citymgmt.report") or actor.can("citymgmt.handle"):
        _, mine = service.list_cases(session, actor=actor, flt=service.CaseFilter(mine=True), limit=1)
        _, late = service.list_cases(session, actor=actor, flt=service.CaseFilter(mine=True, light="red"), limit=1)
        cards += [
            HomeCard(title="我的待办", value=mine, href="/citymgmt/my", group=GROUP),
            HomeCard(title="我的待办中已超期", value=late, href="/citymgmt/my", group=GROUP, alert=late > 0),
        ]
    return cards
