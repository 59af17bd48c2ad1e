"""Two roles sign in through the real login page and see their own home pages."""

from __future__ import annotations

from tests.e2e.conftest import shot, sign_in


def test_security_admin_and_auditor_each_see_their_own_home(new_page) -> None:
    admin = new_page()
    sign_in(admin, "secadmin")
    assert admin.url.endswith("/")
    assert admin.get_by_text("在用账号").is_visible()
    assert admin.get_by_role("link", name="用户管理").is_visible()
    assert admin.get_by_role("link", name="审计日志").count() == 0
    shot(admin, "home-secadmin")

    auditor = new_page()
    sign_in(auditor, "auditor")
    assert auditor.get_by_text("今日登录失败").is_visible()
    assert auditor.get_by_role("link", name="用户管理").count() == 0
    auditor.get_by_role("link", name="审计日志").click()
    auditor.wait_for_load_state("networkidle")
    assert auditor.get_by_role("cell", name="secadmin").first.is_visible()
    shot(auditor, "audit-log-auditor")


def test_wrong_password_shows_a_chinese_message_on_the_login_page(new_page) -> None:
    page = new_page(phone=True)
    sign_in(page, "staff", "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("用户名或密码错误")
    shot(page, "login-error-phone")


def test_pages_make_no_external_requests(new_page, demo_server) -> None:
    page = new_page()
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(demo_server.url) else None)
    sign_in(page, "sysadmin")
    for path in ("/", "/admin/org", "/admin/calendar", "/admin/subsystems", "/api/docs"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert outside == []
    shot(page, "api-docs")
