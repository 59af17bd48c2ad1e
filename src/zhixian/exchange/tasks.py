"""Jobs: deadline reminders and escalation of sharing requests, grant expiry notes, purge of old nonces,
the change feed's sweep and the subscriptions' deliveries."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from zhixian.clock import local_today, utcnow
from zhixian.exchange import corrections, export_run, feed, grants, limits, outbox, requests
from zhixian.exchange.models import ExportJob
from zhixian.exchange.settings_feed import MAX_PENDING, RETRY_BASE, RETRY_CAP, WEBHOOK_TIMEOUT
from zhixian.platform import outbound


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


def feed_sweep(node: Any) -> dict[str, int]:
    """Logs new row versions in the change feed, then queues them for each live subscription (one writer)."""
    with node.db.transaction() as session:
        now = utcnow()
        logged = feed.sweep(session, now=now)
        queued = outbox.enqueue(session, cipher=node.cipher, now=now, max_pending=node.settings.declared(MAX_PENDING))
    return {"logged": logged, "queued": queued}


def deliver(
    node: Any,
    *,
    rounds: int = 50,
    limit: int = 10,
    timeout: float | None = None,
    backoff: outbox.Backoff | None = None,
) -> dict[str, int]:
    """Sends due batches until none is due (or ``rounds`` claims): any number of these may run at once,
    in one process or several; each batch is claimed by one of them."""
    settings = node.settings
    timeout = float(settings.declared(WEBHOOK_TIMEOUT)) if timeout is None else timeout
    backoff = backoff or outbox.Backoff(settings.declared(RETRY_BASE), settings.declared(RETRY_CAP))
    policy = outbound.Policy.of(settings)
    lease = timedelta(seconds=(timeout + 5) * limit + 60)  # outlives every send of the claimed list
    done = {"delivered": 0, "failed": 0, "held": 0}
    for _ in range(rounds):
        with node.db.transaction() as session:
            claimed = outbox.claim(session, now=utcnow(), lease=lease, limit=limit)
        if not claimed:
            break
        for delivery_id, token in claimed:
            with node.db.transaction() as session:
                prepared = outbox.prepare(
                    session, settings=settings, cipher=node.cipher, delivery_id=delivery_id, token=token, now=utcnow()
                )
            if prepared is None:
                done["held"] += 1
                continue
            started = time.perf_counter()
            answer = outbox.send(prepared, policy=policy, timeout=timeout)
            took = int((time.perf_counter() - started) * 1000)
            with node.db.transaction() as session:
                ok = outbox.complete(
                    session, prepared=prepared, answer=answer, now=utcnow(), backoff=backoff, duration_ms=took
                )
            done["delivered" if ok else "failed"] += 1
    return done


def correction_deadlines(node: Any) -> dict[str, int]:
    """Every few minutes: remind providers of 数据异议 near their deadline, escalate the late ones."""
    with node.db.transaction() as session:
        return corrections.deadlines(session, now=utcnow())


def exports_due(node: Any) -> bool:
    """Whether an export waits to be written: the one-server scheduler then writes it in a child process,
    so a million rows of masking do not hold the web process's GIL (``subsystems.Apart``)."""
    with node.db.transaction() as session:
        found = session.execute(select(ExportJob.id).where(export_run.claimable(utcnow())).limit(1)).first()
    return found is not None


def exports(node: Any) -> dict[str, int]:
    """Writes the files of queued bulk exports (any number of workers at once), then deletes expired ones."""
    done = export_run.run_due(node)
    done["expired"] = export_run.purge(node)
    return done
