"""Home-page cards: what each operations role acts on first; every figure opens its case list.

The figures are defined in ``cases.figures``, the same ones the operations view shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.figures import home_figures
from zhixian.platform.actor import Actor
from zhixian.subsystems import HomeCard

GROUP = "数字城管"


def home_cards(session: Session, actor: Actor, _settings: Any) -> list[HomeCard]:
    return [
        HomeCard(title=f.title, value=f.value, href=f.href, group=GROUP, alert=f.alert)
        for f in home_figures(session, actor=actor)
    ]
