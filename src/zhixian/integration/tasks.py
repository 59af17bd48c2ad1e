"""Jobs: the scheduler tick (runs due sources) and the daily quality snapshot with overdue flags."""

from __future__ import annotations

import logging
from typing import Any

from zhixian.db import utcnow
from zhixian.integration import pipeline, quality, schedule, service
from zhixian.platform.actor import system_actor

log = logging.getLogger("zhixian.integration")

SYSTEM_PERMS = frozenset({"platform.scope.county", "catalog.review", "integration.view", "integration.run"})


def start_system_run(node: Any, source_id: int, *, trigger: str) -> int:
    actor = system_actor(SYSTEM_PERMS)
    with node.db.transaction() as session:
        return service.start_run(session, actor=actor, source_id=source_id, trigger=trigger).id


def scheduler(node: Any) -> list[int]:
    """Starts every source whose cron time has come; a failing source does not stop the others."""
    now = utcnow()
    with node.db.transaction() as session:
        due = [(s.id, s.schedule) for s in service.due_sources(session, now)]
        for s in service.due_sources(session, now):
            s.next_run_at = schedule.next_after(s.schedule, now)
    started = []
    for source_id, _expr in due:
        try:
            run_id = start_system_run(node, source_id, trigger="schedule")
            pipeline.execute(node.db, node.cipher, run_id, county_code=node.settings.county_code)
            started.append(run_id)
        except Exception:
            log.exception("scheduled run of source %s failed", source_id)
    return started


def quality_daily(node: Any) -> int:
    with node.db.transaction() as session:
        return len(quality.daily(session))
