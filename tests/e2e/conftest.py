"""Browser tests: Debian's chromium driven by Playwright against a demo county served on loopback.

The demo server here has its own SQLite database (no rollback: a browser makes parallel requests),
with every bundled extension enabled, as the README's quick start runs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, PASSWORD, LiveServer, dispose_node, make_node

CHROMIUM = "/usr/bin/chromium"
VENDOR_BUILT = Path(__file__).parents[2] / "src" / "zhixian" / "web" / "static" / "vendor" / "README.txt"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    node = make_node(tmp_path_factory.mktemp("e2e"), "sqlite", enabled_extensions=["*"], demo_banner=True)
    live = LiveServer(node)
    yield live
    live.stop()
    dispose_node(node)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI 需要 /usr/bin/chromium（scripts/test 会安装）")
        pytest.skip("未安装 /usr/bin/chromium")
    if not VENDOR_BUILT.exists():
        # pages would load without their scripts and every test would time out waiting for the map or chart
        if os.environ.get("CI") == "true":
            pytest.fail("CI 需要前端资源（scripts/setup 会用 npm 构建）")
        pytest.skip("前端资源未构建（运行 scripts/setup，需要 node/npm）：浏览器测试跳过")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, demo_server: LiveServer) -> Iterator[object]:
    """new_page(phone=False) -> a page in a fresh browser context (own cookies)."""
    contexts = []

    def make(*, phone: bool = False):
        options = (
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
            if phone
            else {"viewport": {"width": 1366, "height": 860}}
        )
        context = browser.new_context(base_url=demo_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
