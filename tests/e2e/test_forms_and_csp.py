"""In a real browser: the phone report's refusal sits beside each field by its label and goes when the field is
fixed; refused desktop forms do the same; and no page of any role breaks the Content-Security-Policy (no
inline style or script), including charts' tooltips and the maps. Screenshots in test-artifacts/."""

from __future__ import annotations

import re

from PIL import Image

from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_citymgmt_flow import _spot

# each role's main pages: its home, every menu entry, and the pages behind its daily work
ROLES = {
    "sysadmin": ["/admin/org", "/admin/calendar", "/admin/subsystems", "/account"],
    "secadmin": ["/admin/users", "/admin/users/new", "/admin/roles"],
    "auditor": ["/admin/audit"],
    "datahub": ["/catalog", "/catalog/systems", "/catalog/new", "/integration", "/integration/quality"],
    "leader": ["/citymgmt/ops", "/citymgmt/evaluation", "/citymgmt/cases"],
    "acceptor": ["/citymgmt/cases?status=reported"],
    "shiftlead": [
        "/citymgmt/config",
        "/citymgmt/config/geo",
        "/citymgmt/config/basemap",
        "/citymgmt/config/parameters",
    ],
    "dispatcher": ["/citymgmt/cases?status=dispatching"],
    "inspector01": ["/citymgmt/my", "/citymgmt/report"],
    "handler_zfj": ["/citymgmt/my"],
    "gaj_officer": ["/integration", "/integration/quarantine"],
    "staff": [],
}


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Console messages about the policy (Chromium reports each refused inline style or script)."""
    found: list[str] = []
    page.on(
        "console",
        lambda m: found.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None,
    )
    page.on("pageerror", lambda e: found.append(f"脚本错误：{e}"))
    return found


def test_no_page_of_any_role_breaks_the_content_security_policy(new_page) -> None:
    violations: list[str] = []
    walked: set[str] = set()  # a page renders the same template for each role: one visit in all, home per role
    for user, paths in ROLES.items():
        page = new_page(phone=user == "inspector01")
        found = _watch(page)
        sign_in(page, user)
        menu = [a.get_attribute("href") for a in page.locator("#nav a").all()]
        for path in dict.fromkeys(["/", *menu, *paths]):
            if path in walked and path != "/":
                continue
            walked.add(path)
            page.goto(path)
            page.wait_for_load_state("networkidle")
            for chart in page.locator("[_echarts_instance_] canvas").all()[:2]:  # a chart's tooltip shows on hover
                if chart.is_visible():
                    chart.hover(force=True)
                    page.wait_for_timeout(150)
            violations += [f"{user} {path}: {m}" for m in found]
            found.clear()
        if user in ("leader", "inspector01", "datahub"):
            shot(page, f"csp-{user}-last-page")
    assert violations == [], "\n".join(violations)


def _photo(tmp_path, name: str = "p.jpg"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    Image.new("RGB", (320, 240), "brown").save(path, "JPEG")
    return path


def test_phone_report_refusal_is_beside_each_field_by_label_and_goes_when_fixed(
    new_page, demo_server, tmp_path
) -> None:
    lon, lat = _spot(demo_server)
    phone = new_page(phone=True)
    found = _watch(phone)
    sign_in(phone, "inspector01")
    phone.goto("/citymgmt/report")
    phone.get_by_role("button", name="提交上报").click()
    summary = phone.locator("#cm-report-msg")
    summary.locator("li").first.wait_for(timeout=15000)
    items = summary.locator("li").all_inner_texts()
    assert items == ["问题类别：必填", "经度：必填", "纬度：必填"]  # each field once, by its label
    text = summary.inner_text()
    assert "class_code" not in text
    assert "lon" not in text
    for field in ("class_code", "lon", "lat"):
        assert phone.locator(f"#{field}-error").inner_text() == "必填"
        assert phone.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert f"{field}-error" in (phone.locator(f"#{field}").get_attribute("aria-describedby") or "")
    shot(phone, "forms-phone-report-refused")

    phone.get_by_label("问题类别").select_option("S0102")
    assert phone.locator("#class_code-error").count() == 0  # fixed: its message goes at once
    assert phone.locator("#class_code").get_attribute("aria-invalid") is None
    phone.locator("#cm-pick").click()  # a tap on the map sets both coordinates from a script
    phone.locator("#lon-error").wait_for(state="detached", timeout=3000)
    phone.locator("#lat-error").wait_for(state="detached", timeout=3000)
    assert summary.locator("li").count() == 0
    shot(phone, "forms-phone-report-fixed")

    phone.get_by_label("经度").fill(f"{lon:.6f}")
    phone.get_by_label("纬度").fill(f"{lat:.6f}")
    phone.get_by_role("button", name="提交上报").click()
    phone.locator("#photo-error").wait_for(timeout=15000)  # the photo is checked once the rest is right
    assert phone.locator("#photo-error").inner_text() == "请拍摄或选择现场照片"
    assert summary.locator("li").all_inner_texts() == ["现场照片：请拍摄或选择现场照片"]
    phone.get_by_label("现场照片").set_input_files(str(_photo(tmp_path)))
    assert phone.locator("#photo-error").count() == 0
    phone.get_by_role("button", name="提交上报").click()
    link = phone.locator("#cm-report-msg a")
    link.wait_for(timeout=15000)
    assert re.search(r"已上报，案件编号 \d{12}", link.inner_text())
    assert phone.locator(".field-error").count() == 0
    assert found == []


def test_a_refused_desktop_form_names_each_field_and_focuses_the_summary(new_page) -> None:
    page = new_page()
    sign_in(page, "secadmin")
    page.goto("/admin/users/new")
    page.get_by_label("用户名").fill("1bad")
    page.get_by_role("button", name="创建").click()
    page.wait_for_load_state("networkidle")
    summary = page.locator(".form-summary")
    assert summary.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.classList.contains('form-summary')")
    assert "用户名：" in summary.inner_text()
    assert "部门：必填" in summary.inner_text()
    assert page.locator("#f-department_id-error").inner_text() == "必填"
    assert page.get_by_label("用户名").input_value() == "1bad"  # what was typed stays to be corrected
    summary.get_by_role("link", name="部门：必填").click()
    assert page.evaluate("document.activeElement.id") == "f-department_id"
    shot(page, "forms-new-user-refused")

    page.goto("/admin/users")
    page.get_by_role("button", name="查询").click()  # every filter left at 全部
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="用户管理").is_visible()
    assert "必须是整数" not in page.content()
    shot(page, "forms-users-empty-filter")
