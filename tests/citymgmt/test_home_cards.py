"""Each operations role's home page shows its own case figures, each linking to the cases behind it."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.pages import ops_figures


def _card(html: str, title: str) -> tuple[str, int]:
    match = re.search(rf'<a class="card[^"]*" href="([^"]+)">\s*<div class="value">(\d+)</div><div class="label">{title}</div>',
                      html)
    assert match, f"card {title} missing"
    return match.group(1).replace("&amp;", "&"), int(match.group(2))


def test_leader_home_shows_county_case_figures_that_match_the_case_lists(as_user, db: Session) -> None:
    client = as_user("leader")
    home = client.get("/", headers={"accept": "text/html"}).text
    figures = ops_figures(db)
    href, red = _card(home, "超期（红灯）")
    assert red == figures["red"]
    assert href == "/citymgmt/cases?light=red"
    listed = client.get(href, headers={"accept": "text/html"})
    assert listed.status_code == 200
    assert _card(home, "在办案件")[1] == figures["open"]
    assert "待派遣" not in home  # a leader does not dispatch


def test_dispatcher_and_inspector_see_their_own_queues(as_user) -> None:
    dispatcher = as_user("dispatcher").get("/", headers={"accept": "text/html"}).text
    assert _card(dispatcher, "待派遣")[0] == "/citymgmt/cases?status=dispatching"
    inspector = as_user("inspector01").get("/", headers={"accept": "text/html"}).text
    href, _ = _card(inspector, "我的待办")
    assert href == "/citymgmt/my"
    assert "在办案件" not in inspector  # inspectors see their own tasks, not the county
