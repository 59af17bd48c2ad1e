"""The pages of issue 9 in a real browser: TOTP enrolment with its QR code on a phone, maps with
Chinese controls, the catalogue sheet, the audit log in words, the schedule picker, long lists
narrowed by typing — each with a screenshot in test-artifacts/."""

from __future__ import annotations

from tests.e2e.conftest import shot, sign_in


def test_voluntary_totp_enrolment_on_a_phone_shows_a_qr_code_that_fits(new_page) -> None:
    page = new_page(phone=True)
    sign_in(page, "staff_jtj")
    page.goto("/account")
    page.get_by_role("link", name="启用动态口令").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="启用动态口令").is_visible()
    assert "您的角色要求" not in page.content()
    qr = page.locator(".qr-box svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150  # big enough to scan
    page.get_by_text("绑定地址（供支持粘贴地址的验证器使用）").click()
    uri = page.locator("#totp-uri")
    card = page.locator("section.login").bounding_box()
    right = uri.bounding_box()["x"] + uri.bounding_box()["width"]
    assert right <= card["x"] + card["width"]  # the otpauth address wraps inside the card
    assert uri.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    shot(page, "totp-enrol-voluntary-phone")


def test_maps_speak_chinese(new_page) -> None:
    page = new_page()
    sign_in(page, "leader")
    page.goto("/citymgmt/ops")
    page.wait_for_load_state("networkidle")
    zoom_in = page.locator(".leaflet-control-zoom-in")
    zoom_in.wait_for()
    assert zoom_in.get_attribute("title") == "放大"
    assert zoom_in.get_attribute("aria-label") == "放大"
    assert page.locator(".leaflet-control-zoom-out").get_attribute("title") == "缩小"
    assert "Leaflet" not in page.locator("#cm-map").inner_text()
    shot(page, "ops-map-leader")


def test_catalogue_sheet_and_registry(new_page) -> None:
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto("/catalog/systems")
    page.get_by_label("检索（名称、代码、建设单位、部署、持有数据）").fill("公安")
    page.get_by_role("button", name="检索").click()
    page.wait_for_load_state("networkidle")
    rows = page.locator("tbody tr")
    assert 0 < rows.count() < 50
    shot(page, "catalog-systems-search")
    rows.first.get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="登记信息").is_visible()
    shot(page, "catalog-system-page")
    page.goto("/catalog?q=人口基础信息")
    page.get_by_role("link", name="人口基础信息").first.click()
    page.wait_for_load_state("networkidle")
    for heading in ("基本信息", "数据", "数据来源", "接口与下载"):
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
    assert page.get_by_text("记录数", exact=True).is_visible()
    shot(page, "catalog-resource-sheet")


def test_audit_log_reads_in_words(new_page) -> None:
    page = new_page()
    sign_in(page, "auditor")
    page.goto("/admin/audit")
    page.wait_for_load_state("networkidle")
    first = page.locator("tbody tr").first
    cells = first.locator("td")
    assert cells.nth(3).locator("code").count() == 1  # the action's code is marked as a code, beside its name
    action = cells.nth(3).inner_text().replace(cells.nth(3).locator("code").inner_text(), "").strip()
    assert action  # a name is shown, not the code alone
    assert all("\u4e00" <= ch <= "\u9fff" or ch in "（）· " or (ch.isascii() and not ch.isalpha()) for ch in action)
    table = page.locator("table").inner_text()
    assert '{"' not in table  # details are lines, not JSON
    shot(page, "audit-log-in-words")


def test_schedule_picker_writes_the_expression_and_the_page_reads_it_back(new_page) -> None:
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto("/integration")
    page.locator("table").get_by_role("link").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("频率").select_option("weekly")
    page.get_by_label("星期", exact=True).select_option(label="周一")
    page.get_by_label("时间", exact=True).fill("08:30")
    assert page.get_by_label("定时（分 时 日 月 星期）").input_value() == "30 8 * * 1"
    assert page.locator("[data-preview]").inner_text() == "每周一 08:30"
    shot(page, "integration-schedule-picker")
    page.get_by_role("button", name="保存设置").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "定时与增量设置已保存"
    assert "每周一 08:30" in page.locator("main > p").first.inner_text()
    assert page.get_by_label("频率").input_value() == "weekly"
    page.get_by_label("频率").select_option("none")
    page.get_by_role("button", name="保存设置").click()
    page.wait_for_load_state("networkidle")
    assert "按需运行" in page.locator("main > p").first.inner_text()


def test_a_long_dropdown_is_narrowed_by_typing(new_page) -> None:
    page = new_page()
    sign_in(page, "datahub")
    page.goto("/integration")
    select = page.locator("#file-resource_id")
    before = select.locator("option:not([hidden])").count()
    page.locator("input.select-filter").first.fill("人口")
    after = select.locator("option:not([hidden])").count()
    assert 0 < after < before
    assert "人口" in select.locator("option:checked").inner_text()
    shot(page, "integration-resource-filter")
