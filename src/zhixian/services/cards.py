"""Home-page cards: the window's queue, the approver's work, what runs late; each opens exactly its list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhixian.platform.actor import Actor
from zhixian.services.applications import service as applications
from zhixian.services.ratings import service as ratings
from zhixian.subsystems import HomeCard

if TYPE_CHECKING:
    from zhixian.settings import Settings

GROUP = "政务服务"


def _card(
    session: Session, actor: Actor, title: str, flt: applications.ApplicationFilter, *, alert: bool = False
) -> HomeCard:
    _, n = applications.list_applications(session, actor=actor, flt=flt, limit=0)
    return HomeCard(
        title=title, value=n, href="/services/applications?" + flt.query_string(), group=GROUP, alert=alert and n > 0
    )


def home_cards(session: Session, actor: Actor, settings: Settings) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if actor.can(applications.WINDOW):
        cards.append(
            _card(session, actor, "待受理的办件", applications.ApplicationFilter(box="intake", status="received"))
        )
        cards.append(
            _card(session, actor, "待补正的办件", applications.ApplicationFilter(box="intake", status="correction"))
        )
    if actor.can(applications.APPROVE):
        cards.append(
            _card(session, actor, "待审查的办件", applications.ApplicationFilter(box="handling", status="accepted"))
        )
        cards.append(
            _card(session, actor, "逾期的办件", applications.ApplicationFilter(box="handling", light="red"), alert=True)
        )
    if actor.can(ratings.HEAD):
        cards.append(
            _card(
                session, actor, "临期的办件", applications.ApplicationFilter(box="handling", light="yellow"), alert=True
            )
        )
        bad = ratings.RatingFilter(bad=True)
        _, n = ratings.list_ratings(session, actor=actor, settings=settings, flt=bad, limit=0)
        cards.append(HomeCard(title="收到的差评", value=n, href="/services/ratings?" + bad.query_string(), group=GROUP))
        _, n = ratings.list_rectifications(session, actor=actor, status="open", limit=0)
        cards.append(
            HomeCard(
                title="待整改的差评", value=n, href="/services/rectifications?status=open", group=GROUP, alert=n > 0
            )
        )
    return cards
