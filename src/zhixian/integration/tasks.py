"""Jobs: the scheduler tick (queues due sources, feeds the worker) and the daily quality snapshot with overdue flags."""

from __future__ import annotations

import logging
from typing import Any

from zhixian.clock import utcnow
from zhixian.integration import quality, schedule, service, worker
from zhixian.platform.actor import system_actor

log = logging.getLogger("zhixian.integration")

SYSTEM_PERMS = frozenset({"platform.scope.county", "catalog.review", "integration.view", "integration.run"})


def start_system_run(node: Any, source_id: int, *, trigger: str) -> int:
    actor = system_actor(SYSTEM_PERMS)
    with node.db.transaction() as session:
        return service.start_run(session, actor=actor, source_id=source_id, trigger=trigger).id


def scheduler(node: Any) -> list[int]:
    """Queues every source whose cron time has come, and hands queued runs to the worker.

    Runs queued before a restart are picked up here too; the worker's atomic claim means a run
    submitted twice (or by two processes) still executes once. Returns the runs started now.
    """
    now = utcnow()
    with node.db.transaction() as session:
        due = [s.id for s in service.due_sources(session, now)]
        for s in service.due_sources(session, now):
            s.next_run_at = schedule.next_after(s.schedule, now)
    started = []
    for source_id in due:
        try:
            started.append(start_system_run(node, source_id, trigger="schedule"))
        except Exception:  # e.g. a previous run of this source is unfinished: a failing source does not stop others
            log.exception("scheduled run of source %s could not start", source_id)
    for run_id in worker.queued_runs(node.db):
        worker.submit(node, run_id)
    return started


def quality_daily(node: Any) -> int:
    with node.db.transaction() as session:
        return len(quality.daily(session))
