"""运行参数: the centre's tunable settings, stored rows over the shipped defaults of ``standards``.

A leaf module so photos, intake, workflow and evaluation can all read it without import cycles;
``service`` re-exports both functions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.models import ConfigValue
from zhixian.citymgmt.standards import DEFAULT_CONFIG
from zhixian.errors import Invalid
from zhixian.platform import audit
from zhixian.platform.actor import Actor

__all__ = ["config", "set_config"]


def config(session: Session) -> dict[str, Any]:
    values = dict(DEFAULT_CONFIG)
    for row in session.execute(select(ConfigValue)).scalars():
        values[row.key] = row.value
    return values


def set_config(session: Session, *, actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    actor.require("citymgmt.config")
    if "weights" in changes and changes["weights"] is not None:
        weights = {**DEFAULT_CONFIG["weights"], **changes["weights"]}
        if abs(sum(weights.values()) - 1.0) > 1e-6 or min(weights.values()) < 0:
            raise Invalid("综合评价权重必须非负且合计为 1", field="weights")
        changes["weights"] = weights
    for key, value in changes.items():
        if value is None or key not in DEFAULT_CONFIG:
            continue
        row = session.get(ConfigValue, key) or ConfigValue(key=key)
        row.value = value
        session.add(row)
    audit.record(session, actor.audit, action="citymgmt.config", object_type="citymgmt_config", detail=changes)
    session.flush()
    return config(session)
