"""A small cron: "minute hour day-of-month month day-of-week" with *, numbers, lists, ranges and */n.

Times are Beijing time. Enough for "every night at 2" (``0 2 * * *``) or "every 15 minutes".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from zhixian.clock import LOCAL_TZ
from zhixian.errors import Invalid

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = ("分钟", "小时", "日", "月", "星期")


def _field(part: str, lo: int, hi: int, name: str) -> frozenset[int]:
    values: set[int] = set()
    for piece in part.split(","):
        step = 1
        if "/" in piece:
            piece, _, step_text = piece.partition("/")  # noqa: PLW2901 - the range part before the step
            if not step_text.isdigit() or int(step_text) < 1:
                raise Invalid(f"定时表达式“{name}”的步长不正确", field="schedule")
            step = int(step_text)
        if piece == "*":
            start, end = lo, hi
        elif "-" in piece:
            a, _, b = piece.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise Invalid(f"定时表达式“{name}”的范围不正确", field="schedule")
            start, end = int(a), int(b)
        elif piece.isdigit():
            start = end = int(piece)
        else:
            raise Invalid(f"定时表达式“{name}”不正确：{piece}", field="schedule")
        if not lo <= start <= end <= hi:
            raise Invalid(f"定时表达式“{name}”超出范围 {lo}–{hi}", field="schedule")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse(expr: str) -> tuple[frozenset[int], ...]:
    parts = expr.split()
    if len(parts) != 5:
        raise Invalid("定时表达式应为 5 段：分 时 日 月 星期（如 0 2 * * * 表示每天 2 点）", field="schedule")
    return tuple(_field(p, lo, hi, n) for p, (lo, hi), n in zip(parts, _BOUNDS, _NAMES, strict=True))


def next_after(expr: str, after: datetime) -> datetime:
    minutes, hours, days, months, weekdays = parse(expr)
    t = after.astimezone(LOCAL_TZ).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        # cron counts Sunday as 0; Python's weekday() has Monday as 0
        if (
            t.minute in minutes
            and t.hour in hours
            and t.day in days
            and t.month in months
            and (t.weekday() + 1) % 7 in weekdays
        ):
            return t
        t += timedelta(minutes=1)
    raise Invalid("定时表达式在一年内没有匹配的时间", field="schedule")
