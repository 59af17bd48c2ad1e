"""The outbox job: every half minute, send what is due to peers (a node without a key has nothing to send)."""

from __future__ import annotations

from typing import Any

from zhixian.exchange.federation import keys, transport


def deliver(node: Any) -> int:
    try:
        key = keys.load(node.settings.data_dir)
    except keys.KeyMissing:
        return 0
    return transport.deliver(node.db, settings=node.settings, key=key)
