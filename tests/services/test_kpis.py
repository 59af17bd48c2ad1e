"""KPIs a county reports upward: each computed from the records it names, each figure opening exactly the
records it counts, scoped to the viewer's department (the county for data authority and leaders); an
application accepted before 国庆 is due after the holiday and counts as on time when finished by then."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.figures import mismatches
from tests.services.helpers import actor, at, complete_materials, five_material_matter, licensed_person
from zhixian import clock
from zhixian.services import kpis
from zhixian.services.applications import service as applications
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import ApplicationIn, DecisionIn, RatingIn

HTML = {"Accept": "text/html"}


def _by_code(db, node, who: str, period: kpis.Period | None = None) -> dict[str, kpis.Kpi]:
    rows = kpis.kpis(db, actor=actor(db, who), settings=node.settings, period=period or kpis.Period())
    return {k.code: k for k in rows}


def _counts(k: kpis.Kpi) -> tuple[int, int]:
    return k.numerator.value, k.denominator.value


def _finished(db, node, matter, *, skip: int, channel: str = "window"):
    key, name, _ = licensed_person(db, node.cipher, skip=skip)
    window, approver = actor(db, "window01"), actor(db, "mzj_approver")
    data = ApplicationIn(matter_id=matter.id, applicant_key=key, applicant_name=name, consent=True)
    app = applications.create(db, actor=window, settings=node.settings, cipher=node.cipher, data=data)
    app.channel = channel  # online applications come through the portal; the window takes the rest
    complete_materials(db, node, app)
    applications.accept(db, actor=window, settings=node.settings, application_id=app.id)
    applications.review(db, actor=approver, application_id=app.id, note="")
    applications.decide(db, actor=approver, application_id=app.id, data=DecisionIn(decision="approve", note="准予"))
    return app


def test_each_kpi_counts_the_records_it_defines(db, node):
    before = _by_code(db, node, "mzj_head")
    other_before = _by_code(db, node, "scj_head")
    matter = five_material_matter(db, code="330421TEST0000801")  # 20 statutory, 5 promised days
    matter.promised_days = 1  # a 即办件
    app = _finished(db, node, matter, skip=0, channel="online")
    applications.finish(db, actor=actor(db, "mzj_approver"), application_id=app.id)
    bad = _finished(db, node, matter, skip=1)
    applications.finish(db, actor=actor(db, "mzj_approver"), application_id=bad.id)
    window = actor(db, "window01")
    ratings.rate(db, actor=window, settings=node.settings, application_id=app.id, data=RatingIn(grade=5))
    ratings.rate(
        db, actor=window, settings=node.settings, application_id=bad.id, data=RatingIn(grade=1, reasons=["多次跑腿"])
    )
    db.flush()
    after = _by_code(db, node, "mzj_head")

    def delta(code: str) -> tuple[int, int]:
        (a, b), (c, d) = _counts(after[code]), _counts(before[code])
        return a - c, b - d

    assert delta("materials") == (6, 10)  # per application: 2 shared + 1 licence of 5 required, all satisfied
    assert delta("online") == (1, 2)
    assert delta("instant") == (1, 1)
    assert delta("compression") == (1, 1)
    assert delta("on_time") == (2, 2)
    assert delta("good") == (1, 2)
    assert delta("rectified") == (0, 0)  # the new rectification is neither done nor due yet
    assert _counts(_by_code(db, node, "scj_head")["online"]) == _counts(other_before["online"])  # not its department
    assert after["compression"].note != before["compression"].note  # Σ promised and Σ statutory moved
    rate = after["good"].rate
    assert rate is not None
    assert rate == pytest.approx(after["good"].numerator.value / after["good"].denominator.value)


def test_the_period_counts_applications_by_the_day_they_were_received(db, node):
    matter = five_material_matter(db, code="330421TEST0000802")
    today = clock.local_today()
    with at(datetime.combine(today - timedelta(days=40), datetime.min.time(), clock.LOCAL_TZ) + timedelta(hours=10)):
        _finished(db, node, matter, skip=2)
    recent = kpis.Period(since=today - timedelta(days=7))
    old = kpis.Period(since=today - timedelta(days=40), until=today - timedelta(days=40))
    assert _by_code(db, node, "mzj_head", old)["online"].denominator.value >= 1
    in_recent = _by_code(db, node, "mzj_head", recent)["online"].denominator
    _finished(db, node, matter, skip=3)
    assert _by_code(db, node, "mzj_head", recent)["online"].denominator.value == in_recent.value + 1
    assert "since=" in in_recent.href


def test_an_application_accepted_before_the_national_day_is_due_after_it_and_on_time_then(db, node):
    matter = five_material_matter(db, code="330421TEST0000803")
    matter.promised_days = 3
    approver = actor(db, "mzj_approver")
    with at(datetime(2026, 9, 30, 10, 0, tzinfo=clock.LOCAL_TZ)):
        on_time = _finished(db, node, matter, skip=4)
        late = _finished(db, node, matter, skip=5)
    # 30 Sep 10:00 + 3 working days: 1–7 Oct are holidays, Sat 10 Oct is a 调休 working day
    assert on_time.due_at is not None
    assert on_time.due_at.astimezone(clock.LOCAL_TZ).date().isoformat() == "2026-10-10"
    with at(datetime(2026, 10, 10, 9, 0, tzinfo=clock.LOCAL_TZ)):
        applications.finish(db, actor=approver, application_id=on_time.id)
    with at(datetime(2026, 10, 12, 9, 0, tzinfo=clock.LOCAL_TZ)):
        applications.finish(db, actor=approver, application_id=late.id)
    period = kpis.Period(since=datetime(2026, 9, 30).date(), until=datetime(2026, 9, 30).date())
    got = _by_code(db, node, "mzj_head", period)["on_time"]
    yes = applications.ApplicationFilter(
        box="handling", status="done", on_time="yes", since=period.since, until=period.until
    )
    rows, _ = applications.list_applications(db, actor=approver, flt=yes, limit=100)
    assert on_time.id in [r.id for r in rows]
    assert late.id not in [r.id for r in rows]
    assert _counts(got)[1] - _counts(got)[0] >= 1  # the late one is in the denominator only


@pytest.mark.parametrize("who", ["mzj_head", "datahub", "leader"])
def test_every_kpi_figure_opens_a_list_of_exactly_that_many(who, as_user, db, node):
    matter = five_material_matter(db, code="330421TEST0000804")
    app = _finished(db, node, matter, skip=6, channel="online")
    applications.finish(db, actor=actor(db, "mzj_approver"), application_id=app.id)
    ratings.rate(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id, data=RatingIn(grade=4))
    db.flush()
    client = as_user(who)

    def fetch(url: str) -> tuple[int, str]:
        resp = client.get(url, headers=HTML)
        return resp.status_code, resp.text

    since = (clock.local_today() - timedelta(days=30)).isoformat()
    for page in ("/services/kpis", f"/services/kpis?since={since}"):
        status, html = fetch(page)
        assert status == 200
        checked, problems = mismatches(page, html, fetch)
        assert checked == 14, page
        assert problems == []
    report = client.get("/api/v1/services/kpis", params={"since": since}).json()
    assert [k["code"] for k in report["items"]] == [
        "materials",
        "online",
        "instant",
        "compression",
        "on_time",
        "good",
        "rectified",
    ]
    assert report["scope"] == ("department" if who == "mzj_head" else "county")


def test_a_department_head_sees_its_department_and_the_county_sees_more(db, node):
    county = _by_code(db, node, "datahub")
    mine = _by_code(db, node, "mzj_head")
    assert county["instant"].denominator.value > mine["instant"].denominator.value > 0
    assert county["online"].denominator.value >= mine["online"].denominator.value


def test_the_overdue_view_lists_applications_about_to_run_late_and_late_ones_until_finished(db, node):
    matter = five_material_matter(db, code="330421TEST0000805")
    matter.promised_days = 3
    head = actor(db, "mzj_head")
    due = applications.ApplicationFilter(box="handling", light="due")

    def listed(app_id: int) -> bool:
        rows, n = applications.list_applications(db, actor=head, flt=due, limit=1000)
        assert n == len(rows)
        return app_id in [r.id for r in rows]

    with at(datetime(2026, 9, 30, 10, 0, tzinfo=clock.LOCAL_TZ)):
        app = _finished(db, node, matter, skip=7)
        assert not listed(app.id)  # decided, still green
    with at(datetime(2026, 10, 9, 9, 0, tzinfo=clock.LOCAL_TZ)):
        assert listed(app.id)  # yellow: the day before it is due
    with at(datetime(2026, 10, 12, 9, 0, tzinfo=clock.LOCAL_TZ)):
        assert listed(app.id)  # red
        applications.finish(db, actor=actor(db, "mzj_approver"), application_id=app.id)
        assert not listed(app.id)
