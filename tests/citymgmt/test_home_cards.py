"""Each operations role's home page shows its own case figures, each linking to the cases behind it."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.figures import ops_figures
from zhixian.platform import service as platform
from zhixian.platform.models import User


def _card(html: str, title: str) -> tuple[str, int]:
    match = re.search(
        rf'<a class="card[^"]*" href="([^"]+)" data-figure="(\d+)"[^>]*>\s*<div class="value">\d+</div><div class="label">{title}</div>',
        html,
    )
    assert match, f"card {title} missing"
    return match.group(1).replace("&amp;", "&"), int(match.group(2))


def test_leader_home_shows_county_case_figures_that_match_the_operations_view(as_user, db: Session) -> None:
    client = as_user("leader")
    home = client.get("/", headers={"accept": "text/html"}).text
    leader = platform.actor_for(db.execute(select(User).where(User.username == "leader")).scalar_one())
    figures = ops_figures(db, actor=leader)
    href, red = _card(home, "超期（红灯）")
    assert red == figures["red"].value
    assert href == "/citymgmt/cases?light=red"
    assert _card(home, "在办案件") == ("/citymgmt/cases?status=open", figures["open"].value)
    assert '<div class="label">待派遣</div>' not in home  # a leader does not dispatch


def test_dispatcher_and_inspector_see_their_own_queues(as_user) -> None:
    dispatcher = as_user("dispatcher").get("/", headers={"accept": "text/html"}).text
    assert _card(dispatcher, "待派遣")[0] == "/citymgmt/cases?status=dispatching"
    inspector = as_user("inspector01").get("/", headers={"accept": "text/html"}).text
    assert _card(inspector, "我的待办")[0] == "/citymgmt/my"
    assert _card(inspector, "我的待办中已超期")[0] == "/citymgmt/cases?light=red&mine=1"
    assert "在办案件" not in inspector  # inspectors see their own tasks, not the county
