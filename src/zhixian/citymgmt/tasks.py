"""Background jobs of 数字城管."""

from __future__ import annotations

from typing import Any

from zhixian.citymgmt.cases import workflow


def escalate_overdue(node: Any) -> int:
    """Every few minutes: overdue cases get a system supervision order and their department a notice."""
    with node.db.transaction() as session:
        return workflow.escalate_overdue(session)
