"""Chinese names for the codes a subsystem writes: audit actions, object types, detail keys and values.

Each subsystem declares its own next to the code that writes them and contributes them as
``contributions={"labels": [Labels(...)]}``; the platform only merges them (``LabelBook``), so a new
subsystem never edits a dictionary in the platform. Pages show the name, with the code beside it
where a code helps (``zhixian.web.templating`` turns these into filters). Nothing here imports the web
layer: exports and services use the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from zhixian.clock import LOCAL_TZ


@dataclass(frozen=True)
class Labels:
    """One subsystem's names. ``subsystem`` is the prefix of its audit actions (``citymgmt.case_file``);
    the platform's own actions have no prefix and use ``subsystem="platform"``.

    - ``audit_actions``: action code → what happened (``"citymgmt.evaluation_export": "导出综合评价"``)
    - ``object_types``: object type → its name (``"cm_case": "案件"``)
    - ``object_links``: object type → page of one object, ``{id}`` replaced (``"/citymgmt/cases/{id}"``)
    - ``object_ids``: object type → object id → name, where ids are words (``"evaluation": {"region": "区域评价"}``)
    - ``detail_keys``: key in an audit record's detail → its name (``"rows": "行数"``)
    - ``detail_values``: key → value code → name, for keys whose values are codes (``"to": {"closed": "已结案"}``)
    - ``fields``: a list filter's query parameter → its name, for the tags that say what a list is filtered by
    """

    subsystem: str
    audit_actions: Mapping[str, str] = field(default_factory=dict)
    object_types: Mapping[str, str] = field(default_factory=dict)
    object_links: Mapping[str, str] = field(default_factory=dict)
    object_ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    detail_keys: Mapping[str, str] = field(default_factory=dict)
    detail_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Detail:
    """One line of an audit record's detail, ready to show: the key's name (or None when nobody named
    it: the page shows the key as a code), the key itself and the value as text."""

    label: str | None
    key: str
    value: str


class LabelBook:
    """Every enabled subsystem's labels, merged. A code nobody named is returned as None, never as a
    made-up name: the caller shows "未登记" with the code beside it (and the label test fails)."""

    def __init__(self, labels: Iterable[Labels], subsystem_names: Mapping[str, str] | None = None) -> None:
        self._by_subsystem: dict[str, Labels] = {}
        self.audit_actions: dict[str, str] = {}
        self.object_types: dict[str, str] = {}
        self.object_links: dict[str, str] = {}
        self.object_ids: dict[str, Mapping[str, str]] = {}
        self.fields: dict[str, str] = {}
        self.subsystem_names = dict(subsystem_names or {})
        for item in labels:
            known = self._by_subsystem.get(item.subsystem)
            self._by_subsystem[item.subsystem] = _merged(known, item) if known else item
            self.audit_actions.update(item.audit_actions)
            self.object_types.update(item.object_types)
            self.object_links.update(item.object_links)
            self.object_ids.update(item.object_ids)
            self.fields.update(item.fields)

    def action(self, code: str) -> str | None:
        return self.audit_actions.get(code)

    def field(self, code: str) -> str | None:
        return self.fields.get(code)

    def object_type(self, code: str) -> str | None:
        return self.object_types.get(code)

    def object_id(self, object_type: str, object_id: str) -> str:
        """An object's id as shown: its name where the id is a word, else the id itself."""
        return self.object_ids.get(object_type, {}).get(object_id, object_id)

    def object_href(self, object_type: str, object_id: str) -> str | None:
        pattern = self.object_links.get(object_type)
        return pattern.replace("{id}", object_id) if pattern and object_id else None

    def owner(self, action: str) -> str:
        """The subsystem that wrote an action: the prefix before the first dot, else the platform."""
        prefix, dot, _ = action.partition(".")
        return prefix if dot else "platform"

    def details(self, action: str, detail: Mapping[str, Any] | None) -> list[Detail]:
        """An audit record's detail as labelled lines, in the order it was written. Keys are looked up in
        the writing subsystem's labels first, then the platform's (shared words such as 行数); a nested
        mapping (the changed fields of a record) is written out with its keys named the same way."""
        books = [b for b in (self._by_subsystem.get(self.owner(action)), self._by_subsystem.get("platform")) if b]

        def key_name(key: str) -> str | None:
            return next((b.detail_keys[key] for b in books if key in b.detail_keys), None)

        def value_names(key: str) -> Mapping[str, str]:
            return next((b.detail_values[key] for b in books if key in b.detail_values), {})

        def text(key: str, value: Any) -> str:
            if isinstance(value, Mapping):
                parts = [f"{key_name(k) or k}：{text(k, v)}" for k, v in value.items()]
                return "；".join(parts) or "—"
            return readable(value, value_names(key))

        return [Detail(key_name(key), key, text(key, value)) for key, value in (detail or {}).items()]


def _merged(a: Labels, b: Labels) -> Labels:
    """Two declarations for one subsystem (its own, plus names the platform adds at start-up)."""
    return Labels(
        subsystem=a.subsystem,
        audit_actions={**a.audit_actions, **b.audit_actions},
        object_types={**a.object_types, **b.object_types},
        object_links={**a.object_links, **b.object_links},
        object_ids={**a.object_ids, **b.object_ids},
        detail_keys={**a.detail_keys, **b.detail_keys},
        detail_values={**a.detail_values, **b.detail_values},
        fields={**a.fields, **b.fields},
    )


def readable(value: Any, names: Mapping[str, str] | None = None) -> str:  # noqa: PLR0911 - one return per kind of value
    """A stored value as a person reads it: 是/否, lists joined with 、, codes by their names (with the
    code is left out: it is in the record), times in Beijing time, nothing shown as JSON."""
    names = names or {}
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        if value in names:
            return names[value]
        return _time_text(value)
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple | set):
        return "、".join(readable(v, names) for v in value) or "—"
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{readable(v, names)}" for k, v in value.items()) or "—"
    return str(value)


def _time_text(value: str) -> str:
    """ISO timestamps (as audit details store them) in Beijing time; any other text unchanged."""
    if len(value) >= 19 and value[4:5] == "-" and value[10:11] in ("T", " "):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(LOCAL_TZ)
        return moment.strftime("%Y-%m-%d %H:%M")
    if len(value) == 10 and value[4:5] == "-":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return value
