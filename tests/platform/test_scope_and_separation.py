"""Department scope (IDOR), three-role separation (三权分立) and audited personal-data reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.platform.models import AuditRecord, User


def _uid(db: Session, username: str) -> int:
    return db.execute(select(User.id).where(User.username == username)).scalar_one()


def test_officer_sees_only_own_department_subtree(as_user, db: Session) -> None:
    client = as_user("gaj_officer")
    page = client.get("/api/v1/users", params={"size": 200}).json()
    departments = {u["department_name"] for u in page["items"]}
    assert departments, page
    assert all("公安" in d or "派出所" in d or "交警" in d for d in departments), departments
    assert page["total"] == len(page["items"])


def test_user_of_department_a_gets_404_for_department_b_objects(as_user, db: Session) -> None:
    client = as_user("gaj_officer")
    other = _uid(db, "zjj_officer")
    assert client.get(f"/api/v1/users/{other}").status_code == 404
    assert client.get(f"/api/v1/users/{other}/personal").status_code == 404
    # changing the ID to a colleague in the same department works
    colleague = client.get("/api/v1/users", params={"size": 1}).json()["items"][0]["id"]
    assert client.get(f"/api/v1/users/{colleague}").status_code == 200


def test_officer_cannot_manage_users_at_all(as_user, db: Session) -> None:
    client = as_user("gaj_officer")
    target = _uid(db, "zjj_officer")
    assert client.patch(f"/api/v1/users/{target}", json={"active": False}).status_code == 403
    assert (
        client.post("/api/v1/users", json={"username": "x1234", "full_name": "某", "department_id": 1}).status_code
        == 403
    )


def test_one_person_cannot_hold_two_administrator_roles(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    sysadmin = _uid(db, "sysadmin")
    resp = admin.put(f"/api/v1/users/{sysadmin}/roles", json={"roles": ["sysadmin", "auditor"]})
    assert resp.status_code == 409
    assert "三权分立" in resp.json()["detail"]
    created = admin.post(
        "/api/v1/users",
        json={"username": "twohats", "full_name": "双职", "department_id": 1, "roles": ["secadmin", "auditor"]},
    )
    assert created.status_code == 409
    assert created.json()["errors"][0]["field"] == "roles"
    # an administrator permission cannot be smuggled into an ordinary role either
    role = admin.put(
        "/api/v1/roles/staff", json={"code": "staff", "name": "一般工作人员", "permissions": ["platform.audit.read"]}
    )
    assert role.status_code == 409


def test_system_admin_cannot_read_audit_and_auditor_cannot_change_anything(as_user, db: Session) -> None:
    sysadmin = as_user("sysadmin")
    assert sysadmin.get("/api/v1/audit").status_code == 403
    assert sysadmin.get("/api/v1/audit/verify").status_code == 403
    auditor = as_user("auditor")
    assert auditor.get("/api/v1/audit").status_code == 200
    target = _uid(db, "staff")
    assert auditor.patch(f"/api/v1/users/{target}", json={"active": False}).status_code == 403
    assert auditor.put(f"/api/v1/users/{target}/roles", json={"roles": []}).status_code == 403
    assert auditor.put("/api/v1/roles/staff", json={"code": "staff", "name": "x", "permissions": []}).status_code == 403
    assert auditor.post("/api/v1/departments", json={"code": "x", "name": "新部门"}).status_code == 403


def test_permission_changes_are_audited_with_before_and_after(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    target = _uid(db, "staff")
    assert admin.put(f"/api/v1/users/{target}/roles", json={"roles": ["staff", "dept_head"]}).status_code == 200
    rec = db.execute(
        select(AuditRecord).where(AuditRecord.action == "permission_change", AuditRecord.object_id == str(target))
    ).scalar_one()
    assert rec.detail == {"before": ["staff"], "after": ["staff", "dept_head"]}
    assert rec.username == "secadmin"


def test_unmasked_phone_is_shown_only_on_an_audited_read(as_user, db: Session) -> None:
    admin = as_user("secadmin")
    target = _uid(db, "leader")
    masked = admin.get(f"/api/v1/users/{target}").json()["phone_masked"]
    assert "****" in masked
    full = admin.get(f"/api/v1/users/{target}/personal").json()["phone"]
    assert len(full) == 11
    assert (full[:3], full[-4:]) == (masked[:3], masked[-4:])
    reads = (
        db.execute(
            select(AuditRecord).where(AuditRecord.action == "personal_read", AuditRecord.object_id == str(target))
        )
        .scalars()
        .all()
    )
    assert len(reads) == 1
    assert reads[0].username == "secadmin"
    assert reads[0].ip == "127.0.0.1"
