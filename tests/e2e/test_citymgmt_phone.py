"""The inspector's phone and the dispatcher's desk in a real browser: a report placed by GPS (the marker is
on the map and follows clicks and typed coordinates), 我的上报, the case page's place and photo viewer,
and the dispatcher's sorted departments with the marked suggestion. Screenshots in test-artifacts/cmux-*."""

from __future__ import annotations

import re

import shapely
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.conftest import ARTIFACTS, PASSWORD
from tests.e2e.conftest import shot, sign_in


def _photo(tmp_path, name: str, color: str):
    path = tmp_path / name
    Image.new("RGB", (640, 480), color).save(path, "JPEG")
    return path


def _spot(demo_server, username: str = "inspector01") -> tuple[float, float, str]:
    from zhixian.citymgmt.models import Grid
    from zhixian.platform.models import Division, User

    node = demo_server.app.state.node
    with node.db.transaction() as s:
        uid = s.execute(select(User.id).where(User.username == username)).scalar_one()
        grid = s.execute(select(Grid).where(Grid.inspector_id == uid).order_by(Grid.code)).scalars().first()
        community = s.execute(select(Division.name).where(Division.code == grid.community_code)).scalar_one()
        wkt = grid.wkt
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y, community


def _phone(browser, demo_server, lon: float, lat: float):
    """A phone that has allowed this site to use its position, standing at (lon, lat)."""
    context = browser.new_context(
        base_url=demo_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
        permissions=["geolocation"],
    )
    return context, context.new_page()


def _marker(page) -> tuple[float, float]:
    value = page.locator("#cm-pick").get_attribute("data-marker")
    assert value, "no marker on the map"
    x, y = value.split(",")
    return float(x), float(y)


def test_inspector_reports_by_gps_and_dispatcher_sees_the_marked_suggestion(
    browser, new_page, demo_server, tmp_path
) -> None:
    lon, lat, community = _spot(demo_server)
    context, phone = _phone(browser, demo_server, lon, lat)
    try:
        sign_in(phone, "inspector01", PASSWORD)
        phone.goto("/")
        button = phone.locator(".home-actions a", has_text="上报问题")
        assert button.is_visible()
        assert phone.locator(".card", has_text="我的上报").first.is_visible()
        shot(phone, "cmux-1-inspector-home")
        button.click()
        phone.wait_for_url("**/citymgmt/report")

        # class by pinyin initials: 暴露垃圾 = bllj
        phone.get_by_label("搜索类别").fill("bllj")
        phone.locator("[data-class-hits] [data-pick='S0102']").click()
        assert phone.get_by_label("问题类别（小类）").input_value() == "S0102"
        assert phone.get_by_label("大类").input_value() == "S01"
        assert "处置时限 4 个工作小时" in phone.locator("#class_hint").inner_text()

        assert phone.locator("#cm-pick .cm-pin").count() == 0
        phone.get_by_role("button", name="使用当前位置（GPS）").click()
        phone.locator("#cm-pick .cm-pin").wait_for(state="visible")
        assert phone.get_by_label("经度").input_value() == f"{lon:.6f}"
        assert phone.get_by_label("纬度").input_value() == f"{lat:.6f}"
        mlon, mlat = _marker(phone)
        phone.wait_for_timeout(800)  # the county outline loads after the fix; the view must stay on the marker
        assert float(phone.locator("#cm-pick").get_attribute("data-zoom")) >= 15
        pin, frame = phone.locator("#cm-pick .cm-pin").bounding_box(), phone.locator("#cm-pick").bounding_box()
        assert frame["x"] < pin["x"] < frame["x"] + frame["width"]
        assert frame["y"] < pin["y"] < frame["y"] + frame["height"]
        assert abs(mlon - lon) < 1e-6
        assert abs(mlat - lat) < 1e-6
        expect(phone.locator("#cm-where")).to_contain_text(f"位于 {community}")
        assert "精度约 12 米" in phone.locator("#cm-gps-status").inner_text()
        phone.get_by_label("现场照片").set_input_files(str(_photo(tmp_path, "before.jpg", "saddlebrown")))
        phone.get_by_label("问题描述").fill("人行道上有成堆垃圾")
        phone.locator("#cm-pick").scroll_into_view_if_needed()
        shot(phone, "cmux-2-report-gps-marker")

        # the marker follows a tap on the map and typed coordinates, and the fields follow the marker
        box = phone.locator("#cm-pick").bounding_box()
        phone.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
        tapped = _marker(phone)
        assert tapped != (mlon, mlat)
        assert phone.get_by_label("经度").input_value() == f"{tapped[0]:.6f}"
        phone.get_by_label("经度").fill(f"{lon:.6f}")
        phone.get_by_label("纬度").fill(f"{lat:.6f}")
        phone.get_by_label("纬度").dispatch_event("change")
        assert _marker(phone) == (round(lon, 6), round(lat, 6))

        phone.get_by_role("button", name="提交上报").click()
        link = phone.locator("#cm-report-msg a")
        link.wait_for(timeout=15000)
        number = re.search(r"\d{12}", link.inner_text()).group(0)
        case_url = link.get_attribute("href")
        assert phone.locator("#cm-pick .cm-pin").count() == 0  # a fresh form for the next report

        phone.goto("/citymgmt/reports/mine")
        first = phone.locator("#my-reports li").first
        assert number in first.inner_text()
        assert community in first.inner_text()
        shot(phone, "cmux-3-my-reports")
    finally:
        context.close()

    desk = new_page()
    sign_in(desk, "acceptor")
    desk.goto(case_url)
    desk.get_by_role("button", name="立案", exact=True).click()
    desk.get_by_text("已完成：立案").wait_for()

    disp = new_page()
    sign_in(disp, "dispatcher")
    disp.goto(case_url)
    select_box = disp.locator("select[name=department_id]")
    chosen = select_box.locator("option:checked").inner_text()
    assert chosen.startswith("★ ")
    assert "综合行政执法局（建议）" in chosen
    assert select_box.locator("option").first.inner_text() == chosen  # suggestion first
    groups = select_box.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups == ["建议", "县级部门（按拼音排序）", "乡镇街道（按区划代码排序）"]
    why = disp.locator("[id$='-dispatch-department_id-hint']").inner_text()
    assert "建议派往" in why
    assert "类别“暴露垃圾”在应用维护中设定的默认处置部门" in why
    disp.locator("#cm-case-map .cm-pin").wait_for(state="visible")
    assert community in disp.locator("#cm-community").inner_text()
    disp.wait_for_timeout(500)
    shot(disp, "cmux-4-dispatch-suggestion")

    disp.locator("[data-lightbox]").first.click()
    viewer = disp.locator("dialog.cm-lightbox")
    viewer.wait_for(state="visible")
    assert "现场照片" in viewer.locator("figcaption").inner_text()
    natural = viewer.locator("img").evaluate("img => img.complete && img.naturalWidth")
    assert natural == 640
    disp.screenshot(path=str(ARTIFACTS / "cmux-5-photo-viewer.png"))  # the viewport: the viewer covers it
    disp.keyboard.press("Escape")
    viewer.wait_for(state="hidden")
