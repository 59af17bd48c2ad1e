"""Template helpers: a link is drawn only when its target would let the user in (read from the route's
own ``Require``), names stand beside codes, schedules read as words."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from zhixian.app import create_app
from zhixian.platform import service
from zhixian.platform.actor import Actor
from zhixian.platform.models import User
from zhixian.web import cron
from zhixian.web.page_helpers import may_open


@pytest.fixture(scope="module")
def app(node) -> FastAPI:
    return create_app(node=node)


def _actor(node, username: str, ip: str = "127.0.0.1") -> Actor:
    with node.db.sessionmaker() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
        actor = service.load_actor(session, user_id=user_id, ip=ip)
        assert actor is not None
        return actor


@pytest.fixture
def admin_network(node) -> Iterator[None]:
    node.settings.admin_networks = ["10.0.0.0/8"]
    yield
    node.settings.admin_networks = []


def test_links_follow_the_routes_own_permissions(app: FastAPI, node) -> None:
    leader = _actor(node, "leader")
    assert may_open(app, leader, "/catalog/systems?page=2")
    assert may_open(app, leader, "/integration")  # integration.view
    assert not may_open(app, leader, "/integration/sources/1")  # integration.run: the 403 the leader met
    assert not may_open(app, leader, "/admin/audit")
    assert may_open(app, leader, "/static/css/zhixian.css")  # files and unknown paths are not judged
    assert may_open(app, leader, "https://example.invalid/")
    officer = _actor(node, "gaj_officer")
    assert may_open(app, officer, "/integration/sources/1")
    assert not may_open(app, None, "/catalog")  # nobody signed in
    assert may_open(app, None, "/login")


def test_administrator_pages_are_not_linked_outside_the_admin_network(app: FastAPI, node, admin_network) -> None:
    assert not may_open(app, _actor(node, "auditor", ip="192.0.2.7"), "/admin/audit")
    assert may_open(app, _actor(node, "auditor", ip="10.1.2.3"), "/admin/audit")


def test_link_renders_an_anchor_or_the_plain_text(app: FastAPI, node) -> None:
    env = app.state.templates.env
    page = env.from_string("{{ link('/integration/sources/1', '公安<人口>') }}|{{ link('/catalog', '目录') }}")
    request = SimpleNamespace(app=app)
    out = page.render(request=request, actor=_actor(node, "leader"))
    assert out == '公安&lt;人口&gt;|<a href="/catalog">目录</a>'  # escaped either way


def test_names_stand_beside_codes(app: FastAPI) -> None:
    env = app.state.templates.env
    assert env.from_string("{{ 'zjj' | lookup({'zjj': '住建局'}) }}").render() == '住建局 <code class="code">zjj</code>'
    assert "未登记" in env.from_string("{{ 'xyz' | lookup({}) }}").render()
    assert env.from_string("{{ 'system' | person }}").render() == "系统（自动作业）"
    assert env.from_string("{{ labels.action('citymgmt.evaluation_export') }}").render().startswith("导出综合评价 ")
    assert env.from_string("{{ labels.object('cm_case', '2026001') }}").render() == "案件 2026001"


@pytest.mark.parametrize(
    ("expr", "words", "mode"),
    [
        ("", "按需运行", "none"),
        ("0 2 * * *", "每天 02:00", "daily"),
        ("30 8 * * 1", "每周一 08:30", "weekly"),
        ("0 9 * * 0", "每周日 09:00", "weekly"),
        ("5 * * * *", "每小时第 5 分", "hourly"),
        ("*/15 * * * *", "每 15 分钟", "every"),
        ("0 8-18/2 * * 1-5", "自定义：周一至周五，8时至18时每隔 2 小时，0分", "custom"),
        ("0 3 1 * *", "自定义：1日，3时，0分", "custom"),
        ("0 2 *", "定时设置无效", "custom"),
    ],
)
def test_schedules_read_as_words_and_pick_their_picker_mode(expr: str, words: str, mode: str) -> None:
    assert cron.describe(expr) == words
    assert cron.picker(expr).mode == mode
