"""Every code the platform writes into the audit log has a Chinese name, declared by the subsystem
that writes it — so the audit page never shows ``citymgmt.evaluation_export``, ``cm_case`` or a raw
detail key. The source is read (AST): a new ``audit.record(action="…")`` without a label fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhixian.citymgmt.cases.workflow import RULES
from zhixian.labels import LabelBook, Labels, readable
from zhixian.settings import Settings
from zhixian.subsystems import load
from zhixian.web.templating import label_book

SRC = Path(__file__).resolve().parents[2] / "src" / "zhixian"
DOTTED = re.compile(r"[a-z]+(\.[a-z_]+)+")


def _registry():
    return load(Settings(enabled_extensions=["*"]))  # type: ignore[call-arg]


PERMISSIONS = frozenset(_registry().permissions())


@pytest.fixture(scope="module")
def book() -> LabelBook:
    return label_book(_registry())


def _constants(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "record" and getattr(func.value, "id", "") == "audit"


def _written() -> Iterator[tuple[str, str, str, str]]:  # noqa: C901 - one walk of the syntax tree per file
    """(kind, code, owner action, where) for every action, object type and detail key in the source."""
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                kw = {k.arg: k.value for k in node.keywords if k.arg}
                actions = _constants(kw.get("action"))
                if _is_audit_record(node):
                    for action in actions:
                        yield "action", action, action, where
                    owner = actions[0] if actions else (f"{where.split('/', maxsplit=1)[0]}.x" if "/" in where else "x")
                    for object_type in _constants(kw.get("object_type")):
                        yield "object", object_type, owner, where
                    detail = kw.get("detail")
                    if isinstance(detail, ast.Dict):
                        for key in detail.keys:
                            for name in _constants(key):
                                yield "detail", name, owner, where
                else:
                    handed_on = [
                        c for a in node.args for c in _constants(a) if DOTTED.fullmatch(c) and c.count(".") >= 2
                    ]
                    for action in [*actions, *handed_on]:
                        # a subsystem's action handed on to the function that audits it (not a permission)
                        if "." in action and action not in PERMISSIONS and " " not in action:
                            yield "action", action, action, where
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "action" for t in node.targets):
                for action in _constants(node.value):
                    if "." in action:
                        yield "action", action, action, where
            elif (
                isinstance(node, ast.Assign | ast.AnnAssign)
                and "OBJECT_TYPE" in ast.unparse(node).split("=", maxsplit=1)[0]
                and isinstance(node.value, ast.Dict)
            ):
                for value in node.value.values:
                    for object_type in _constants(value):
                        yield "object", object_type, "", where


def test_the_source_scan_finds_what_it_should() -> None:
    found = {(kind, code) for kind, code, _, _ in _written()}
    assert ("action", "citymgmt.evaluation_export") in found
    assert ("action", "catalog.resource.publish") in found  # assigned to a variable first
    assert ("action", "integration.person.lookup") in found  # handed on to the function that audits
    assert ("object", "integration_legal_person") in found  # from a lookup table
    assert ("detail", "uscc") in found
    assert len(found) > 100


def test_every_audit_action_and_object_type_written_has_a_name(book: LabelBook) -> None:
    missing = sorted(
        {
            f"{kind} {code}（{where}）"
            for kind, code, _, where in _written()
            if kind == "action" and not book.action(code)
        }
        | {
            f"{kind} {code}（{where}）"
            for kind, code, _, where in _written()
            if kind == "object" and not book.object_type(code)
        }
    )
    assert not missing, "这些审计代码没有中文名称，请在所属子系统的 labels.py 中登记：\n" + "\n".join(missing)


def test_every_case_workflow_action_has_a_name(book: LabelBook) -> None:
    for code, rule in RULES.items():
        assert book.action(f"citymgmt.case_{code}") == f"案件{rule.label}"


def test_every_detail_key_written_has_a_name(book: LabelBook) -> None:
    missing = sorted(
        f"{key}（{where}）"
        for kind, key, owner, where in _written()
        if kind == "detail" and book.details(owner, {key: 1})[0].label is None
    )
    assert not missing, "这些审计详情字段没有中文名称：\n" + "\n".join(missing)


def test_details_read_as_chinese_lines(book: LabelBook) -> None:
    lines = book.details(
        "citymgmt.case_dispatch",
        {"from": "dispatching", "to": "handling", "suggested": True, "deadline": "2026-11-18T02:00:00+00:00"},
    )
    assert [(d.label, d.value) for d in lines] == [
        ("原状态", "待派遣"),
        ("新状态", "处置中"),
        ("按建议派遣", "是"),
        ("处置时限", "2026-11-18 10:00"),
    ]
    # a nested change (an administrator change's payload) is written out with its keys named too
    nested = book.details("admin_change_propose", {"kind": "user_roles", "payload": {"roles": ["auditor"]}})
    assert [(d.label, d.value) for d in nested] == [("类型", "调整管理员角色"), ("变更内容", "角色：审计管理员")]
    # the same key means different things to different subsystems: the writer's own names win
    assert book.details("integration.source.create", {"kind": "csv"})[0].value == "CSV 文件"
    assert book.details("catalog.system.decision", {"outcome": "granted"})[0].value == "同意"


def test_an_unnamed_code_stays_unnamed_rather_than_guessed() -> None:
    book = LabelBook([Labels("demo", audit_actions={"demo.ok": "好"})])
    assert book.action("demo.ok") == "好"
    assert book.action("demo.other") is None
    assert book.details("demo.ok", {"secret_key": "x"})[0].label is None
    assert readable(None) == "—"
    assert readable([True, False]) == "是、否"
