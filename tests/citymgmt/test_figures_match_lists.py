"""Every figure opens exactly its records: the number on a card, a map grid, a chart legend or an evaluation
cell equals the total of the list its link opens, for the user who sees it.

The test reads figures generically (``data-figure`` + ``href``, see tests/figures.py), so it also guards
every figure and home card added later, by any subsystem, without being changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.citymgmt.conftest import grid_point
from tests.conftest import Client
from tests.figures import figures_on, mismatches, total_on
from zhixian import clock
from zhixian.citymgmt.cases.filters import CaseFilter
from zhixian.citymgmt.models import Case
from zhixian.platform.models import Department, User

HTML = {"accept": "text/html"}


@pytest.fixture
def planted(db: Session) -> dict[str, str]:
    """Cases in every state a figure counts, in two grids: the small test county has closed history only."""
    lon, lat, grid = grid_point(db, "inspector01")
    _, _, other = grid_point(db, "inspector03")
    zfj = db.execute(select(Department).where(Department.code == "zfj")).scalar_one()
    now = clock.utcnow()
    n = 0

    def add(status: str, *, in_grid: str = grid, age: timedelta = timedelta(days=3), **extra: object) -> None:
        nonlocal n
        n += 1
        at = now - age
        dispatched = status in ("handling", "checking", "closed", "on_hold")
        db.add(
            Case(
                number=f"FIG{n:05d}",
                source=extra.pop("source", "inspector"),
                kind="event",
                class_code="S0102",
                status=status,
                lon=lon,
                lat=lat,
                grid_code=in_grid,
                community_code=in_grid[:12],
                street_code=in_grid[:9] + "000",
                reported_at=at,
                filed_at=at + timedelta(minutes=20),
                dispatched_at=at + timedelta(hours=1) if dispatched else None,
                department_id=zfj.id if dispatched else None,
                department_path=zfj.path if dispatched else None,
                **extra,
            )
        )

    add("reported", age=timedelta(hours=1))  # 今日受理, 待受理
    add("dispatching")
    add("handling", deadline=now - timedelta(hours=2), warn_at=now - timedelta(hours=4))  # red
    add("handling", deadline=now + timedelta(hours=2), warn_at=now - timedelta(hours=1))  # yellow
    add("handling", in_grid=other, deadline=now + timedelta(days=2), warn_at=now + timedelta(days=1))
    add("checking", in_grid=other)
    add("on_hold", hold_count=1)  # counted apart: a grid with only this shows 在办 0 and opens none
    add("on_hold", in_grid=other, hold_count=1)
    add(
        "closed",
        closed_at=now - timedelta(minutes=30),
        completed_at=now - timedelta(hours=2),
        completed_on_time=True,
        rework_count=1,
        source="hotline",
    )  # 今日结案
    db.flush()
    return {"grid": grid, "other": other}


def _fetch(client: Client) -> Callable[[str], tuple[int, str]]:
    def fetch(url: str) -> tuple[int, str]:
        resp = client.get(url, headers=HTML)
        return resp.status_code, resp.text

    return fetch


def _cards(html: str) -> dict[str, int]:
    """Card label → number (a card reads "28 在办案件")."""
    return {f.text.split()[-1]: f.value for f in figures_on(html) if f.text}


def _check(client: Client, path: str, *, at_least: int) -> int:
    page = client.get(path, headers=HTML)
    assert page.status_code == 200, (path, page.text[:300])
    checked, problems = mismatches(path, page.text, _fetch(client))
    assert not problems, "\n".join(problems)
    assert checked >= at_least, f"{path} 上只找到 {checked} 个数字，页面的 data-figure 标记丢了？"
    return checked


def test_every_figure_on_the_operations_view_opens_a_list_of_that_many(as_user, planted: dict[str, str]) -> None:
    leader = as_user("leader")
    # eight cards, a street figure per township, the ranking's 应结案/返工, the source legend
    _check(leader, "/citymgmt/ops", at_least=8 + 5)
    cards = _cards(leader.get("/citymgmt/ops", headers=HTML).text)
    assert cards["今日结案"] >= 1
    assert cards["超期（红灯）"] >= 1


def test_every_home_card_of_every_demo_role_opens_a_list_of_that_many(
    as_user, http: Client, db: Session, planted: dict[str, str]
) -> None:
    """One user per distinct set of roles in the demo county (ten roles, and the staff without any).

    A disabled account and a failed login first, so the administrators' cards are not all trivially equal."""
    staff = db.execute(select(User).where(User.username == "staff")).scalar_one()
    staff.active = False
    db.flush()
    assert http.post("/api/v1/auth/login", json={"username": "leader", "password": "wrong-1"}).status_code == 401
    people: dict[tuple[str, ...], str] = {}
    for user in db.execute(select(User).where(User.active.is_(True)).order_by(User.id)).scalars():
        people.setdefault(tuple(r.code for r in user.roles), user.username)
    with_cards = []
    for roles, username in people.items():
        client = as_user(username)
        home = client.get("/", headers=HTML)
        assert home.status_code == 200, (username, home.status_code)
        if figures_on(home.text):
            with_cards.append(roles)
            _check(client, "/", at_least=1)
    # 三员, the data authority, department data officers, the centre's four roles, inspectors and handlers
    assert len(with_cards) >= 10, with_cards
    cards = _cards(as_user("secadmin").get("/", headers=HTML).text)
    active = db.execute(select(func.count()).select_from(User).where(User.active.is_(True))).scalar_one()
    assert cards["在用账号"] == active  # the disabled account is not 在用
    cards = _cards(as_user("auditor").get("/", headers=HTML).text)
    assert cards["今日登录失败"] >= 1


