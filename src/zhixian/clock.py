"""The one clock: every "now" and "today" in zhixian comes from here.

Stored times are UTC; the county's calendar day is Beijing time. Tests and benchmarks move the clock
with ``pin(at)`` so that nothing depends on the day the suite happens to run: the pinned clock keeps
ticking from ``at`` (sessions, timeouts and ordering still see time pass).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_TZ", "local_now", "local_today", "pin", "unpin", "utcnow"]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def local_now() -> datetime:
    return utcnow().astimezone(LOCAL_TZ)


def local_today() -> date:
    return local_now().date()


def pin(at: datetime) -> None:
    """Moves the clock so that now is ``at`` (aware); it keeps running from there."""
    global _offset  # noqa: PLW0603 - one process-wide clock is the point of this module
    if at.tzinfo is None:
        raise ValueError("clock.pin needs an aware datetime")
    _offset = at - datetime.now(UTC)


def unpin() -> None:
    global _offset  # noqa: PLW0603 - see pin()
    _offset = timedelta(0)
