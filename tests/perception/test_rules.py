"""The rule engine alone (no broker, no database): editors' input is checked field by field, and a
threshold with hysteresis never flaps on values that wander inside its band."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhixian.errors import Invalid
from zhixian.perception.sensors import rules

KEYS = {"level": {}}


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("threshold", {"op": "=>", "value": 1}, "op"),
        ("threshold", {"op": ">=", "levels": [{"level": "黄", "value": 2}, {"level": "红", "value": 1}]}, "levels"),
        ("threshold", {"op": ">=", "levels": [{"level": "紫", "value": 1}]}, "levels"),
        ("threshold", {"op": ">=", "value": "很高"}, "value"),
        ("threshold", {"op": ["x"], "value": 1}, "op"),
        ("threshold", {"value": 1, "severity": {"a": 1}}, "severity"),
        ("duration", {"op": ">", "value": 1, "minutes": 0}, "minutes"),
        ("repeat", {"op": ">", "value": 1, "count": 0}, "count"),
        ("rate", {"change": 0.1, "direction": "sideways"}, "direction"),
        ("offline", {"minutes": 0}, "minutes"),
        ("bogus", {}, "kind"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(kind, params, field) -> None:
    with pytest.raises(Invalid) as caught:
        rules.check(kind, "level", params, KEYS)
    assert caught.value.errors[0].field == field


def test_a_rule_on_a_key_the_profile_lacks_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        rules.check("threshold", "depth", {"value": 1}, KEYS)
    assert caught.value.errors[0].field == "key"


def test_levels_map_warning_colours_to_severities() -> None:
    spec = rules.RuleSpec(
        "w",
        "水位",
        "threshold",
        "level",
        rules.check("threshold", "level", {"levels": [{"level": "蓝", "value": 1}, {"level": "红", "value": 3}]}, KEYS),
    )
    assert [(lv.colour, lv.severity) for lv in spec.levels] == [("蓝", "warning"), ("红", "critical")]


@given(st.lists(st.floats(min_value=9.0, max_value=10.99), min_size=1, max_size=60))
def test_values_inside_the_hysteresis_band_never_clear_a_raised_alarm(values) -> None:
    spec = rules.RuleSpec(
        "t", "超限", "threshold", "v", {"op": ">=", "value": 11, "hysteresis": 2, "severity": "major"}
    )
    state: dict = {}
    t = datetime(2026, 11, 18, tzinfo=UTC)
    assert rules.evaluate(spec, state, t, 11.0).action == "raise"
    for i, v in enumerate(values):
        assert rules.evaluate(spec, state, t + timedelta(minutes=i + 1), v) is None
    assert rules.evaluate(spec, state, t + timedelta(hours=2), 8.99).action == "clear"
