"""Evaluation periods: what the user picked, the period shown when they picked nothing, and comparisons.

A user's dates are Beijing days with the end day included; indicators take the half-open range of
aware datetimes. Opened without dates, 综合评价 shows the month to date — unless no case dispatched this
month has been closed yet (the first days of a month), when every department would read 0 % and the
20-point floor: then it shows the last complete month, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.filters import CaseFilter, day_bounds, matches
from zhixian.citymgmt.models import Case
from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.errors import Invalid

__all__ = ["Shown", "default_period", "period", "previous_periods", "shown_period"]


def period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """Picked dates (either may be missing) as [start, end) datetimes; checks the order and the span."""
    today = local_today()
    end = end or today
    start = start or end.replace(day=1)
    if end < start:
        raise Invalid("结束日期不能早于开始日期", field="end")
    if (end - start).days > 3660:
        raise Invalid("统计区间不能超过 10 年", field="start")
    return day_bounds(start, end)


@dataclass(frozen=True)
class Shown:
    """The period on screen: its days (both included), how it is named, and why it was chosen."""

    start: date
    end: date
    label: str
    note: str = ""  # set when the page chose a period other than the month to date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return day_bounds(self.start, self.end)


def _label(start: date, end: date, today: date) -> str:
    last_of_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if start.day == 1 and end == last_of_month:
        return f"{start.year}年{start.month}月"
    if start.day == 1 and end == today and start.year == today.year and start.month == today.month:
        days = "1日" if end.day == 1 else f"1日至{end.day}日"
        return f"{start.year}年{start.month}月{days}（本月至今）"
    return f"{start.isoformat()} 至 {end.isoformat()}"


def _has_closures(session: Session, start: date, end: date) -> bool:
    """Whether any case dispatched in the period has been closed: the department figures have a base."""
    flt = CaseFilter(dispatched_from=start, dispatched_to=end, status="closed", closed_to=end)
    found = session.execute(select(Case.id).where(matches(flt, now=utcnow())).limit(1)).first()
    return found is not None


def default_period(session: Session) -> Shown:
    """The month to date, or the last complete month while the current one has nothing closed yet."""
    today = local_today()
    start = today.replace(day=1)
    if _has_closures(session, start, today):
        return Shown(start, today, _label(start, today, today))
    last_end = start - timedelta(days=1)
    last_start = last_end.replace(day=1)
    so_far = f"{today.month}月1日" if today.day == 1 else f"{today.month}月1日至{today.day}日"
    return Shown(
        last_start,
        last_end,
        _label(last_start, last_end, today),
        f"本月至今（{so_far}）派遣的案件尚无结案，各部门得分无从计算，故显示上一个完整月份",
    )


def shown_period(session: Session, start: date | None, end: date | None) -> Shown:
    """The dates the user picked, or the default period when they picked none."""
    if start is None and end is None:
        return default_period(session)
    lo, hi = period(start, end)
    first, last = lo.date(), (hi - timedelta(days=1)).date()
    return Shown(first, last, _label(first, last, local_today()))


def previous_periods(start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """(month-on-month, year-on-year) comparison windows; a calendar month compares with the previous month."""
    s, e = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    if s.day == 1 and e.day == 1 and (e.year * 12 + e.month) - (s.year * 12 + s.month) == 1:
        prev_month = (s.replace(day=1) - timedelta(days=1)).replace(day=1)
        mom = (prev_month, s)
    else:
        mom = (start - (end - start), start)

    def minus_year(d: datetime) -> datetime:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)

    return mom, (minus_year(s), minus_year(e))