def _pages_of_evaluation(start: date, end: date) -> list[str]:
    explicit = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    return [
        "/citymgmt/evaluation",
        "/citymgmt/evaluation?level=community",
        f"/citymgmt/evaluation?{explicit}",  # a closed period: closures after its end are not counted
    ]


def test_every_evaluation_cell_opens_a_list_of_that_many(as_user, planted: dict[str, str]) -> None:
    leader = as_user("leader")
    today = clock.local_today()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    for path in _pages_of_evaluation(last_month_end.replace(day=1), last_month_end):
        _check(leader, path, at_least=10)


def test_every_grid_on_the_map_opens_a_list_of_its_open_cases(as_user, planted: dict[str, str]) -> None:
    """Grids showing cases, grids the open list has cases in (a grid saying 0 that opens 1 is one of these),
    and a sample of the rest: thousands of empty grids would only repeat the same empty list."""
    leader = as_user("leader")
    grids = {
        g["properties"]["code"]: g["properties"]
        for g in leader.get("/api/v1/citymgmt/grids.geojson").json()["features"]
    }
    in_list: set[str] = set()
    page = 1
    while True:
        body = leader.get(f"/api/v1/citymgmt/cases?status=open&size=200&page={page}").json()
        in_list |= {c["grid_code"] for c in body["items"] if c["grid_code"]}
        if page * 200 >= body["total"]:
            break
        page += 1
    shown = {code for code, p in grids.items() if p["open"]}
    sample = set(sorted(grids)[:: max(1, len(grids) // 25)])
    assert {planted["grid"], planted["other"]} <= shown | in_list
    problems = []
    for code in sorted(shown | in_list | sample):
        p = grids[code]
        status, body = _fetch(leader)(p["href"])
        assert status == 200
        if total_on(body) != p["open"]:
            problems.append(f"网格 {code} 显示在办 {p['open']}，点开的列表 {total_on(body)} 件")
    assert not problems, "\n".join(problems[:20])
    assert (grids[planted["grid"]]["open"], grids[planted["grid"]]["overdue"]) == (4, 1)  # on hold counted apart
    assert grids[planted["other"]]["open"] == 2


# --- the first of a month


@pytest.fixture
def first_of_next_month() -> Iterator[datetime]:
    """The clock moved to 09:30 on the first day of next month, then put back where it would have been."""
    before, started = clock.utcnow(), time.monotonic()
    today = clock.local_today()
    first = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    at = datetime(first.year, first.month, 1, 9, 30, tzinfo=clock.LOCAL_TZ)
    clock.pin(at)
    try:
        yield at
    finally:
        clock.pin(before + timedelta(seconds=time.monotonic() - started))


def test_evaluation_on_the_first_of_a_month_shows_the_last_complete_month_and_says_so(
    as_user, first_of_next_month: datetime
) -> None:
    leader = as_user("leader")
    last_end = first_of_next_month.date() - timedelta(days=1)
    last_start = last_end.replace(day=1)
    page = leader.get("/citymgmt/evaluation", headers=HTML).text
    assert f'value="{last_start.isoformat()}"' in page
    assert f'value="{last_end.isoformat()}"' in page
    assert f"{last_start.year}年{last_start.month}月" in page
    assert "尚无结案" in page  # says why it is not the month to date
    # departments read real rates, not 0.0 % and the 20-point floor of an empty month
    assert "20.00" not in page
    assert any(f.value > 0 for f in figures_on(page) if "department_id=" in f.href and "status=closed" in f.href)
    api = leader.get("/api/v1/citymgmt/evaluation/department").json()
    assert api["period"]["start"] == last_start.isoformat()
    assert api["period"]["note"]
    # and every figure still opens its records on that day
    _check(leader, "/citymgmt/evaluation", at_least=10)
    _check(leader, "/citymgmt/ops", at_least=8)


def test_evaluation_keeps_the_month_to_date_once_something_is_closed(as_user) -> None:
    page = as_user("leader").get("/citymgmt/evaluation", headers=HTML).text
    today = clock.local_today()
    assert f'value="{today.replace(day=1).isoformat()}"' in page
    assert f'value="{today.isoformat()}"' in page
    assert "（本月至今）" in page
    assert "尚无结案" not in page


# --- the list's filters


def _total(client: Client, query: str) -> int:
    resp = client.get(f"/citymgmt/cases?{query}", headers=HTML)
    assert resp.status_code == 200, (query, resp.text[:300])
    total = total_on(resp.text)
    assert total is not None
    return total


def test_on_hold_is_counted_apart_from_open_and_can_be_included(as_user, planted: dict[str, str]) -> None:
    leader = as_user("leader")
    open_n, held = _total(leader, "status=open"), _total(leader, "status=on_hold")
    assert held > 0, "演示县应有挂账缓办的案件，否则本测试测不到区别"
    assert _total(leader, "status=open&on_hold=include") == open_n + held
    assert _total(leader, "on_hold=exclude") == _total(leader, "") - held


def test_closed_today_is_filtered_by_closing_date(as_user, planted: dict[str, str]) -> None:
    leader = as_user("leader")
    today = clock.local_today().isoformat()
    closed_all = _total(leader, "status=closed")
    closed_today = _total(leader, f"status=closed&closed_from={today}&closed_to={today}")
    assert 1 <= closed_today < closed_all
    month = clock.local_today().replace(day=1).isoformat()
    assert _total(leader, f"status=closed&closed_from={month}") >= closed_today


def test_empty_parameters_mean_no_filter_and_bad_ones_are_named(as_user) -> None:
    leader = as_user("leader")
    empty = "&".join(f"{f.name}=" for f in fields(CaseFilter))  # every filter the list knows, blank
    assert _total(leader, empty) == _total(leader, "")
    bad = leader.get("/citymgmt/cases?closed_from=2026-13-01", headers=HTML)
    assert bad.status_code == 422
    assert "结案起" in bad.text
    assert "日期格式" in bad.text
    api = leader.get("/api/v1/citymgmt/cases?department_id=abc")
    assert api.status_code == 422
    assert "处置部门" in api.text


def test_the_json_list_takes_the_same_filters_as_the_page(as_user) -> None:
    leader = as_user("leader")
    today = clock.local_today()
    month = today.replace(day=1).isoformat()
    for query in (
        "status=open",
        "status=open&on_hold=include",
        f"status=closed&closed_from={month}&closed_to={today.isoformat()}",
        f"filed_from={month}&source=public",
        f"reported_from={month}&reported_to={today.isoformat()}&reworked=1",
        "mine=true",
    ):
        api = leader.get(f"/api/v1/citymgmt/cases?{query}&size=1")
        assert api.status_code == 200, (query, api.text[:300])
        assert api.json()["total"] == _total(leader, query), query


# --- the checker itself


def test_the_checker_reports_a_figure_that_disagrees_with_its_list() -> None:
    page = '<a class="card" href="/x?a=1" data-figure="28">28 在办案件</a><a href="/y" data-figure="3">3</a>'
    lists = {"/x?a=1": (200, '<span data-total="83">共 83 条</span>'), "/y": (200, "<p>no total</p>")}
    checked, problems = mismatches("/ops", page, lambda url: lists[url])
    assert checked == 2
    assert any("28" in p and "83" in p for p in problems)
    assert any("没有标明总数" in p for p in problems)
    org = '<h2 id="a">A（<span data-total="2">2</span>）</h2><h2 id="b">B（<span data-total="5">5</span>）</h2>'
    assert total_on(org, "b") == 5
    assert total_on(org, "a") == 2


def test_operations_figures_are_counted_at_the_moment_given(db: Session, planted: dict[str, str]) -> None:
    """``ops_figures(now=…)`` counts lights at that moment (it used to ignore ``now``)."""
    from zhixian.citymgmt.cases.figures import ops_figures
    from zhixian.platform import service as platform

    leader = platform.actor_for(db.execute(select(User).where(User.username == "leader")).scalar_one())
    now = clock.utcnow()
    red_now = ops_figures(db, actor=leader, now=now)["red"].value
    red_later = ops_figures(db, actor=leader, now=now + timedelta(hours=3))["red"].value
    assert red_later == red_now + 1  # the planted yellow case's deadline passes in two hours
