"""Signing in to the citizen portal: real-name check against the population base, a one-time code through the
file sender, limits kept in the database, the same answer whether or not an ID number exists, and realms kept
apart (a staff cookie opens no portal page, a citizen cookie no staff page)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.services.helpers import at
from tests.services.portal_helpers import (
    CHALLENGE,
    CSRF,
    HTML,
    citizen,
    last_code,
    people,
    send_code,
    sent_lines,
    start,
)
from tests.services.portal_report_helpers import make_citizen
from zhixian import clock
from zhixian.platform.models import AuditRecord
from zhixian.services.portal.models import Citizen, CitizenCode

# a valid ID number (GB 11643 check digit) that the demo population does not hold
UNKNOWN = "11010519491231002X"


def _audits(db, action: str, result: str | None = None) -> int:
    stmt = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)
    if result:
        stmt = stmt.where(AuditRecord.result == result)
    return int(db.execute(stmt).scalar_one())


def test_sign_in_with_the_code_creates_the_citizen_and_a_session_and_is_audited(server, node, db, http):
    key, name, person = people(db, node.cipher, 1)[0]
    before = _audits(db, "services.citizen_sign_in")
    resp = start(http, name, key, "13912345678")
    assert resp.status_code == 200
    line = sent_lines(node)[-1]
    assert line["to"] == "139****5678"
    assert key not in resp.text
    done = send_code(http, resp, last_code(node))
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/me"
    assert "zx_citizen" in done.cookies
    me = http.get("/portal/me", headers=HTML)
    assert me.status_code == 200
    assert name in me.text
    row = db.execute(select(Citizen).where(Citizen.id_index == person.id_index)).scalar_one()
    assert row.phone_masked == "139****5678"
    assert key not in (row.id_masked, row.name)
    assert _audits(db, "services.citizen_sign_in") == before + 1
    newest = select(AuditRecord).where(AuditRecord.action == "services.citizen_sign_in")
    audit_row = db.execute(newest.order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
    assert audit_row.username.startswith("citizen:")
    assert key not in audit_row.username


def _normal(text: str) -> str:
    text = CHALLENGE.sub("challenge", text)
    return CSRF.sub("csrf", re.sub(r'name="csrf-token" content="[^"]+"', "", text))


def test_the_answer_to_step_one_does_not_reveal_whether_an_id_number_exists(server, node, db, http):
    key, name, _ = people(db, node.cipher, 1)[0]
    sent_before = len(sent_lines(node))
    codes_before = db.execute(select(func.count()).select_from(CitizenCode)).scalar_one()
    real = start(http, name, key)
    unknown = start(http, name, UNKNOWN)
    wrong_name = start(http, name + "某", key)

    assert real.status_code == unknown.status_code == wrong_name.status_code == 200
    assert _normal(real.text) == _normal(unknown.text) == _normal(wrong_name.text)
    assert len(sent_lines(node)) == sent_before + 1  # only the match got a code
    assert db.execute(select(func.count()).select_from(CitizenCode)).scalar_one() == codes_before + 3
    # a code for the unknown number signs nobody in, whatever is typed
    done = send_code(http, unknown, last_code(node))
    assert done.status_code == 422
    assert "zx_citizen" not in done.cookies


def test_fifth_wrong_code_spends_it_and_the_right_code_no_longer_works(server, node, db, http):
    key, name, _ = people(db, node.cipher, 1)[0]
    resp = start(http, name, key)
    code = last_code(node)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    failures = _audits(db, "services.citizen_sign_in", "失败")
    for left in (4, 3, 2, 1):
        bad = send_code(http, resp, wrong)
        assert bad.status_code == 422
        assert f"还可以再试 {left} 次" in bad.text
    bad = send_code(http, resp, wrong)
    assert "过多" in bad.text
    late = send_code(http, resp, code)
    assert late.status_code == 422
    assert "zx_citizen" not in late.cookies
    assert _audits(db, "services.citizen_sign_in", "失败") == failures + 5


def test_codes_per_id_number_are_limited_per_hour_across_requests(server, node, db, http):
    key, name, _ = people(db, node.cipher, 1)[0]
    for _ in range(5):
        assert start(http, name, key).status_code == 200
    refused = start(http, name, key)
    assert refused.status_code == 429
    assert "过于频繁" in refused.text
    # the same limit for a number nobody holds: the limit does not tell either
    for _ in range(5):
        assert start(http, name, UNKNOWN).status_code == 200
    assert start(http, name, UNKNOWN).status_code == 429


def test_a_code_expires_after_five_minutes(server, node, db, http):
    key, name, _ = people(db, node.cipher, 1)[0]
    resp = start(http, name, key)
    code = last_code(node)
    with at(clock.utcnow() + timedelta(minutes=6)):
        late = send_code(http, resp, code)
    assert late.status_code == 422
    assert "失效" in late.text


def test_staff_and_citizen_sessions_never_open_each_others_pages(server, node, db, as_user):
    key, name, _ = people(db, node.cipher, 1)[0]
    staff = as_user("window01")
    for page in ("/portal/me", "/portal/me/usage", "/portal/me/consents"):
        resp = staff.get(page, headers=HTML, follow_redirects=False)
        assert resp.status_code in (302, 303, 401), page
        assert "/portal/login" in resp.headers.get("location", resp.text)
    assert staff.post("/portal/me/consents", data={"scope": "prefill", "do": "give"}).status_code in (401, 403)
    person = citizen(server, node, name, key)
    for page in ("/services/window", "/services/applications", "/"):
        resp = person.get(page, headers=HTML, follow_redirects=False)
        assert resp.status_code in (302, 303, 401), page
        assert "/portal" not in resp.headers.get("location", "")
    assert person.get("/api/v1/services/matters").status_code == 401
    # the citizen cookie sent as the staff cookie opens nothing either
    token = person.cookies.get("zx_citizen")
    swapped = type(person)(base_url=server.url, cookies={"zx_session": token})
    assert swapped.get("/api/v1/services/matters").status_code == 401
    person.close()
    swapped.close()


def test_citizen_writes_need_the_sessions_csrf_token_and_logout_ends_the_session(server, node, db):
    key, name, _ = people(db, node.cipher, 1)[0]
    person = citizen(server, node, name, key)
    token = person.headers.pop("X-CSRF-Token")
    refused = person.post("/portal/me/consents", data={"scope": "prefill", "do": "give"}, headers=HTML)
    assert refused.status_code == 403
    forged = person.post(
        "/portal/me/consents", data={"scope": "prefill", "do": "give", "csrf_token": "x" * 32}, headers=HTML
    )
    assert forged.status_code == 403
    ok = person.post("/portal/me/consents", data={"scope": "prefill", "do": "give", "csrf_token": token}, headers=HTML)
    assert ok.status_code == 200
    out = person.post("/portal/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert person.get("/portal/me", headers=HTML, follow_redirects=False).status_code in (302, 303, 401)
    person.close()


def test_the_purge_job_removes_ended_sessions_and_day_old_codes_and_keeps_the_rest(node, db) -> None:
    from zhixian.services.portal import sessions
    from zhixian.services.portal.models import CitizenSession
    from zhixian.services.tasks import citizen_purge

    settings = node.settings
    now = clock.utcnow()
    live, idle, old = (make_citizen(db, node.cipher, name=n) for n in ("甲", "乙", "丙"))
    rows = {
        r.citizen_id: r
        for r in db.execute(select(CitizenSession)).scalars()
        if r.citizen_id in (live.citizen_id, idle.citizen_id, old.citizen_id)
    }
    idle_for, lifetime = sessions.limits(settings)
    rows[live.citizen_id].last_seen_at = now - idle_for + timedelta(minutes=1)
    rows[idle.citizen_id].last_seen_at = now - idle_for - timedelta(minutes=1)
    rows[old.citizen_id].created_at = now - lifetime - timedelta(minutes=1)
    rows[old.citizen_id].last_seen_at = now  # in use, but past its lifetime
    for minutes, challenge in ((60 * 24 + 1, "old"), (60 * 24 - 1, "recent")):
        db.add(
            CitizenCode(challenge=challenge, code_hash="x", created_at=now - timedelta(minutes=minutes), expires_at=now)
        )
    db.flush()
    assert sessions.purge(db, settings=settings) >= 3  # ours, and any other test left behind
    left = set(db.execute(select(CitizenSession.citizen_id)).scalars())
    assert live.citizen_id in left
    assert not {idle.citizen_id, old.citizen_id} & left
    assert set(db.execute(select(CitizenCode.challenge)).scalars()) & {"old", "recent"} == {"recent"}
    assert citizen_purge(node) >= 0  # the job runs in its own transaction


def test_citizen_sessions_end_sooner_than_staff_sessions_and_follow_their_settings(node, db, tmp_path) -> None:
    """A citizen idle 20 minutes (a staff session would live on to 30) signs in again; a county may
    change the citizen limits within their bounds (never beyond the staff maximum of 30 minutes)."""
    from zhixian.services.portal import sessions
    from zhixian.services.portal.models import CitizenSession
    from zhixian.settings import Settings

    assert sessions.limits(node.settings) == (timedelta(minutes=15), timedelta(hours=2))
    assert node.settings.session_idle_minutes == 30

    def idle_twenty_minutes(name: str):
        made = make_citizen(db, node.cipher, name=name)
        row = db.execute(select(CitizenSession).where(CitizenSession.citizen_id == made.citizen_id)).scalar_one()
        row.last_seen_at = clock.utcnow() - timedelta(minutes=20)
        db.flush()
        return made, row.id

    made, row_id = idle_twenty_minutes("甲")
    assert sessions.resolve(db, settings=node.settings, token=made.cookie) is None
    assert db.get(CitizenSession, row_id) is None  # ended, not merely refused
    tuned = Settings(data_dir=tmp_path, subsystems={"services": {"citizen_idle_minutes": 25}})
    made, row_id = idle_twenty_minutes("乙")
    assert sessions.resolve(db, settings=tuned, token=made.cookie) is not None
    too_long = Settings(data_dir=tmp_path, subsystems={"services": {"citizen_idle_minutes": 60}})
    with pytest.raises(ValueError, match="citizen_idle_minutes 的值 60 超出范围 1–30"):
        sessions.limits(too_long)
