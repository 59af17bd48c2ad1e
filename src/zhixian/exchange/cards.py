"""Home-page cards of the exchange: what waits for this user, what is late, what runs out soon."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhixian.exchange import requests, usage
from zhixian.platform.actor import Actor
from zhixian.subsystems import HomeCard

if TYPE_CHECKING:
    from zhixian.settings import Settings


def home_cards(session: Session, actor: Actor, settings: Settings) -> list[HomeCard]:  # noqa: ARG001 - the signature is fixed by its caller
    if not actor.can("exchange.view"):
        return []
    cards: list[HomeCard] = []
    if actor.can("exchange.approve") or requests.is_authority(actor):
        _, todo = requests.list_requests(session, actor=actor, box="todo", limit=1)
        _, late = requests.list_requests(session, actor=actor, box="todo", light="red", limit=1)
        cards.append(
            HomeCard(
                title="待办理的共享申请",
                value=todo,
                href="/exchange/requests?box=todo",
                group="数据共享",
                alert=late > 0,
            )
        )
        cards.append(
            HomeCard(
                title="逾期的共享申请",
                value=late,
                href="/exchange/requests?box=todo&light=red",
                group="数据共享",
                alert=late > 0,
            )
        )
    expiring = len(usage.expiring_grants(session, actor=actor))
    cards.append(
        HomeCard(
            title="30 天内到期的授权",
            value=expiring,
            href="/exchange/grants?state=expiring",
            group="数据共享",
            alert=False,
        )
    )
    return cards
