"""Indicator formulas against values worked out by hand on a small fixture in March 2020."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.citymgmt.conftest import grid_point
from zhixian.citymgmt.evaluation import export
from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.citymgmt.models import Case, CaseEvent, Task
from zhixian.platform.models import Department, User

BJ = ZoneInfo("Asia/Shanghai")
MARCH = (datetime(2020, 3, 1, tzinfo=BJ), datetime(2020, 4, 1, tzinfo=BJ))


@pytest.fixture
def fixture(db):
    lon, lat, grid = grid_point(db)
    zfj = db.execute(select(Department).where(Department.code == "zfj")).scalar_one()
    insp = db.execute(select(User.id).where(User.username == "inspector01")).scalar_one()
    t0 = datetime(2020, 3, 2, 9, 0, tzinfo=BJ)
    n = 0

    def add(
        *,
        source="inspector",
        reporter=insp,
        filed=True,
        dispatched=True,
        status="closed",
        on_time=True,
        rework=0,
        postpone=0,
        hold=0,
        handle=3600.0,
        at=t0,
        filed_on_time=True,
    ):
        nonlocal n
        n += 1
        c = Case(
            number=f"EV{at.year}{n:04d}",
            source=source,
            kind="event",
            class_code="S0102",
            status=status,
            lon=lon,
            lat=lat,
            grid_code=grid,
            community_code=grid[:12],
            street_code=grid[:9] + "000",
            reporter_id=reporter if source == "inspector" else None,
            reported_at=at,
            filed_at=at + timedelta(minutes=20) if filed else None,
            filed_on_time=filed_on_time if filed else None,
            dispatched_at=at + timedelta(hours=1) if dispatched else None,
            department_id=zfj.id if dispatched else None,
            department_path=zfj.path if dispatched else None,
            deadline=at + timedelta(hours=6) if dispatched else None,
            completed_at=at + timedelta(hours=2) if status == "closed" else None,
            completed_on_time=on_time if status == "closed" else None,
            handle_seconds=handle if status == "closed" else None,
            closed_at=at + timedelta(hours=3) if status == "closed" else None,
            rework_count=rework,
            postpone_count=postpone,
            hold_count=hold,
        )
        db.add(c)
        db.flush()
        if dispatched:
            db.add(CaseEvent(case_id=c.id, step="派遣", department_id=zfj.id, at=c.dispatched_at, actor_name="派遣员"))
        return c

    # March: five cases dispatched to 综合执法局
    add(handle=3600)  # 1 closed on time
    add(rework=1, handle=7200)  # 2 closed on time after rework
    add(on_time=False, handle=36000)  # 3 closed late
    add(status="handling", postpone=1)  # 4 still being handled, postponed once
    returned = add(source="hotline", status="on_hold", hold=1)  # 5 on hold; first sent to zfj and returned
    db.add(
        CaseEvent(
            case_id=returned.id, step="派遣", department_id=zfj.id, at=t0 + timedelta(minutes=50), actor_name="派遣员"
        )
    )
    db.add(
        CaseEvent(
            case_id=returned.id, step="回退", department_id=zfj.id, at=t0 + timedelta(minutes=55), actor_name="处置人员"
        )
    )
    add(filed=False, dispatched=False, status="rejected")  # 6 an invalid report by the inspector
    add(
        source="hotline", dispatched=False, status="dispatching", filed_on_time=False
    )  # 7 public first report, filed late
    # tasks of the inspector
    for kind, late in (
        ("verify", False),
        ("verify", True),
        ("check", False),
        ("check", False),
        ("check", False),
        ("check", True),
    ):
        db.add(
            Task(
                case_id=returned.id,
                kind=kind,
                assignee_id=insp,
                created_at=t0,
                deadline=t0 + timedelta(hours=1),
                done_at=t0 + timedelta(hours=2 if late else 0.5),
            )
        )
    # February: one case closed on time (for month-on-month)
    add(at=datetime(2020, 2, 10, 9, 0, tzinfo=BJ))
    db.flush()
    return {"zfj": zfj.id, "inspector": insp, "grid": grid}


def test_department_indicators_match_hand_computation(db, fixture) -> None:
    rows = {r["department_id"]: r for r in evaluation.department_rows(db, *MARCH)}
    r = rows[fixture["zfj"]]
    assert (r["due"], r["closed"], r["ontime_closed"], r["late_closed"], r["rework"], r["postponed"], r["held"]) == (
        5,
        3,
        2,
        1,
        1,
        1,
        1,
    )
    # base = 应结案数 − 缓办数 = 4
    assert r["ontime_close_rate"] == pytest.approx(2 / 4)
    assert r["close_rate"] == pytest.approx(3 / 4)
    assert r["rework_rate"] == pytest.approx(1 / 4)
    assert r["postpone_rate"] == pytest.approx(1 / 4)
    assert (r["dispatched"], r["returned"]) == (6, 1)
    assert r["accurate_dispatch_rate"] == pytest.approx(5 / 6)
    assert r["avg_handle_hours"] == pytest.approx((1 + 2 + 10) / 3)
    # 0.5×50 + 0.75×30 + (1 − 0.25)×20 = 62.5
    assert r["score"] == pytest.approx(62.5)


def test_composite_weights_are_configurable(db, fixture, node) -> None:
    from zhixian.citymgmt import service
    from zhixian.platform import service as platform

    lead = platform.actor_for(db.execute(select(User).where(User.username == "shiftlead")).scalar_one())
    service.set_config(
        db, actor=lead, changes={"weights": {"ontime_close_rate": 1.0, "close_rate": 0.0, "no_rework_rate": 0.0}}
    )
    r = {r["department_id"]: r for r in evaluation.department_rows(db, *MARCH)}[fixture["zfj"]]
    assert r["score"] == pytest.approx(50.0)
    with pytest.raises(Exception, match="合计为 1"):
        service.set_config(
            db, actor=lead, changes={"weights": {"ontime_close_rate": 0.9, "close_rate": 0.3, "no_rework_rate": 0.2}}
        )


def test_month_on_month_and_year_on_year(db, fixture) -> None:
    data = evaluation.report(db, kind="department", start=MARCH[0], end=MARCH[1])
    r = {r["department_id"]: r for r in data["rows"]}[fixture["zfj"]]
    assert data["mom_period"][0].startswith("2020-02-01")
    assert r["score_mom"] == pytest.approx(62.5 - 100.0)  # February: one case, closed on time
    assert r["score_yoy"] is None  # nothing in March 2019


def test_inspector_indicators_match_hand_computation(db, fixture) -> None:
    r = {r["user_id"]: r for r in evaluation.inspector_rows(db, *MARCH)}[fixture["inspector"]]
    # reports: cases 1,2,3,4,6 by the inspector; valid = filed = 1,2,3,4
    assert (r["reports"], r["valid_reports"]) == (5, 4)
    assert r["valid_rate"] == pytest.approx(0.8)
    assert r["ontime_verify_rate"] == pytest.approx(1 / 2)
    assert r["ontime_check_rate"] == pytest.approx(3 / 4)
    # filed in the inspector's grid: 1,2,3,4,5,7; first reported by the public: 5 and 7
    assert (r["filed_in_grids"], r["missed"]) == (6, 2)
    assert r["missed_rate"] == pytest.approx(2 / 6)


def test_region_indicators_and_breakdown(db, fixture) -> None:
    data = evaluation.report(db, kind="region", start=MARCH[0], end=MARCH[1], level="grid")
    r = {r["code"]: r for r in data["rows"]}[fixture["grid"]]
    assert (r["received"], r["filed"], r["dispatched"], r["closed"]) == (7, 6, 5, 3)
    assert r["ontime_filing_rate"] == pytest.approx(5 / 6)
    sources = {s["source"]: s["count"] for s in data["by_source"]}
    assert sources == {"inspector": 5, "hotline": 2}


def test_excel_export_has_the_figures(db, fixture) -> None:
    from zhixian.platform import service as platform

    leader = platform.actor_for(db.execute(select(User).where(User.username == "leader")).scalar_one())
    content = export.excel(db, actor=leader, kind="department", start=MARCH[0], end=MARCH[1])
    ws = load_workbook(io.BytesIO(content)).active
    header = [c.value for c in ws[1]]
    assert "按期结案率" in header
    assert "综合得分" in header
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[header.index("应结案数")] == 5)
    assert row[header.index("综合得分")] == pytest.approx(62.5)


@pytest.mark.parametrize("kind", ["department", "inspector", "region"])
def test_excel_links_on_the_evaluation_page_download_workbooks(as_user, kind) -> None:
    """The page's export buttons, followed over HTTP: a workbook, not the JSON route's 404."""
    leader = as_user("leader")
    page = leader.get("/citymgmt/evaluation", headers={"Accept": "text/html"})
    assert page.status_code == 200
    href = re.search(rf'href="(/api/v1/citymgmt/evaluation/{kind}\.xlsx[^"]*)"', page.text)
    assert href, f"评价页没有 {kind} 的导出链接"
    resp = leader.get(html.unescape(href.group(1)))
    assert resp.status_code == 200, resp.text[:200]
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    header = [c.value for c in load_workbook(io.BytesIO(resp.content)).active[1]]
    assert evaluation.LABELS[kind] in header
