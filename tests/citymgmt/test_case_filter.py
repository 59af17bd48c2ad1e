"""A figure's link is its filter as query parameters: reading the link back gives the same filter, always."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhixian.citymgmt.cases.filters import FILTER_LABELS, CaseFilter, href
from zhixian.citymgmt.config.standards import STATUS_LABELS
from zhixian.errors import Invalid

codes = st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=15)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
maybe_bool = st.none() | st.booleans()
filters = st.builds(
    CaseFilter,
    status=st.none() | st.sampled_from(["open", *STATUS_LABELS]),
    on_hold=st.none() | st.sampled_from(["include", "exclude"]),
    light=st.none() | st.sampled_from(["red", "yellow", "overdue_closed"]),
    source=st.none() | st.just("public") | codes,
    class_code=st.none() | codes,
    department_id=st.none() | st.integers(1, 2**31 - 1),
    street_code=st.none() | st.just("none") | codes,
    grid_code=st.none() | codes,
    reporter_id=st.none() | st.integers(1, 10**6),
    q=st.text(alphabet="编号道路abc 12", max_size=20).map(str.strip),
    reported_from=st.none() | days,
    closed_to=st.none() | days,
    filed=maybe_bool,
    on_time=maybe_bool,
    held=maybe_bool,
    mine=st.booleans(),
)


@settings(deadline=None)  # two cores shared by the whole suite: timing says nothing here
@given(filters)
def test_a_filter_survives_the_round_trip_through_its_link(flt: CaseFilter) -> None:
    assert CaseFilter.from_params(flt.to_params()) == flt
    assert href(flt).startswith("/citymgmt/cases")


def test_every_filter_field_has_a_chinese_label() -> None:
    assert {f.name for f in fields(CaseFilter)} == set(FILTER_LABELS)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"closed_from": "2026-02-30"}, "closed_from", "结案起"),
        ({"department_id": "zfj"}, "department_id", "处置部门"),
        ({"status": "finished"}, "status", "状态"),
        ({"reworked": "maybe"}, "reworked", "返工过"),
        ({"grid_code": "<script>"}, "grid_code", "网格"),
    ],
)
def test_a_bad_condition_is_named_in_chinese(params: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        CaseFilter.from_params(params)
    assert caught.value.errors[0].field == field
    assert words in caught.value.errors[0].message


def test_empty_values_mean_no_condition() -> None:
    assert CaseFilter.from_params({f.name: "" for f in fields(CaseFilter)}) == CaseFilter()
    assert CaseFilter.from_params({"status": "  ", "page": "2"}) == CaseFilter()
