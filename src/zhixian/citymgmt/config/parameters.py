"""运行参数: the centre's tunable settings, stored rows over the shipped defaults of ``standards``.

A leaf module so photos, intake, workflow and evaluation can all read it without import cycles;
``service`` re-exports its functions. Secrets among the parameters (the Open311 api_keys) are
write-only: ``config`` is for the code that checks them, everything shown to a person or returned by
the API goes through ``shown_config``, which says only that a key is set and how to tell keys apart.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.config.standards import DEFAULT_CONFIG
from zhixian.citymgmt.models import ConfigValue
from zhixian.errors import Invalid
from zhixian.platform import audit
from zhixian.platform.actor import Actor

__all__ = ["MAX_API_KEYS", "config", "key_fingerprint", "set_config", "shown_config"]

SECRET_LISTS = ("open311_api_keys",)
MAX_API_KEYS = 50
_ENDING_FROM = 16  # keys this long may show their last 4 characters; shorter ones would give away too much


def config(session: Session) -> dict[str, Any]:
    """Every parameter with its real value, secrets included: for checks, never for display."""
    values = dict(DEFAULT_CONFIG)
    for row in session.execute(select(ConfigValue)).scalars():
        values[row.key] = row.value
    return values


def key_fingerprint(key: str) -> str:
    """A short, stable name for a key (its SHA-256 prefix), so a key can be told apart and removed."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _described(key: str) -> dict[str, str]:
    return {"fingerprint": key_fingerprint(key), "ending": key[-4:] if len(key) >= _ENDING_FROM else ""}


def shown_config(session: Session) -> dict[str, Any]:
    """The parameters as they may be shown: each secret key only as its fingerprint and, if long, its ending."""
    values = config(session)
    for name in SECRET_LISTS:
        values[name] = [_described(str(k)) for k in values.get(name) or []]
    return values


def _merged_keys(current: list[str], changes: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Replace, remove (by fingerprint) and add api_keys; the audit sees fingerprints only."""
    keys = list(changes.pop("open311_api_keys", None) or []) if "open311_api_keys" in changes else list(current)
    remove = changes.pop("open311_api_keys_remove", None) or []
    add = changes.pop("open311_api_keys_add", None) or []
    known = {key_fingerprint(k) for k in keys}
    unknown = [f for f in remove if f not in known]
    if unknown:
        raise Invalid(f"没有指纹为 {unknown[0]} 的 api_key", field="open311_api_keys_remove")
    keys = [k for k in keys if key_fingerprint(k) not in set(remove)]
    keys += [k for k in dict.fromkeys(add) if k not in keys]
    if len(keys) > MAX_API_KEYS:
        raise Invalid(f"api_key 最多 {MAX_API_KEYS} 个", field="open311_api_keys_add")
    before, after = {key_fingerprint(k) for k in current}, {key_fingerprint(k) for k in keys}
    summary = {"added": sorted(after - before), "removed": sorted(before - after), "count": len(keys)}
    return keys, summary


def set_config(session: Session, *, actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    actor.require("citymgmt.config")
    changes = dict(changes)
    if "weights" in changes and changes["weights"] is not None:
        weights = {**DEFAULT_CONFIG["weights"], **changes["weights"]}
        if abs(sum(weights.values()) - 1.0) > 1e-6 or min(weights.values()) < 0:
            raise Invalid("综合评价权重必须非负且合计为 1", field="weights")
        changes["weights"] = weights
    detail = {k: v for k, v in changes.items() if not k.startswith(SECRET_LISTS)}
    if any(k.startswith(SECRET_LISTS) for k in changes):
        current = [str(k) for k in config(session).get("open311_api_keys") or []]
        changes["open311_api_keys"], detail["open311_api_keys"] = _merged_keys(current, changes)
    for key, value in changes.items():
        if value is None or key not in DEFAULT_CONFIG:
            continue
        row = session.get(ConfigValue, key) or ConfigValue(key=key)
        row.value = value
        session.add(row)
    audit.record(session, actor.audit, action="citymgmt.config", object_type="citymgmt_config", detail=detail)
    session.flush()
    return shown_config(session)
