"""Every audit action the exchange writes has a Chinese name: the steps of requests, grants and applications
(``timeline.step`` composes their codes, so the platform-wide source scan cannot see them) and gateway calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhixian.exchange import policy
from zhixian.exchange.labels import GATEWAY_ACTIONS, LABELS
from zhixian.exchange.models import Application
from zhixian.exchange.timeline import step
from zhixian.labels import LabelBook
from zhixian.platform import audit

SRC = Path(__file__).resolve().parents[2] / "src" / "zhixian" / "exchange"
BOOK = LabelBook([LABELS])


def _steps_in_source() -> set[str]:
    """Step names handed to timeline.step (``action="…"``, a variable set to one, or grants._changed's 4th argument)."""
    found: set[str] = set()
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == "step":
                    found |= {
                        k.value.value for k in node.keywords if k.arg == "action" and isinstance(k.value, ast.Constant)
                    }
                if name == "_changed" and len(node.args) > 3 and isinstance(node.args[3], ast.Constant):
                    found.add(node.args[3].value)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "action" for t in node.targets):
                values = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
                found |= {v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return found


def test_every_step_written_is_declared_and_named() -> None:
    written = _steps_in_source()
    assert {"submitted", "suspended", "app_created", "checked", "escalated"} <= written  # the scan sees them
    assert written <= set(policy.EVENT_LABELS), written - set(policy.EVENT_LABELS)
    for subject, steps in policy.SUBJECT_EVENTS.items():
        for name in steps:
            assert BOOK.action(f"exchange.{subject}.{name}"), (subject, name)
        assert BOOK.object_type(f"exchange_{subject}")


def test_every_gateway_operation_is_named() -> None:
    assert set(GATEWAY_ACTIONS) == {"list", *policy.OPERATIONS, "export", "export_get", "export_file", "export_run"}
    assert set(GATEWAY_ACTIONS) <= set(policy.CALL_OPERATIONS)
    assert BOOK.action("exchange.gateway.verify") == "共享网关：核验"


def test_a_step_of_the_wrong_record_is_refused_before_it_is_written(db) -> None:
    with pytest.raises(ValueError, match="unknown application step"):
        step(db, audit.SYSTEM, action="suspended", application=Application(id=1))


def test_details_read_as_chinese() -> None:
    lines = BOOK.details("exchange.request.refused", {"note": "无依据", "by": "provider"})
    assert [(d.label, d.value) for d in lines] == [("说明", "无依据"), ("决定方", "提供方")]
    nested = BOOK.details("exchange.application.app_updated", {"after": {"status": "disabled", "daily_quota": 5}})
    assert nested[0].value == "状态：停用；每日配额：5"
