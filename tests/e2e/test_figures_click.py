"""The leader clicks every figure on the operations view (cards, streets, ranking, source legend and a pie
slice) and the list that opens says the same number. Screenshots in test-artifacts/figures-*.png.

A county of its own with a busier history than the shared e2e county, so that the cards are not all 0.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.conftest import LiveServer, dispose_node, make_node
from tests.e2e.conftest import shot, sign_in
from zhixian import clock


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    before = os.environ.get("ZHIXIAN_CITYMGMT_DEMO_CASES")
    os.environ["ZHIXIAN_CITYMGMT_DEMO_CASES"] = "3000"
    try:
        node = make_node(tmp_path_factory.mktemp("e2e-figures"), "sqlite")
    finally:
        if before is None:
            os.environ.pop("ZHIXIAN_CITYMGMT_DEMO_CASES", None)
        else:
            os.environ["ZHIXIAN_CITYMGMT_DEMO_CASES"] = before
    live = LiveServer(node)
    yield live
    live.stop()
    dispose_node(node)


@pytest.fixture
def leader_page(browser, busy_server: LiveServer) -> Iterator[object]:
    context = browser.new_context(
        base_url=busy_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, "leader")
    yield page
    context.close()


def _list_total(page) -> int:
    page.wait_for_load_state("domcontentloaded")
    heading = page.locator("h1").inner_text()
    total = int(page.locator("[data-total]").first.get_attribute("data-total"))
    assert f"（{total} 件）" in heading, heading  # what the user reads, not only the attribute
    return total


def test_leader_clicks_each_operations_figure_and_the_list_shows_that_many(leader_page) -> None:
    page = leader_page
    page.goto("/citymgmt/ops")
    page.wait_for_load_state("networkidle")
    shot(page, "figures-ops")
    count = page.locator("[data-figure]").count()
    assert count >= 13, count
    seen = []
    for i in range(count):
        page.goto("/citymgmt/ops")
        figure = page.locator("[data-figure]").nth(i)
        value = int(figure.get_attribute("data-figure"))
        label = figure.inner_text().replace("\n", " ")
        href = figure.get_attribute("href")
        figure.click()
        page.wait_for_url(lambda url, h=href: url.endswith(h.replace("&amp;", "&")))
        assert _list_total(page) == value, f"{label}：{value} 打开 {page.url}"
        seen.append((label, value))
        if i < 8:  # the cards: one screenshot each of the list they open
            shot(page, f"figures-ops-card-{i + 1}")
    assert any(v > 0 for _, v in seen), seen


def test_a_pie_slice_opens_this_months_cases_of_that_source(leader_page) -> None:
    page = leader_page
    page.goto("/citymgmt/ops")
    page.wait_for_load_state("networkidle")
    rows = page.evaluate("JSON.parse(document.getElementById('cm-sources').getAttribute('data-chart'))")
    assert rows, "本月没有案件来源数据"
    chart = page.locator("#cm-sources")
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1200)  # the pie's opening animation
    box = chart.bounding_box()
    # ECharts draws the first slice clockwise from 12 o'clock; click the middle of it, mid-ring
    share = rows[0]["count"] / sum(r["count"] for r in rows)
    angle = math.radians(90 - share * 180)
    radius = 0.525 * min(box["width"], box["height"]) / 2
    x = box["x"] + box["width"] / 2 + radius * math.cos(angle)
    y = box["y"] + box["height"] / 2 - radius * math.sin(angle)
    page.mouse.click(x, y)
    page.wait_for_url(lambda url: "source=" in url)
    assert page.url.endswith(rows[0]["href"])
    assert "reported_from=" in page.url  # this month's slice opens this month, not all time
    assert _list_total(page) == rows[0]["count"]
    shot(page, "figures-pie-slice-list")


def test_evaluation_on_the_first_of_a_month_shows_last_month(leader_page) -> None:
    page = leader_page
    before, started = clock.utcnow(), time.monotonic()
    today = clock.local_today()
    first = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    clock.pin(datetime(first.year, first.month, 1, 9, 30, tzinfo=clock.LOCAL_TZ))
    try:
        sign_in(page, "leader")  # thirteen days later the morning's session has timed out
        page.goto("/citymgmt/evaluation")
        last = first - timedelta(days=1)
        assert page.get_by_label("开始").input_value() == last.replace(day=1).isoformat()
        assert page.get_by_label("结束").input_value() == last.isoformat()
        assert "尚无结案" in page.locator(".notice").inner_text()
        shot(page, "figures-evaluation-first-of-month")
        cell = page.locator("table").first.locator("[data-figure]").nth(1)  # the first department's 结案
        value = int(cell.get_attribute("data-figure"))
        cell.click()
        assert _list_total(page) == value
    finally:
        clock.pin(before + timedelta(seconds=time.monotonic() - started))
