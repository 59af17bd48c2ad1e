"""A role can require a TOTP second factor: first sign-in enrols, later sign-ins must pass it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest

from tests.conftest import Client
from zhixian import clock
from zhixian.clock import utcnow


def _code(secret: str, steps: int = 0) -> str:
    """The code an authenticator shows, on the server's (pinned) clock."""
    return pyotp.TOTP(secret).at(utcnow(), counter_offset=steps)


@pytest.fixture
def totp_for_secadmin(node) -> Iterator[None]:
    node.settings.mfa_required_roles = ["secadmin"]
    # start at the beginning of a 30 s step, so "the code just used" is still the current one when a
    # loaded machine takes seconds between two requests (else a replay check meets a fresh code)
    before = utcnow()
    clock.pin(before.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=1))
    yield
    clock.pin(before + (utcnow() - before.replace(second=0, microsecond=0) - timedelta(minutes=1, seconds=1)))
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
    ok = http.post("/login/totp", data={"code": _code(secret), "csrf_token": http.headers["X-CSRF-Token"]})
    assert ok.status_code == 303
    assert http.get("/api/v1/users").status_code == 200

    # next sign-in: already enrolled, the same secret is asked for, not a new one
    again = Client(base_url=str(http.base_url))
    assert again.login("secadmin").json()["mfa_required"] is True
    assert '<code class="secret">' not in again.get("/login/totp").text
    # the code just used is refused (replay); the next time-step's code, within the drift window, works
    replay = again.post("/login/totp", data={"code": _code(secret), "csrf_token": again.headers["X-CSRF-Token"]})
    assert replay.status_code == 422
    assert "已使用过" in replay.text
    passed = again.post("/login/totp", data={"code": _code(secret, 1), "csrf_token": again.headers["X-CSRF-Token"]})
    assert passed.status_code == 303
    assert again.get("/api/v1/users").status_code == 200
    again.close()


def _enrolled(http: Client) -> str:
    """Signs secadmin in and enrols TOTP; returns the secret (the next step's code is still unused)."""
    http.login("secadmin")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', http.get("/login/totp").text).group(1)
    done = http.post("/login/totp", data={"code": _code(secret, -1), "csrf_token": http.headers["X-CSRF-Token"]})
    assert done.status_code == 303
    return secret


def test_one_code_works_in_one_session_only(http: Client, server, totp_for_secadmin: None) -> None:
    secret = _enrolled(http)
    code = _code(secret)
    first, second = Client(base_url=server.url), Client(base_url=server.url)
    for c in (first, second):
        assert c.login("secadmin").json()["mfa_required"] is True
    assert (
        first.post("/login/totp", data={"code": code, "csrf_token": first.headers["X-CSRF-Token"]}).status_code == 303
    )
    again = second.post("/login/totp", data={"code": code, "csrf_token": second.headers["X-CSRF-Token"]})
    assert again.status_code == 422
    assert second.get("/api/v1/users").status_code == 403
    first.close()
    second.close()


def test_wrong_codes_count_toward_the_lockout_and_are_audited(http: Client, server, db, totp_for_secadmin) -> None:
    from sqlalchemy import func, select

    from zhixian.platform.models import AuditRecord, User

    _enrolled(http)
    start = db.execute(select(func.max(AuditRecord.id))).scalar_one()
    guesser = Client(base_url=server.url)
    guesser.login("secadmin")
    answers = [
        guesser.post("/login/totp", data={"code": f"{n:06d}", "csrf_token": guesser.headers["X-CSRF-Token"]})
        for n in range(200, 206)
    ]
    assert [a.status_code for a in answers[:5]] == [422] * 5
    assert "已锁定" in answers[4].text
    # the pending session ended with the lockout; a fresh sign-in with the right password is refused too
    assert answers[5].status_code in (401, 303) or "请先登录" in answers[5].text
    assert guesser.get("/api/v1/me").status_code == 401
    relogin = Client(base_url=server.url)
    refused = relogin.login("secadmin")
    assert refused.status_code == 401
    assert "锁定" in refused.json()["detail"]
    user = db.execute(select(User).where(User.username == "secadmin")).scalar_one()
    db.refresh(user)
    assert user.locked_until is not None
    rows = db.execute(select(AuditRecord).where(AuditRecord.id > start)).scalars().all()
    assert [r.detail.get("reason") for r in rows if r.action == "login_failed"][:5] == ["bad_totp"] * 5
    assert any(r.action == "account_locked" and r.result == "锁定" for r in rows)
    guesser.close()
    relogin.close()
