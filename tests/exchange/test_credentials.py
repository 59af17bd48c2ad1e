"""Applications and credentials: a secret shown once, signatures that cannot be forged, replayed or
sent from the wrong time or place, and limits answered with 429 and Retry-After."""

from __future__ import annotations

from sqlalchemy import select
from tests.exchange.helpers import GATEWAY, people

from zhixian import clock
from zhixian.exchange import signing
from zhixian.exchange.models import Application, Event
from zhixian.exchange.settings import CLOCK_SKEW_SECONDS


def test_the_secret_is_shown_once_and_kept_only_encrypted(as_user, db) -> None:
    officer = as_user("mzj_officer")
    created = officer.post(
        "/api/v1/exchange/applications", json={"name": "低保审核（测试）", "ip_allow": ["10.1.0.0/16"]}
    )
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    body = created.json()
    secret, app = body["client_secret"], body["application"]
    assert app["secret_fingerprint"] == signing.fingerprint(secret)
    shown = officer.get(f"/api/v1/exchange/applications/{app['id']}")
    assert secret not in shown.text
    assert "secret_enc" not in shown.json()
    assert secret not in officer.get("/api/v1/exchange/applications").text
    row = db.get(Application, app["id"])
    assert row is not None
    assert secret not in row.secret_enc
    assert row.secret_enc.startswith("sm4.")
    events = db.execute(select(Event).where(Event.application_id == app["id"])).scalars().all()
    assert [e.action for e in events] == ["app_created"]
    assert secret not in str(events[0].detail)
    bad = officer.post("/api/v1/exchange/applications", json={"name": "x", "ip_allow": ["300.1.1.1"]})
    assert bad.status_code == 422
    assert "不是有效的 IP" in bad.json()["detail"]


def test_signatures_refuse_forgery_replay_skew_and_missing_parts(mzj, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    gw, rid = mzj.gateway, mzj.resource
    body = {"key": idn}

    def detail(resp) -> str:
        assert resp.status_code == 401, resp.text
        assert resp.headers["WWW-Authenticate"] == "ZX-HMAC-SM3"
        return resp.json()["detail"]

    assert "签名不正确" in detail(gw.call("lookup", rid, body, secret="not-the-secret"))
    nonce = "n" * 20
    assert gw.call("lookup", rid, body, nonce=nonce).status_code == 200
    assert "重放" in detail(gw.call("lookup", rid, body, nonce=nonce))
    now = int(clock.utcnow().timestamp())
    skew = node.settings.declared(CLOCK_SKEW_SECONDS)
    ahead = detail(gw.call("lookup", rid, body, timestamp=now + skew + 100))
    assert f"允许的 {skew} 秒" in ahead
    assert "服务器时间" in ahead
    assert "允许的" in detail(gw.call("lookup", rid, body, timestamp=now - skew - 100))
    assert gw.call("lookup", rid, body, timestamp=now - skew + 30).status_code == 200  # inside the window
    assert "X-ZX-Nonce" in detail(gw.call("lookup", rid, body, drop="X-ZX-Nonce"))
    assert "X-ZX-Signature" in detail(gw.call("lookup", rid, body, drop="X-ZX-Signature"))
    assert "nonce" in detail(gw.call("lookup", rid, body, nonce="short")).lower()
    assert "不存在" in detail(gw.call("lookup", rid, body, client_id="zx0000000000000000"))
    # a body changed after signing no longer matches its signature
    signed = gw.call("lookup", rid, body, raw=b'{"key": "%s"}' % idn.encode())
    assert signed.status_code == 200
    tampered_nonce = "t" * 24
    stamp = str(int(clock.utcnow().timestamp()))
    sig = signing.sign(
        gw.secret, "POST", f"{GATEWAY}/resources/{rid}/lookup", "", stamp, tampered_nonce, b'{"key":"1"}'
    )
    resp = gw.http.post(
        f"{GATEWAY}/resources/{rid}/lookup",
        content=b'{"key":"2"}',
        headers={
            "X-ZX-Client-Id": gw.client_id,
            "X-ZX-Timestamp": stamp,
            "X-ZX-Nonce": tampered_nonce,
            "X-ZX-Signature": sig,
        },
    )
    assert resp.status_code == 401


def test_rotating_the_secret_refuses_the_old_one_at_once(mzj, as_user, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    officer = as_user("mzj_officer")
    rotated = officer.post(f"/api/v1/exchange/applications/{mzj.app['id']}/secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != mzj.gateway.secret
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 401
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}, secret=new_secret).status_code == 200
    # another department can neither see nor rotate it
    other = as_user("zjj_officer")
    assert other.get(f"/api/v1/exchange/applications/{mzj.app['id']}").status_code == 404
    assert other.post(f"/api/v1/exchange/applications/{mzj.app['id']}/secret").status_code == 404


def test_disabled_applications_and_foreign_addresses_are_refused(mzj, as_user, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    officer = as_user("mzj_officer")
    url = f"/api/v1/exchange/applications/{mzj.app['id']}"
    assert officer.patch(url, json={"ip_allow": ["10.9.0.0/16"]}).status_code == 200
    refused = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert refused.status_code == 403
    assert "127.0.0.1" in refused.json()["detail"]
    assert officer.patch(url, json={"ip_allow": ["127.0.0.0/8"]}).status_code == 200
    assert mzj.gateway.call("lookup", mzj.resource, {"key": idn}).status_code == 200
    assert officer.patch(url, json={"status": "disabled"}).status_code == 200
    disabled = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert disabled.status_code == 403
    assert "停用" in disabled.json()["detail"]


def test_limits_answer_429_with_retry_after(mzj, as_user, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    officer = as_user("mzj_officer")
    url = f"/api/v1/exchange/applications/{mzj.app['id']}"
    assert officer.patch(url, json={"rate_per_minute": 3}).status_code == 200
    answers = [mzj.gateway.call("lookup", mzj.resource, {"key": idn}) for _ in range(7)]
    codes = [a.status_code for a in answers]
    # 7 calls split over at most two minutes: one of them holds 4 or more
    assert codes.count(429) >= 1
    limited = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "每分钟最多 3 次" in limited.json()["detail"]
    assert limited.json()["title"] == "请求过于频繁"
    assert officer.patch(url, json={"rate_per_minute": 600, "daily_quota": 1}).status_code == 200
    quota = mzj.gateway.call("lookup", mzj.resource, {"key": idn})
    assert quota.status_code == 429
    assert "配额" in quota.json()["detail"]
    assert int(quota.headers["Retry-After"]) <= 86400
