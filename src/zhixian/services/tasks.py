"""Jobs: escalate rectification tasks of bad ratings once their working-day limit has passed; tell citizens
whose reported problem has closed; delete ended citizen sessions and old sign-in codes."""

from __future__ import annotations

from typing import Any

from zhixian.clock import utcnow
from zhixian.services.portal import reports, sessions
from zhixian.services.ratings import service as ratings


def escalate(node: Any) -> int:
    with node.db.transaction() as session:
        return ratings.escalate(session, now=utcnow())


def report_closed(node: Any) -> int:
    with node.db.transaction() as session:
        return reports.notify_closed(session)


def citizen_purge(node: Any) -> int:
    with node.db.transaction() as session:
        return sessions.purge(session, settings=node.settings)
