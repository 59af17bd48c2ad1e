"""Jobs: deadline reminders and escalation of sharing requests, grant expiry notes, purge of old nonces."""

from __future__ import annotations

from typing import Any

from zhixian.clock import local_today, utcnow
from zhixian.exchange import corrections, grants, limits, requests


def deadlines(node: Any) -> dict[str, int]:
    """Every few minutes: remind before a stage's deadline, escalate once it has passed."""
    with node.db.transaction() as session:
        done = requests.deadlines(session, now=utcnow())
        done["expired"] = grants.expire(session, today=local_today())
    return done


def purge(node: Any) -> tuple[int, int]:
    """Nonces whose timestamps could no longer be accepted, and rate buckets that have closed."""
    with node.db.transaction() as session:
        return limits.purge(session, utcnow())


def correction_deadlines(node: Any) -> dict[str, int]:
    """Every few minutes: remind providers of 数据异议 near their deadline, escalate the late ones."""
    with node.db.transaction() as session:
        return corrections.deadlines(session, now=utcnow())
