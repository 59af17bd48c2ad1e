"""Deadlines through the API follow the official calendar and the county's own overrides."""

from __future__ import annotations


def test_deadline_skips_national_day_and_counts_the_adjusted_saturday(as_user) -> None:
    client = as_user("staff")
    # Wednesday 30 Sep 2026, 16:30 Beijing: 1 h left that day; 1–7 Oct are off; 8, 9 and Saturday 10 Oct work
    resp = client.get("/api/v1/calendar/deadline", params={"start": "2026-09-30T16:30:00+08:00", "days": 3})
    assert resp.status_code == 200
    body = resp.json()
    # 3 days x 7.5 h = 22.5 h: 1 h on 30 Sep, 7.5 h on 8 Oct, 7.5 h on 9 Oct, 6.5 h on Sat 10 Oct → 16:30
    assert body["deadline"] == "2026-10-10T08:30:00Z"
    assert body["warnings"] == []


def test_unknown_year_falls_back_to_weekends_with_a_warning(as_user) -> None:
    client = as_user("staff")
    resp = client.get("/api/v1/calendar/deadline", params={"start": "2027-01-04T09:00:00+08:00", "hours": 2})
    assert resp.json()["deadline"] == "2027-01-04T03:00:00Z"
    assert "2027 年" in resp.json()["warnings"][0]


def test_override_turns_a_working_day_off_for_every_deadline(as_user) -> None:
    admin = as_user("sysadmin")
    put = admin.put(
        "/api/v1/calendar/overrides/2026-11-23", json={"day": "2026-11-23", "is_workday": False, "note": "防汛停工"}
    )
    assert put.status_code == 200
    resp = admin.get("/api/v1/calendar/deadline", params={"start": "2026-11-20T17:00:00+08:00", "hours": 1})
    # Friday 17:00 + 1 h: 30 min on Friday, Monday 23rd is now off → Tuesday 09:00
    assert resp.json()["deadline"] == "2026-11-24T01:00:00Z"
    assert admin.delete("/api/v1/calendar/overrides/2026-11-23").status_code == 204


def test_naive_start_time_and_ordinary_users_changing_the_calendar_are_refused(as_user) -> None:
    client = as_user("staff")
    naive = client.get("/api/v1/calendar/deadline", params={"start": "2026-10-09T10:00:00", "hours": 1})
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "start"
    put = client.put("/api/v1/calendar/overrides/2026-11-23", json={"day": "2026-11-23", "is_workday": False})
    assert put.status_code == 403
