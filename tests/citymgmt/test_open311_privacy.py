"""What an anonymous Open311 reader sees: public cases only, neutral notes, a bounded window, a fair cap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.citymgmt.test_workflow_api import act, report
from zhixian.citymgmt.models import Case
from zhixian.clock import utcnow

REASON = "属物业管理区域，联系人王某 13800001111"


def _citizen_report(http, spot, **extra) -> str:
    lon, lat, _ = spot
    form = {"service_code": "S0102", "lat": str(lat), "long": str(lon), "description": "门口垃圾", **extra}
    resp = http.post("/open311/v2/requests.json", data=form)
    assert resp.status_code == 201, resp.text
    return resp.json()[0]["service_request_id"]


def _case(db, number: str) -> Case:
    return db.execute(select(Case).where(Case.number == number)).scalar_one()


def test_anonymous_reads_never_show_internal_cases_or_notes(as_user, http, spot, db) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    internal = report(inspector, spot).json()
    assert act(acceptor, internal["id"], "reject", note=REASON).json()["status"] == "rejected"
    public_number = _citizen_report(http, spot)
    public_id = _case(db, public_number).id
    assert act(acceptor, public_id, "reject", note=REASON).json()["status"] == "rejected"

    listed = http.get("/open311/v2/requests.json", params={"page_size": 200})
    assert listed.status_code == 200
    rows = listed.json()
    numbers = {r["service_request_id"] for r in rows}
    assert public_number in numbers
    assert internal["number"] not in numbers
    sources = set(db.execute(select(Case.source).where(Case.number.in_(numbers))).scalars())
    assert sources == {"open311"}
    for fmt in ("json", "xml"):
        body = http.get(f"/open311/v2/requests.{fmt}", params={"status": "closed"}).text
        assert "物业管理区域" not in body
        assert "13800001111" not in body
    shown = http.get(f"/open311/v2/requests/{public_number}.json").json()[0]
    assert shown["status"] == "closed"
    assert shown["status_notes"] == "经核实，不予立案"

    # walking the sequential numbers: an internal case answers exactly like a number that does not exist
    walked = http.get(f"/open311/v2/requests/{internal['number']}.json")
    missing = http.get("/open311/v2/requests/CM00000000000.json")
    assert walked.status_code == missing.status_code == 404
    assert walked.json()[0]["description"].replace(internal["number"], "X") == missing.json()[0]["description"].replace(
        "CM00000000000", "X"
    )
    assert http.get(f"/open311/v2/requests/{internal['number']}.xml").status_code == 404
    by_id = http.get("/open311/v2/requests.json", params={"service_request_id": internal["number"]})
    assert by_id.json() == []


def test_the_county_decides_which_sources_are_public(as_user, http, spot) -> None:
    inspector, centre = as_user("inspector01"), as_user("shiftlead")
    number = report(inspector, spot).json()["number"]
    assert http.get(f"/open311/v2/requests/{number}.json").status_code == 404
    saved = centre.put("/api/v1/citymgmt/config", json={"open311_public_sources": ["open311", "inspector"]})
    assert saved.status_code == 200, saved.text
    assert http.get(f"/open311/v2/requests/{number}.json").status_code == 200
    bad = centre.put("/api/v1/citymgmt/config", json={"open311_public_sources": ["everyone"]})
    assert bad.status_code == 422


def test_list_keeps_to_the_90_day_window_and_a_capped_page(http, spot, db) -> None:
    old = _citizen_report(http, spot, description="很久以前的上报")
    long_ago = utcnow() - timedelta(days=400)
    db.execute(update(Case).where(Case.number == old).values(reported_at=long_ago))
    db.flush()
    recent = {r["service_request_id"] for r in http.get("/open311/v2/requests.json").json()}
    assert old not in recent
    too_wide = http.get(
        "/open311/v2/requests.json",
        params={"start_date": (long_ago - timedelta(days=1)).isoformat(), "end_date": utcnow().isoformat()},
    )
    assert too_wide.status_code == 422
    assert "90" in too_wide.json()[0]["description"]
    in_window = http.get(
        "/open311/v2/requests.json",
        params={"start_date": (long_ago - timedelta(days=1)).isoformat()},
    )
    assert old in {r["service_request_id"] for r in in_window.json()}
    assert http.get("/open311/v2/requests.json", params={"page_size": 1000}).status_code == 422
    assert len(http.get("/open311/v2/requests.json", params={"page_size": 1}).json()) <= 1


def test_hourly_cap_counts_an_ipv6_64_once_and_says_when_to_retry(as_user, http, spot) -> None:
    centre = as_user("shiftlead")
    assert centre.put("/api/v1/citymgmt/config", json={"open311_reports_per_hour": 2}).status_code == 200
    lon, lat, _ = spot
    form = {"service_code": "S0102", "lat": str(lat), "long": str(lon)}

    def post(ip: str):
        return http.post("/open311/v2/requests.json", data=form, headers={"X-Forwarded-For": ip})

    assert post("2001:db8:aa:1::1").status_code == 201
    assert post("2001:db8:aa:1:ffff:1:2:3").status_code == 201
    capped = post("2001:db8:aa:1::beef")  # another address, same /64
    assert capped.status_code == 429
    retry = int(capped.headers["Retry-After"])
    assert 3500 <= retry <= 3600
    assert "过于频繁" in capped.json()[0]["description"]
    assert post("2001:db8:aa:2::1").status_code == 201  # the next /64 is someone else
    assert post("198.51.100.7").status_code == 201
    assert post("198.51.100.8").status_code == 201  # IPv4 counts per address
