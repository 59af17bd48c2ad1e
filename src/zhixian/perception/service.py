"""城市感知's public surface for other features and the home page; the rules live in the sub-packages.

Other features use perception only through this module and ``zhixian.perception.sensors.schemas``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhixian.perception.sensors import alarms
from zhixian.perception.sensors.escalation import on_case_created
from zhixian.platform.actor import Actor
from zhixian.subsystems import HomeCard

__all__ = ["home_cards", "on_case_created"]

GROUP = "城市感知"


def home_cards(session: Session, actor: Actor, _settings: Any) -> list[HomeCard]:
    """Alarm figures for people who watch or handle them; each opens the alarms behind it."""
    if not actor.can("perception.view"):
        return []
    f = alarms.figures(session, actor=actor)
    cards = [
        HomeCard(title="活动告警", value=f["active"], href="/perception/alarms?status=active", group=GROUP),
        HomeCard(
            title="未确认告警",
            value=f["unacked"],
            href="/perception/alarms?status=active&acknowledged=false",
            group=GROUP,
            alert=f["unacked"] > 0,
        ),
        HomeCard(
            title="离线设备告警",
            value=f["offline"],
            href="/perception/alarms?status=active&rule_kind=offline",
            group=GROUP,
        ),
    ]
    if actor.can("perception.alarm.handle"):
        cards.append(
            HomeCard(
                title="值班告警（未确认）",
                value=f["unacked"],
                href="/perception/alarms?status=active&acknowledged=false",
                group=GROUP,
            )
        )
    return cards
