"""Bytes a browser downloads to open the operations view (leader) and the phone report page (inspector).

    .venv/bin/python bench/page_transfer.py

Seeds the test county, serves it on loopback and opens each page in Debian's chromium three ways:
``baseline`` (no compression, no browser cache: what every visit cost before compression and hashed
assets), ``first visit`` and ``second visit`` (compressed, assets cached for a year, map layers
revalidated by ETag). Prints the encoded body bytes per request and in total.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "300")

from playwright.sync_api import sync_playwright
from tests.conftest import PASSWORD, LiveServer, make_node
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

PAGES = (
    ("监督指挥（领导，桌面）", "leader", "/citymgmt/ops", False),
    ("上报问题（监督员，手机）", "inspector01", "/citymgmt/report", True),
)


def visit(browser, url: str, user: str, path: str, phone: bool, *, baseline: bool) -> list[list[int]]:
    """Two visits of the page in one fresh context; per visit, (encoded body bytes of each request)."""
    options = {"viewport": {"width": 390, "height": 844}, "is_mobile": True} if phone else {}
    if baseline:
        options["extra_http_headers"] = {"Accept-Encoding": "identity"}
    context = browser.new_context(base_url=url, **options)
    page = context.new_page()
    if baseline:
        page.context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto("/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    out = []
    for _ in range(2):
        sizes: list[int] = []

        def count(req, sizes=sizes) -> None:
            sizes.append(max(0, req.sizes()["responseBodySize"]))  # -1: served from the browser's cache

        page.on("requestfinished", count)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        page.remove_listener("requestfinished", count)
        out.append(sizes)
    context.close()
    return out


def main() -> None:
    node = make_node(Path(tempfile.mkdtemp(prefix="zx-bench-")), "sqlite", enabled_extensions=["*"])
    live = LiveServer(node)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        print(f"{'页面':<24}{'基线（未压缩、无缓存）':>20}{'首次访问':>12}{'再次访问':>12}")
        for title, user, path, phone in PAGES:
            base, _ = visit(browser, live.url, user, path, phone, baseline=True)
            first, second = visit(browser, live.url, user, path, phone, baseline=False)
            print(f"{title:<24}{sum(base) / 1024:>17.1f} KB{sum(first) / 1024:>9.1f} KB{sum(second) / 1024:>9.1f} KB")
        browser.close()
    live.stop()


if __name__ == "__main__":
    main()
