"""三权分立 attacks by a security administrator over HTTP, and the legitimate two-person flow."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD
from zhixian.platform.models import AuditRecord, Department, Role, User


def _uid(db: Session, username: str) -> int:
    return db.execute(select(User.id).where(User.username == username)).scalar_one()


def _dept(db: Session) -> int:
    return db.execute(select(Department.id).order_by(Department.id)).scalars().first()


def _refused(resp, *words: str) -> None:
    assert resp.status_code in (403, 409), resp.text
    detail = resp.json()["detail"]
    assert "三权分立" in detail
    for w in words:
        assert w in detail


def test_security_admin_cannot_create_an_auditor_account(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    resp = admin.post(
        "/api/v1/users",
        json={"username": "fake_auditor", "full_name": "假审计", "department_id": _dept(db), "roles": ["auditor"]},
    )
    _refused(resp, "确认")
    assert db.execute(select(User).where(User.username == "fake_auditor")).first() is None


def test_security_admin_cannot_reset_disable_or_reshape_other_administrators(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    for name in ("auditor", "sysadmin"):
        uid = _uid(db, name)
        _refused(admin.post(f"/api/v1/users/{uid}/reset-password"), "重置")
        _refused(admin.patch(f"/api/v1/users/{uid}", json={"active": False}), "停用")
        _refused(admin.put(f"/api/v1/users/{uid}/roles", json={"roles": []}), "角色")
    assert as_user("auditor").get("/api/v1/audit").status_code == 200


def test_security_admin_cannot_empty_the_auditor_role(as_user) -> None:
    admin = as_user("secadmin")
    _refused(admin.put("/api/v1/roles/auditor", json={"code": "auditor", "name": "审计管理员", "permissions": []}))
    assert as_user("auditor").get("/api/v1/audit").status_code == 200


def test_security_admin_cannot_give_itself_business_roles_or_permissions(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    me = _uid(db, "secadmin")
    _refused(admin.put(f"/api/v1/users/{me}/roles", json={"roles": ["secadmin", "data_authority"]}), "业务角色")
    perms = [*db.get(Role, "secadmin").permissions, "integration.personal.read"]
    _refused(
        admin.put("/api/v1/roles/secadmin", json={"code": "secadmin", "name": "安全管理员", "permissions": perms}),
        "业务权限",
    )
    # nor through a new business role holding the personal-data permission
    made = admin.put(
        "/api/v1/roles/peek", json={"code": "peek", "name": "窥视", "permissions": ["integration.personal.read"]}
    )
    assert made.status_code == 200
    _refused(admin.put(f"/api/v1/users/{me}/roles", json={"roles": ["secadmin", "peek"]}), "业务角色")


def test_security_admin_cannot_create_an_administrator_with_business_roles(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    business = [r.code for r in db.execute(select(Role).where(Role.admin_kind.is_(None))).scalars()]
    resp = admin.post(
        "/api/v1/users",
        json={
            "username": "superuser",
            "full_name": "全能",
            "department_id": _dept(db),
            "roles": ["sysadmin", *business],
        },
    )
    _refused(resp, "业务角色")
    assert resp.json()["errors"][0]["field"] == "roles"


def test_proposed_auditor_account_takes_effect_when_another_duty_confirms(as_user, db: Session, server) -> None:
    admin = as_user("secadmin")
    proposal = admin.post(
        "/api/v1/admin-changes",
        json={
            "kind": "user_create",
            "user": {"username": "auditor2", "full_name": "第二审计", "department_id": _dept(db), "roles": ["auditor"]},
        },
    )
    assert proposal.status_code == 201, proposal.text
    change = proposal.json()["id"]
    assert "initial_password" not in proposal.json()
    # neither the proposing security administrator nor a business user can confirm
    _refused(admin.post(f"/api/v1/admin-changes/{change}/confirm"), "确认")
    _refused(as_user("leader").post(f"/api/v1/admin-changes/{change}/confirm"), "确认")
    assert db.execute(select(User).where(User.username == "auditor2")).first() is None
    confirmed = as_user("sysadmin").post(f"/api/v1/admin-changes/{change}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["change"]["status"] == "confirmed"
    assert body["initial_password"]
    # twice is refused
    assert as_user("sysadmin").post(f"/api/v1/admin-changes/{change}/confirm").status_code == 409
    user = db.execute(select(User).where(User.username == "auditor2")).scalar_one()
    assert [r.code for r in user.roles] == ["auditor"]
    actions = {
        (r.action, r.username)
        for r in db.execute(select(AuditRecord).where(AuditRecord.object_type == "admin_change")).scalars()
    }
    assert {("admin_change_propose", "secadmin"), ("admin_change_confirm", "sysadmin")} <= actions


def test_auditor_password_reset_is_proposed_then_confirmed_and_the_password_goes_to_the_confirmer(
    as_user, db: Session, http
) -> None:
    admin = as_user("secadmin")
    target = _uid(db, "auditor")
    change = admin.post("/api/v1/admin-changes", json={"kind": "user_reset", "user_id": target}).json()["id"]
    # the auditor cannot confirm a change to their own account; the system administrator can
    _refused(as_user("auditor").post(f"/api/v1/admin-changes/{change}/confirm"), "本人")
    done = as_user("sysadmin").post(f"/api/v1/admin-changes/{change}/confirm").json()
    assert "会话" in done["message"]
    assert http.login("auditor", PASSWORD).status_code == 401
    assert http.login("auditor", done["initial_password"]).status_code == 200


def test_change_to_an_administrator_role_needs_a_confirmer_who_does_not_hold_it(as_user) -> None:
    admin = as_user("secadmin")
    role = {"code": "auditor", "name": "审计管理员", "permissions": ["platform.audit.read"]}
    change = admin.post("/api/v1/admin-changes", json={"kind": "role", "role": role}).json()["id"]
    _refused(as_user("auditor").post(f"/api/v1/admin-changes/{change}/confirm"), "本人")
    assert as_user("sysadmin").post(f"/api/v1/admin-changes/{change}/confirm").status_code == 200
    auditor = as_user("auditor")
    assert auditor.get("/api/v1/audit").status_code == 200
    assert auditor.get("/api/v1/audit/export.csv").status_code == 403


def test_proposals_are_checked_against_the_rules_when_made(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    me = _uid(db, "secadmin")
    bad = admin.post(
        "/api/v1/admin-changes", json={"kind": "user_roles", "user_id": me, "roles": ["secadmin", "data_authority"]}
    )
    _refused(bad, "业务角色")
    assert (
        as_user("leader").post("/api/v1/admin-changes", json={"kind": "user_reset", "user_id": me}).status_code == 403
    )
