"""Named figures of 数字城管: the operations view's cards, the home cards, the map and the source chart.

Each figure is defined once, as a ``CaseFilter``: its value is ``count_cases`` of that filter and its
link is the case list with the same filter, so the number on a card, a grid, a chart slice or a street
is always the total of the list it opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.filters import CaseFilter, href
from zhixian.citymgmt.cases.queries import count_cases, count_cases_by, count_cases_by_with
from zhixian.citymgmt.config.standards import SOURCES
from zhixian.citymgmt.models import Case
from zhixian.clock import local_today, utcnow
from zhixian.platform.actor import Actor

__all__ = ["Figure", "grid_counts", "home_figures", "ops_figures", "source_mix", "street_figures"]


@dataclass(frozen=True)
class Figure:
    """A number on a screen and the list behind it."""

    key: str
    title: str
    value: int
    href: str
    hint: str = ""  # what exactly is counted, for the card's tooltip
    alert: bool = False


RED = CaseFilter(light="red")  # 处置中 past the time limit; every red case is also 在办


# (key, title, filter, hint, alert when > 0); ``today`` is the county's calendar day
def _ops_definitions(today: date) -> list[tuple[str, str, CaseFilter, str, bool]]:
    return [
        ("open", "在办案件", CaseFilter(status="open"), "待受理、核实中、待派遣、处置中、待核查；挂账缓办另计", False),
        ("red", "超期（红灯）", RED, "处置中且已过处置时限", True),
        ("yellow", "临期（黄灯）", CaseFilter(light="yellow"), "处置中，已到预警时间、未过时限", False),
        ("to_accept", "待受理", CaseFilter(status="reported"), "已上报、尚未受理", True),
        ("to_dispatch", "待派遣", CaseFilter(status="dispatching"), "已立案、尚未派遣", True),
        ("on_hold", "挂账缓办", CaseFilter(status="on_hold"), "经值班长批准挂账、暂缓办理", False),
        ("today_in", "今日受理", CaseFilter(reported_from=today, reported_to=today), "今天上报或录入的案件", False),
        (
            "today_closed",
            "今日结案",
            CaseFilter(status="closed", closed_from=today, closed_to=today),
            "今天核查通过并结案的案件",
            False,
        ),
    ]


def _figure(
    session: Session, actor: Actor, now: datetime, key: str, title: str, flt: CaseFilter, hint: str, alert: bool
) -> Figure:
    value = count_cases(session, actor=actor, flt=flt, now=now)
    return Figure(key, title, value, href(flt), hint, alert and value > 0)


def ops_figures(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, Figure]:
    """The operations view's cards, in display order, counted within what the actor may see."""
    now = now or utcnow()
    today = local_today()
    return {d[0]: _figure(session, actor, now, *d) for d in _ops_definitions(today)}


def home_figures(session: Session, *, actor: Actor, now: datetime | None = None) -> list[Figure]:
    """What each operations role acts on first: the centre's queues, a department's or inspector's own work."""
    now = now or utcnow()
    out: list[Figure] = []
    if actor.can("citymgmt.view"):
        ops = ops_figures(session, actor=actor, now=now)
        out += [ops["open"], ops["red"], ops["yellow"]]
        if actor.can("citymgmt.accept"):
            out.append(ops["to_accept"])
        if actor.can("citymgmt.dispatch"):
            out.append(ops["to_dispatch"])
    if actor.can("citymgmt.report") or actor.can("citymgmt.handle"):
        mine = CaseFilter(mine=True)
        n = count_cases(session, actor=actor, flt=mine, now=now)
        out.append(Figure("mine", "我的待办", n, "/citymgmt/my", "待您核实、核查或本部门处置的案件"))
        late = mine.with_(light="red")
        out.append(_figure(session, actor, now, "mine_red", "我的待办中已超期", late, "处置中且已过时限", alert=True))
    return out


def grid_counts(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str | None, tuple[int, int]]:
    """Per grid: (在办, 超期), the same filters as the 在办 and 红灯 cards."""
    counts = count_cases_by_with(
        session, actor=actor, flt=CaseFilter(status="open"), column=Case.grid_code, narrower=[RED], now=now
    )
    return {code: (n, red) for code, (n, red) in counts.items()}


def grid_hrefs(codes: Iterable[str]) -> dict[str, str]:
    """Each grid's 在办 list. The filter is encoded once and the code put in: a map has thousands of
    grids, and encoding each filter afresh cost more than counting their cases."""
    marker = "0GRID0"
    template = href(CaseFilter(status="open", grid_code=marker))
    return {code: template.replace(marker, quote_plus(code)) for code in codes}


def street_figures(
    session: Session, *, actor: Actor, streets: list[tuple[str, str]], now: datetime | None = None
) -> list[Figure]:
    """在办 per street (code, name), each linking to that street's list."""
    flt = CaseFilter(status="open")
    counts = count_cases_by(session, actor=actor, flt=flt, column=Case.street_code, now=now or utcnow())
    return [
        Figure(code, name, counts.get(code, 0), href(flt.with_(street_code=code)), f"{name}在办案件")
        for code, name in streets
    ]


def source_mix(session: Session, *, actor: Actor, start: date, end: date) -> list[dict[str, Any]]:
    """Cases reported from ``start`` to ``end`` (days included) by source: the chart's slices, each a list."""
    flt = CaseFilter(reported_from=start, reported_to=end)
    counts = count_cases_by(session, actor=actor, flt=flt, column=Case.source)
    return [
        {
            "source": source,
            "label": SOURCES.get(source, source),
            "count": n,
            "href": href(flt.with_(source=source)),
        }
        for source, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
