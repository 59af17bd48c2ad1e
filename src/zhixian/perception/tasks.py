"""Background jobs of 城市感知: escalation, offline check, case sync, retention, the in-process ingest worker."""

from __future__ import annotations

from typing import Any

from zhixian.citymgmt import service as citymgmt
from zhixian.perception import settings as conf
from zhixian.perception.sensors import escalation, mqtt, readings


def ladder(settings: Any) -> escalation.Ladder:
    return escalation.Ladder(
        notify_minutes=settings.declared(conf.NOTIFY_MINUTES),
        case_minutes=settings.declared(conf.CASE_MINUTES),
        remind_minutes=settings.declared(conf.REMIND_MINUTES),
    )


def intake_options(node: Any) -> escalation.OptionsFor:
    """The hub's intake options on this node (its hooks and channels), for a context."""

    def build(context: dict[str, Any]) -> citymgmt.IntakeOptions:
        return citymgmt.intake_options(node.registry, settings=node.settings, cipher=node.cipher, context=context)

    return build


def escalate(node: Any) -> dict[str, int]:
    """Every minute: notify, remind, open cases for unacknowledged alarms; offline devices; closed cases."""
    options = intake_options(node)
    with node.db.transaction() as session:
        done = escalation.run_ladder(session, options=options, ladder=ladder(node.settings))
    with node.db.transaction() as session:
        done["offline"] = escalation.check_offline(session, options=options)
    with node.db.transaction() as session:
        done["closed"] = escalation.sync_cases(session)
    return done


def retention(node: Any) -> dict[str, int]:
    """Hourly: raw readings and rollups past their retention are deleted."""
    s = node.settings
    with node.db.transaction() as session:
        return readings.purge(
            session,
            raw_days=s.declared(conf.RETENTION_DAYS),
            five_days=s.declared(conf.ROLLUP_5M_DAYS),
            hour_days=s.declared(conf.ROLLUP_1H_DAYS),
        )


def ingest_watchdog(node: Any) -> bool:
    """The one-server default: an ingest worker thread in the web process, restarted if it died."""
    return mqtt.ensure_in_process(node.db, node.settings) is not None
