"""Schedules (5-field cron, Beijing time) as people read them, and the picker's view of one.

Sources run on "minute hour day month weekday" expressions (``integration.schedule``). Staff pick
"每天 02:00" or "每周一 08:30" on the page; the expression is what is stored. ``describe`` turns any
expression back into words (``0 2 * * *`` → 每天 02:00) and ``picker`` says which picker mode shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

WEEKDAYS = ("周日", "周一", "周二", "周三", "周四", "周五", "周六")  # cron counts Sunday as 0 (and 7)


@dataclass(frozen=True)
class Picked:
    """How the picker shows an expression: mode is none, daily, weekly, hourly, every or custom."""

    mode: str
    hour: int = 2
    minute: int = 0
    weekday: int = 1
    every: int = 15

    @property
    def time(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def _number(part: str, lo: int, hi: int) -> int | None:
    return int(part) if part.isdigit() and lo <= int(part) <= hi else None


def picker(expr: str | None) -> Picked:  # noqa: PLR0911 - one return per picker mode
    """The simple form an expression has, if any: every day/week/hour at a time, or every N minutes."""
    parts = (expr or "").split()
    if not parts:
        return Picked("none")
    if len(parts) != 5:
        return Picked("custom")
    minute_s, hour_s, day, month, weekday_s = parts
    minute, hour = _number(minute_s, 0, 59), _number(hour_s, 0, 23)
    if day != "*" or month != "*":
        return Picked("custom")
    if minute is not None and hour is not None and weekday_s == "*":
        return Picked("daily", hour=hour, minute=minute)
    weekday = _number(weekday_s, 0, 7)
    if minute is not None and hour is not None and weekday is not None:
        return Picked("weekly", hour=hour, minute=minute, weekday=weekday % 7)
    if minute is not None and hour_s == "*" and weekday_s == "*":
        return Picked("hourly", minute=minute)
    step = minute_s.removeprefix("*/")
    if minute_s.startswith("*/") and step.isdigit() and hour_s == "*" and weekday_s == "*" and int(step) >= 1:
        return Picked("every", every=int(step))
    return Picked("custom")


_STEP_UNITS = {"分": "分钟", "时": "小时", "日": "天", "月": "个月", "": "天"}


def _field_words(part: str, unit: str, names: tuple[str, ...] | None = None) -> str:
    """One field of a custom expression in words: 每 15 分钟, 8时至18时, 周一、周三."""
    if part == "*":
        return ""
    step_unit = _STEP_UNITS[unit]
    words = []
    for piece in part.split(","):
        base, _, step = piece.partition("/")
        if base == "*":
            text = f"每 {step} {step_unit}" if step else ""
        else:
            a, dash, b = base.partition("-")
            first = names[int(a) % 7] if names and a.isdigit() else a + ("" if names else unit)
            last = (names[int(b) % 7] if names and b.isdigit() else b + ("" if names else unit)) if dash else ""
            text = f"{first}至{last}" if dash else first
            if step:
                text += f"每隔 {step} {step_unit}"
        if text:
            words.append(text)
    return "、".join(words)


def describe(expr: str | None) -> str:  # noqa: PLR0911 - one return per picker mode
    """A schedule in words, Beijing time; an empty one is 按需运行 (run only when someone starts it)."""
    chosen = picker(expr)
    if chosen.mode == "none":
        return "按需运行"
    if chosen.mode == "daily":
        return f"每天 {chosen.time}"
    if chosen.mode == "weekly":
        return f"每{WEEKDAYS[chosen.weekday]} {chosen.time}"
    if chosen.mode == "hourly":
        return f"每小时第 {chosen.minute} 分"
    if chosen.mode == "every":
        return f"每 {chosen.every} 分钟"
    parts = (expr or "").split()
    if len(parts) != 5:
        return "定时设置无效"
    minute, hour, day, month, weekday = parts
    pieces = [
        _field_words(month, "月"),
        _field_words(day, "日"),
        _field_words(weekday, "", WEEKDAYS),
        _field_words(hour, "时"),
        _field_words(minute, "分"),
    ]
    words = "，".join(p for p in pieces if p)
    return f"自定义：{words}" if words else "每分钟"
