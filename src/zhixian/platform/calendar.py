"""Working-time engine: deadlines and elapsed time that count only office hours.

Statutory deadlines (办理时限) run in working days and hours, so weekends, official holidays
and the 调休 working weekends published each year by the State Council must all be honoured.
Pure functions of the calendar and the clock: no database, no web framework.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType

import chinese_calendar

from zhixian.clock import LOCAL_TZ

__all__ = ["DEFAULT_PERIODS", "LOCAL_TZ", "MAX_DAYS", "WorkingCalendar", "WorkingTime"]

DEFAULT_PERIODS: tuple[tuple[str, str], ...] = (("08:30", "12:00"), ("13:30", "17:30"))
MAX_DAYS = 3650
# A span this long is a caller bug, not a business question; refuse rather than spin.
MAX_SPAN = timedelta(days=366 * 20)

_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingTime:
    """A computed instant plus the caveats an operator should see next to it."""

    at: datetime
    warnings: tuple[str, ...]


def _parse_clock(text: str, *, is_end: bool) -> int:
    """Minutes after local midnight; "24:00" is allowed as an end so a shift may run to midnight."""
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"工作时段时间格式应为 HH:MM，收到 {text!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0) and is_end:
        return 24 * 60
    if hour > 23 or minute > 59:
        raise ValueError(f"工作时段时间无效：{text!r}")
    return hour * 60 + minute


def _parse_periods(periods: Sequence[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    """Reject empty, reversed or overlapping periods: any of them would make deadlines meaningless."""
    parsed = tuple((_parse_clock(s, is_end=False), _parse_clock(e, is_end=True)) for s, e in periods)
    if not parsed:
        raise ValueError("至少需要一个工作时段")
    previous_end = -1
    for start, end in parsed:
        if start >= end:
            raise ValueError("工作时段的开始时间必须早于结束时间")
        if start < previous_end:
            raise ValueError("工作时段必须按时间顺序排列且互不重叠")
        previous_end = end
    return parsed


def _require_aware(value: datetime, name: str) -> None:
    # A naive time is ambiguous between server UTC and Beijing time; guessing would shift deadlines by 8 h.
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} 必须带时区信息")


def _fallback_warning(year: int) -> str:
    return f"{year} 年的法定节假日安排尚未收录，已按周末休息推算，请管理员核对并补充调整"


class WorkingCalendar:
    """Working days and office hours of one administration, with admin overrides."""

    def __init__(
        self,
        *,
        periods: Sequence[tuple[str, str]] = DEFAULT_PERIODS,
        overrides: Mapping[date, bool] | None = None,
    ) -> None:
        self._periods = _parse_periods(periods)
        # Copied so later edits to the caller's dict cannot change deadlines already handed out.
        self._overrides: Mapping[date, bool] = MappingProxyType(dict(overrides or {}))

    @property
    def day_length(self) -> timedelta:
        """One working day of effort, so `days=` and `hours=` can be mixed."""
        return timedelta(minutes=sum(end - start for start, end in self._periods))

    def is_workday(self, day: date) -> bool:
        """Overrides win, then the official calendar, then a plain weekend rule."""
        return self._workday(day)[0]

    def add(self, start: datetime, *, hours: float = 0, days: float = 0) -> WorkingTime:
        """Deadline after the given working time; a zero amount returns the start instant (in UTC).

        Off-hours before the start are not counted, and a deadline that uses up a period exactly
        stays at that period's end rather than jumping to the next opening.
        """
        _require_aware(start, "起始时间")
        remaining = self._amount(hours=hours, days=days)
        start_utc = start.astimezone(UTC)
        if remaining <= timedelta(0):
            return WorkingTime(start_utc, ())
        unknown: set[int] = set()
        day = start_utc.astimezone(LOCAL_TZ).date()
        while True:
            spans = self._spans(day)
            if spans[-1][1] > start_utc:
                is_work, unknown_year = self._workday(day)
                if unknown_year is not None:
                    unknown.add(unknown_year)
                if is_work:
                    for period_start, period_end in spans:
                        begin = max(period_start, start_utc)
                        if begin >= period_end:
                            continue
                        available = period_end - begin
                        if remaining <= available:
                            return WorkingTime(begin + remaining, _warnings(unknown))
                        remaining -= available
            day = _next_day(day)

    def working_seconds_between(self, start: datetime, end: datetime) -> tuple[float, tuple[str, ...]]:
        """Office time in [start, end), signed so elapsed and remaining time share one function."""
        _require_aware(start, "起始时间")
        _require_aware(end, "结束时间")
        if end < start:
            seconds, warnings = self.working_seconds_between(end, start)
            return -seconds, warnings
        lo, hi = start.astimezone(UTC), end.astimezone(UTC)
        if hi - lo > MAX_SPAN:
            raise ValueError("时间跨度过长（超过 20 年），无法计算工作时长")
        total = timedelta(0)
        unknown: set[int] = set()
        day = lo.astimezone(LOCAL_TZ).date()
        last_day = hi.astimezone(LOCAL_TZ).date()
        while day <= last_day:
            overlaps = [(max(ps, lo), min(pe, hi)) for ps, pe in self._spans(day) if max(ps, lo) < min(pe, hi)]
            if overlaps:
                is_work, unknown_year = self._workday(day)
                if unknown_year is not None:
                    unknown.add(unknown_year)
                if is_work:
                    total += sum((b - a for a, b in overlaps), timedelta(0))
            day = _next_day(day)
        return total.total_seconds(), _warnings(unknown)

    def _amount(self, *, hours: float, days: float) -> timedelta:
        for label, value in (("小时数", hours), ("天数", days)):
            if not math.isfinite(value):
                raise ValueError(f"{label}必须是有限数值")
            if value < 0:
                raise ValueError(f"{label}不能为负数")
        total_seconds = hours * 3600 + days * self.day_length.total_seconds()
        if total_seconds > MAX_DAYS * self.day_length.total_seconds():
            raise ValueError(f"时限不能超过 {MAX_DAYS} 个工作日")
        return timedelta(seconds=total_seconds)

    def _workday(self, day: date) -> tuple[bool, int | None]:
        """The answer plus the year whose official schedule was missing, if we had to guess."""
        if isinstance(day, datetime):
            # A datetime's .date() depends on its zone; make callers pick the local date explicitly.
            raise TypeError("is_workday 需要 date 而不是 datetime")
        override = self._overrides.get(day)
        if override is not None:
            return bool(override), None
        try:
            return bool(chinese_calendar.is_workday(day)), None
        except NotImplementedError:
            return day.weekday() < 5, day.year

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's periods as UTC instants; computed via the zone so a rule change stays correct."""
        midnight = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
        return [
            (
                (midnight + timedelta(minutes=start)).astimezone(UTC),
                (midnight + timedelta(minutes=end)).astimezone(UTC),
            )
            for start, end in self._periods
        ]


def _next_day(day: date) -> date:
    try:
        return day + _ONE_DAY
    except OverflowError:
        raise ValueError("超出可计算的日期范围") from None


def _warnings(years: set[int]) -> tuple[str, ...]:
    return tuple(_fallback_warning(year) for year in sorted(years))
