"""Working-time engine: expected values below are computed by hand from 08:30–12:00, 13:30–17:30."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhixian.platform.calendar import LOCAL_TZ, MAX_DAYS, WorkingCalendar

HOUR = 3600.0
WARN_2027 = "2027 年的法定节假日安排尚未收录，已按周末休息推算，请管理员核对并补充调整"


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# --- plain weekdays (2026-03-02 is an ordinary Monday) -------------------------------------------


def test_week_of_2026_03_02_is_ordinary() -> None:
    assert date(2026, 3, 2).weekday() == 0
    assert all(chinese_calendar.is_workday(date(2026, 3, d)) for d in range(2, 7))
    assert not chinese_calendar.is_workday(date(2026, 3, 7))
    assert not chinese_calendar.is_workday(date(2026, 3, 8))
    assert chinese_calendar.is_workday(date(2026, 3, 9))


def test_default_day_is_seven_and_a_half_hours(cal: WorkingCalendar) -> None:
    assert cal.day_length == timedelta(hours=7, minutes=30)


def test_add_within_one_morning(cal: WorkingCalendar) -> None:
    result = cal.add(bj(2026, 3, 2, 9, 0), hours=2)
    assert result.at == bj(2026, 3, 2, 11, 0)
    assert result.warnings == ()


def test_result_is_aware_utc(cal: WorkingCalendar) -> None:
    result = cal.add(bj(2026, 3, 2, 9, 0), hours=2)
    assert result.at.tzinfo is UTC
    assert result.at == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def test_start_given_in_utc_is_read_as_beijing_time(cal: WorkingCalendar) -> None:
    # 01:00 UTC is 09:00 in Beijing
    assert cal.add(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), hours=2).at == bj(2026, 3, 2, 11, 0)


def test_add_skips_lunch_break(cal: WorkingCalendar) -> None:
    # 11:00–12:00 is 1 h, the other hour runs 13:30–14:30
    assert cal.add(bj(2026, 3, 2, 11, 0), hours=2).at == bj(2026, 3, 2, 14, 30)


def test_add_skips_evening_and_night(cal: WorkingCalendar) -> None:
    # 16:30–17:30 is 1 h, the rest starts Tuesday 08:30
    assert cal.add(bj(2026, 3, 2, 16, 30), hours=2).at == bj(2026, 3, 3, 9, 30)


def test_deadline_ending_exactly_at_closing_stays_on_that_day(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 16, 30), hours=1).at == bj(2026, 3, 2, 17, 30)


def test_deadline_ending_exactly_at_noon_stays_at_noon(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 11, 0), hours=1).at == bj(2026, 3, 2, 12, 0)


def test_full_day_from_opening_ends_at_closing(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 8, 30), days=1).at == bj(2026, 3, 2, 17, 30)


def test_one_working_day_lands_at_same_clock_time_next_working_day(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 10, 0), days=1).at == bj(2026, 3, 3, 10, 0)


def test_five_working_days_skip_the_weekend(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 10, 0), days=5).at == bj(2026, 3, 9, 10, 0)


def test_days_and_hours_combine(cal: WorkingCalendar) -> None:
    # one day → Tue 10:00, then 2 h → Tue 12:00
    assert cal.add(bj(2026, 3, 2, 10, 0), days=1, hours=2).at == bj(2026, 3, 3, 12, 0)


def test_half_day_is_three_and_three_quarter_hours(cal: WorkingCalendar) -> None:
    # 08:30 + 3.75 h: 3.5 h to noon, 0.25 h after lunch → 13:45
    assert cal.add(bj(2026, 3, 2, 8, 30), days=0.5).at == bj(2026, 3, 2, 13, 45)


def test_zero_amount_returns_start_unchanged_even_off_hours(cal: WorkingCalendar) -> None:
    start = bj(2026, 3, 7, 22, 15)  # Saturday night
    result = cal.add(start, hours=0, days=0)
    assert result.at == start
    assert result.warnings == ()


# --- starting outside working time -----------------------------------------------------------------


def test_start_on_saturday_counts_from_monday_opening(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 7, 10, 0), hours=1).at == bj(2026, 3, 9, 9, 30)


def test_start_on_sunday_counts_from_monday_opening(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 8, 23, 59), hours=4).at == bj(2026, 3, 9, 14, 0)


def test_start_before_opening_counts_from_opening(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 7, 0), hours=1).at == bj(2026, 3, 2, 9, 30)


def test_start_after_closing_counts_from_next_morning(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 19, 0), hours=1).at == bj(2026, 3, 3, 9, 30)


def test_start_during_lunch_counts_from_afternoon_opening(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 2, 12, 30), hours=1).at == bj(2026, 3, 2, 14, 30)


def test_start_friday_evening_lands_monday(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 3, 6, 18, 0), hours=1).at == bj(2026, 3, 9, 9, 30)


# --- National Day 2026 and its 调休 Saturday ------------------------------------------------------


def test_library_knows_national_day_2026() -> None:
    assert chinese_calendar.is_workday(date(2026, 9, 30))
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 9))
    assert date(2026, 10, 10).weekday() == 5
    assert chinese_calendar.is_workday(date(2026, 10, 10))
    # Sunday 2026-09-27 is an ordinary rest day in the published schedule
    assert date(2026, 9, 27).weekday() == 6
    assert not chinese_calendar.is_workday(date(2026, 9, 27))


def test_deadline_skips_national_day_holiday(cal: WorkingCalendar) -> None:
    # 1 h on Wed 30 Sep, Oct 1–7 off, 1 h from Thu 8 Oct 08:30
    assert cal.add(bj(2026, 9, 30, 16, 30), hours=2).at == bj(2026, 10, 8, 9, 30)


def test_deadline_lands_on_makeup_working_saturday(cal: WorkingCalendar) -> None:
    # 1 h on Fri 9 Oct, then Saturday 10 Oct is a working day
    assert cal.add(bj(2026, 10, 9, 16, 30), hours=2).at == bj(2026, 10, 10, 9, 30)


def test_working_days_across_national_day_use_makeup_saturday(cal: WorkingCalendar) -> None:
    # working days after Wed 30 Sep: Thu 8, Fri 9, Sat 10 Oct
    assert cal.add(bj(2026, 9, 30, 10, 0), days=3).at == bj(2026, 10, 10, 10, 0)
    # and the next one skips Sunday 11 Oct
    assert cal.add(bj(2026, 9, 30, 10, 0), days=4).at == bj(2026, 10, 12, 10, 0)


def test_sunday_before_national_day_is_not_worked(cal: WorkingCalendar) -> None:
    assert not cal.is_workday(date(2026, 9, 27))
    # Saturday 26 Sep 10:00 + 1 h: 26th and 27th both off → Monday 28 Sep 09:30
    assert cal.add(bj(2026, 9, 26, 10, 0), hours=1).at == bj(2026, 9, 28, 9, 30)


# --- Spring Festival 2026 -------------------------------------------------------------------------


def test_library_spring_festival_2026_schedule() -> None:
    assert chinese_calendar.is_workday(date(2026, 2, 13))
    assert date(2026, 2, 14).weekday() == 5
    assert chinese_calendar.is_workday(date(2026, 2, 14))  # 调休 Saturday
    assert not any(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(date(2026, 2, 24))
    assert chinese_calendar.get_holiday_detail(date(2026, 2, 17)) == (True, "Spring Festival")


def test_deadline_uses_saturday_before_spring_festival(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 2, 13, 16, 30), hours=2).at == bj(2026, 2, 14, 9, 30)


def test_deadline_skips_spring_festival_holiday(cal: WorkingCalendar) -> None:
    # 1 h on Sat 14 Feb, Feb 15–23 off → Tue 24 Feb 09:30
    assert cal.add(bj(2026, 2, 14, 16, 30), hours=2).at == bj(2026, 2, 24, 9, 30)


def test_spring_festival_holiday_contributes_no_working_time(cal: WorkingCalendar) -> None:
    seconds, warnings = cal.working_seconds_between(bj(2026, 2, 14, 17, 30), bj(2026, 2, 24, 8, 30))
    assert seconds == 0
    assert warnings == ()


# --- admin overrides ------------------------------------------------------------------------------


def test_override_makes_monday_a_day_off() -> None:
    cal = WorkingCalendar(overrides={date(2026, 3, 9): False})
    assert not cal.is_workday(date(2026, 3, 9))
    # Fri 6 Mar 16:30 + 2 h: 1 h Friday, weekend and Monday off → Tue 10 Mar 09:30
    assert cal.add(bj(2026, 3, 6, 16, 30), hours=2).at == bj(2026, 3, 10, 9, 30)


def test_override_makes_sunday_a_working_day() -> None:
    cal = WorkingCalendar(overrides={date(2026, 3, 8): True})
    assert cal.is_workday(date(2026, 3, 8))
    assert cal.add(bj(2026, 3, 6, 16, 30), hours=2).at == bj(2026, 3, 8, 9, 30)


def test_override_wins_over_official_holiday() -> None:
    cal = WorkingCalendar(overrides={date(2026, 10, 1): True})
    assert cal.add(bj(2026, 9, 30, 16, 30), hours=2).at == bj(2026, 10, 1, 9, 30)


def test_later_changes_to_override_dict_do_not_leak_in() -> None:
    overrides = {date(2026, 3, 9): False}
    cal = WorkingCalendar(overrides=overrides)
    overrides[date(2026, 3, 9)] = True
    assert not cal.is_workday(date(2026, 3, 9))


# --- years the library does not know -------------------------------------------------------------


def test_library_does_not_know_2027() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_fallback_year_uses_weekends_and_warns_once(cal: WorkingCalendar) -> None:
    # 2027-01-08 is a Friday; 1 h Friday, weekend off → Monday 11 Jan 09:30
    assert date(2027, 1, 8).weekday() == 4
    result = cal.add(bj(2027, 1, 8, 16, 30), hours=2)
    assert result.at == bj(2027, 1, 11, 9, 30)
    assert result.warnings == (WARN_2027,)


def test_fallback_warning_is_deduplicated_over_many_days(cal: WorkingCalendar) -> None:
    # Mon 4 Jan 2027 + 10 working days = Mon 18 Jan
    result = cal.add(bj(2027, 1, 4, 10, 0), days=10)
    assert result.at == bj(2027, 1, 18, 10, 0)
    assert result.warnings == (WARN_2027,)


def test_fallback_treats_weekdays_as_working(cal: WorkingCalendar) -> None:
    assert cal.is_workday(date(2027, 1, 1))  # a Friday; the real New Year holiday is unknown
    assert not cal.is_workday(date(2027, 1, 2))
    assert not cal.is_workday(date(2027, 1, 3))


def test_crossing_into_unknown_year_warns(cal: WorkingCalendar) -> None:
    # Thu 31 Dec 2026 (known, working) 16:30 + 2 h → Fri 1 Jan 2027 (guessed working) 09:30
    result = cal.add(bj(2026, 12, 31, 16, 30), hours=2)
    assert result.at == bj(2027, 1, 1, 9, 30)
    assert result.warnings == (WARN_2027,)


def test_known_year_computation_has_no_warning(cal: WorkingCalendar) -> None:
    assert cal.add(bj(2026, 12, 31, 9, 0), hours=2).warnings == ()
    assert cal.working_seconds_between(bj(2026, 1, 1), bj(2026, 12, 31, 23, 59))[1] == ()


def test_override_on_every_consulted_unknown_day_silences_warning() -> None:
    cal = WorkingCalendar(overrides={date(2027, 1, 4): True})
    result = cal.add(bj(2027, 1, 4, 10, 0), hours=1)
    assert result.at == bj(2027, 1, 4, 11, 0)
    assert result.warnings == ()


def test_override_applies_in_fallback_year() -> None:
    cal = WorkingCalendar(overrides={date(2027, 1, 1): False})
    result = cal.add(bj(2026, 12, 31, 16, 30), hours=2)
    # Jan 1 off by override, Jan 2–3 weekend (guessed) → Mon 4 Jan 09:30
    assert result.at == bj(2027, 1, 4, 9, 30)
    assert result.warnings == (WARN_2027,)


def test_each_unknown_year_gets_its_own_warning(cal: WorkingCalendar) -> None:
    _, warnings = cal.working_seconds_between(bj(2027, 12, 31, 9, 0), bj(2028, 1, 3, 12, 0))
    assert len(warnings) == 2
    assert warnings[0].startswith("2027 年")
    assert warnings[1].startswith("2028 年")


# --- working_seconds_between ---------------------------------------------------------------------


def test_seconds_within_one_morning(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 3, 2, 9, 0), bj(2026, 3, 2, 11, 0)) == (2 * HOUR, ())


def test_seconds_skip_lunch(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 3, 2, 11, 0), bj(2026, 3, 2, 14, 30))[0] == 2 * HOUR


def test_seconds_across_night(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 3, 2, 16, 30), bj(2026, 3, 3, 9, 30))[0] == 2 * HOUR


def test_seconds_over_a_whole_week(cal: WorkingCalendar) -> None:
    seconds, _ = cal.working_seconds_between(bj(2026, 3, 2), bj(2026, 3, 9))
    assert seconds == 5 * 7.5 * HOUR


def test_seconds_across_national_day(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 9, 30, 16, 30), bj(2026, 10, 8, 9, 30))[0] == 2 * HOUR


def test_seconds_reversed_order_is_negative(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 3, 3, 9, 30), bj(2026, 3, 2, 16, 30))[0] == -2 * HOUR


def test_seconds_of_empty_interval_is_zero(cal: WorkingCalendar) -> None:
    assert cal.working_seconds_between(bj(2026, 3, 2, 10), bj(2026, 3, 2, 10)) == (0.0, ())


def test_seconds_over_a_year_match_library_workday_count(cal: WorkingCalendar) -> None:
    workdays = sum(chinese_calendar.is_workday(date(2025, 1, 1) + timedelta(days=i)) for i in range(365))
    started = clock.perf_counter()
    seconds, warnings = cal.working_seconds_between(bj(2025, 1, 1), bj(2026, 1, 1))
    assert clock.perf_counter() - started < 1.0
    assert seconds == workdays * 7.5 * HOUR
    assert warnings == ()


def test_maximum_amount_is_computed_quickly(cal: WorkingCalendar) -> None:
    started = clock.perf_counter()
    result = cal.add(bj(2025, 1, 2, 9, 0), days=MAX_DAYS)
    assert clock.perf_counter() - started < 2.0
    assert result.at.year > 2035
    assert WARN_2027 in result.warnings


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31, 23, 59), timezones=st.just(LOCAL_TZ)
    ),
    hours=st.floats(min_value=0, max_value=120, allow_nan=False, allow_infinity=False),
)
def test_add_then_measure_gives_back_the_hours(start: datetime, hours: float) -> None:
    cal = WorkingCalendar()
    result = cal.add(start, hours=hours)
    seconds, _ = cal.working_seconds_between(start, result.at)
    assert seconds == pytest.approx(hours * HOUR, abs=1e-3)
    assert result.at >= start


# --- bad input -----------------------------------------------------------------------------------


def test_naive_start_is_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="时区"):
        cal.add(datetime(2026, 3, 2, 9, 0), hours=1)


def test_naive_bounds_are_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="时区"):
        cal.working_seconds_between(datetime(2026, 3, 2, 9, 0), bj(2026, 3, 2, 10, 0))
    with pytest.raises(ValueError, match="时区"):
        cal.working_seconds_between(bj(2026, 3, 2, 9, 0), datetime(2026, 3, 2, 10, 0))


def test_negative_hours_are_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="负数"):
        cal.add(bj(2026, 3, 2, 9, 0), hours=-1)


def test_negative_days_are_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="负数"):
        cal.add(bj(2026, 3, 2, 9, 0), days=-0.5)


def test_non_finite_amount_is_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="有限"):
        cal.add(bj(2026, 3, 2, 9, 0), hours=float("nan"))


def test_amount_above_cap_is_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="3650"):
        cal.add(bj(2026, 3, 2, 9, 0), days=MAX_DAYS + 1)
    with pytest.raises(ValueError, match="3650"):
        cal.add(bj(2026, 3, 2, 9, 0), hours=(MAX_DAYS + 1) * 7.5)


def test_datetime_passed_as_day_is_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_workday(bj(2026, 3, 2, 9, 0))


# --- custom periods ------------------------------------------------------------------------------


def test_custom_single_period() -> None:
    cal = WorkingCalendar(periods=[("09:00", "17:00")])
    assert cal.day_length == timedelta(hours=8)
    assert cal.add(bj(2026, 3, 2, 16, 0), hours=2).at == bj(2026, 3, 3, 10, 0)


def test_period_may_run_to_midnight() -> None:
    cal = WorkingCalendar(periods=[("20:00", "24:00")])
    assert cal.add(bj(2026, 3, 2, 23, 0), hours=2).at == bj(2026, 3, 3, 21, 0)


@pytest.mark.parametrize(
    "periods",
    [
        [],
        [("9:00", "12:00")],
        [("12:00", "08:30")],
        [("08:30", "12:00"), ("11:00", "17:30")],
        [("13:30", "17:30"), ("08:30", "12:00")],
        [("25:00", "26:00")],
        [("24:00", "24:00")],
    ],
)
def test_invalid_periods_are_rejected(periods: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(periods=periods)
