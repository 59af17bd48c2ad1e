"""A role can require a TOTP second factor: first sign-in enrols, later sign-ins must pass it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest

from tests.conftest import Client


@pytest.fixture
def totp_for_secadmin(node) -> Iterator[None]:
    node.settings.mfa_required_roles = ["secadmin"]
    yield
    node.settings.mfa_required_roles = []


def test_required_second_factor_blocks_everything_until_passed(http: Client, totp_for_secadmin: None) -> None:
    login = http.login("secadmin")
    assert login.json()["mfa_required"] is True
    blocked = http.get("/api/v1/users")
    assert blocked.status_code == 403
    assert "动态口令" in blocked.json()["detail"]

    page = http.get("/login/totp")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    wrong = http.post("/login/totp", data={"code": "000000", "csrf_token": http.headers["X-CSRF-Token"]})
    assert wrong.status_code == 422
    assert "动态口令不正确" in wrong.text
    ok = http.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": http.headers["X-CSRF-Token"]})
    assert ok.status_code == 303
    assert http.get("/api/v1/users").status_code == 200

    # next sign-in: already enrolled, the same secret is asked for, not a new one
    again = Client(base_url=str(http.base_url))
    assert again.login("secadmin").json()["mfa_required"] is True
    assert '<code class="secret">' not in again.get("/login/totp").text
    passed = again.post("/login/totp", data={"code": pyotp.TOTP(secret).now(),
                                             "csrf_token": again.headers["X-CSRF-Token"]})
    assert passed.status_code == 303
    assert again.get("/api/v1/users").status_code == 200
    again.close()
