"""Password changes and resets end sessions and API tokens; tokens expire, need a permission and cannot
breed tokens; recent passwords cannot be reused."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, Client
from zhixian.platform.models import User

NEW = "Neu-Passw0rt!"


def _token(client: Client, **extra: object) -> str:
    resp = client.post("/api/v1/me/tokens", json={"name": "机器", **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()["token"]


def _uid(db: Session, username: str) -> int:
    return db.execute(select(User.id).where(User.username == username)).scalar_one()


def test_own_password_change_ends_other_sessions_and_all_tokens(as_user, server) -> None:
    me = as_user("gaj_officer")
    other = as_user("gaj_officer")
    token = _token(me)
    changed = me.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert changed.status_code == 204
    assert changed.headers["x-sessions-ended"] == "1"
    assert changed.headers["x-tokens-revoked"] == "1"
    assert me.get("/api/v1/me").status_code == 200  # the session that changed it stays
    assert other.get("/api/v1/me").status_code == 401
    with Client(base_url=server.url) as machine:
        assert machine.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_password_change_page_says_sessions_and_tokens_ended(as_user) -> None:
    me = as_user("gaj_officer")
    form = {
        "current_password": PASSWORD,
        "new_password": NEW,
        "confirm_password": NEW,
        "csrf_token": me.headers["X-CSRF-Token"],
    }
    resp = me.post("/account/password", data=form)
    assert resp.status_code == 303
    home = me.get(resp.headers["location"])
    assert "API 令牌已全部吊销" in home.text
    assert "会话已全部结束" in home.text


def test_admin_reset_ends_all_sessions_and_tokens_and_says_so(as_user, db: Session, server) -> None:
    victim = as_user("gaj_officer")
    token = _token(victim)
    admin = as_user("secadmin")
    uid = _uid(db, "gaj_officer")
    reset = admin.post(f"/api/v1/users/{uid}/reset-password")
    assert reset.status_code == 200
    assert "吊销全部 1 个 API 令牌" in reset.json()["message"]
    assert victim.get("/api/v1/me").status_code == 401
    with Client(base_url=server.url) as machine:
        assert machine.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    page = admin.post(
        f"/admin/users/{uid}/action", data={"action": "reset", "csrf_token": admin.headers["X-CSRF-Token"]}
    )
    assert page.status_code == 200
    assert "API 令牌" in page.text
    assert "会话" in page.text


def test_previous_passwords_cannot_be_reused(as_user) -> None:
    me = as_user("gaj_officer")
    assert me.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW}).status_code == 204
    back = me.post("/api/v1/me/password", json={"current_password": NEW, "new_password": PASSWORD})
    assert back.status_code == 422
    assert "最近 5 次" in back.json()["detail"]
    assert back.json()["errors"][0]["field"] == "new_password"


def test_tokens_expire_within_the_limit_and_cannot_create_tokens(as_user, server) -> None:
    me = as_user("gaj_officer")
    too_long = me.post("/api/v1/me/tokens", json={"name": "长期", "days": 400})
    assert too_long.status_code == 422
    assert "365" in too_long.json()["detail"]
    token = _token(me)
    info = me.get("/api/v1/me/tokens").json()[0]
    assert info["expires_at"] is not None
    with Client(base_url=server.url) as machine:
        bred = machine.post("/api/v1/me/tokens", json={"name": "子令牌"}, headers={"Authorization": f"Bearer {token}"})
        assert bred.status_code == 403
        assert "令牌" in bred.json()["detail"]


def test_only_roles_with_machine_access_may_create_tokens(as_user) -> None:
    inspector = as_user("inspector01")
    resp = inspector.post("/api/v1/me/tokens", json={"name": "x"})
    assert resp.status_code == 403
    assert "不能创建 API 令牌" in inspector.get("/account").text
