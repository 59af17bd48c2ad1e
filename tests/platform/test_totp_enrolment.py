"""Turning on the second factor from the account page: the page says it is the user's choice (not a
role's rule), shows a QR code drawn on the server, a secret and address that can be copied, and ends
back on the account page with TOTP on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from zhixian.clock import utcnow

SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')


@pytest.fixture
def totp_for_secadmin(node) -> Iterator[None]:
    node.settings.mfa_required_roles = ["secadmin"]
    yield
    node.settings.mfa_required_roles = []


def test_voluntary_enrolment_says_so_shows_a_qr_code_and_returns_to_the_account(as_user: Any) -> None:
    staff = as_user("staff")
    account = staff.get("/account").text
    start = re.search(r'href="(/login/totp\?[^"]+)">启用动态口令', account).group(1)
    page = staff.get(start.replace("&amp;", "&"))
    assert page.status_code == 200
    html = page.text
    assert "您的角色要求" not in html
    assert "启用后，每次登录除密码外" in html
    assert "暂不启用" in html
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert "<title>动态口令绑定二维码</title>" in svg
    assert "<path" in svg
    uri = re.search(r'<code class="wrap" id="totp-uri">([^<]+)</code>', html).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/")
    assert 'data-copy="totp-uri"' in html
    assert 'data-copy="totp-secret"' in html
    secret = SECRET.search(html).group(1)
    assert pyotp.parse_uri(uri).secret == secret

    # a wrong code keeps the same secret on the page: the user corrects the app instead of starting over
    wrong = staff.post(
        "/login/totp", data={"code": "000000", "next": "/account?totp=on", "csrf_token": staff.headers["X-CSRF-Token"]}
    )
    assert wrong.status_code == 422
    assert SECRET.search(wrong.text).group(1) == secret
    done = staff.post(
        "/login/totp",
        data={
            "code": pyotp.TOTP(secret).at(utcnow()),
            "next": "/account?totp=on",
            "csrf_token": staff.headers["X-CSRF-Token"],
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account?totp=on"
    after = staff.get("/account?totp=on").text
    assert "动态口令已启用" in after
    assert "启用动态口令</a>" not in after
    # enrolled and already proved in this session: the enrolment page is not shown again
    assert staff.get("/login/totp").headers.get("location") == "/account"


def test_required_enrolment_says_the_role_requires_it(as_user: Any, http: Any, totp_for_secadmin: None) -> None:
    http.login("secadmin")
    html = http.get("/login/totp").text
    assert "您的角色要求使用动态口令" in html
    assert "暂不启用" not in html  # no way around it
    assert "<svg" in html
    assert SECRET.search(html)
