"""IDOR: every route with an object id, and every list filter, tried by a user of another department.

Each route with a path parameter is classified below: an object route names the object it addresses
and the user who holds the route's permission but not that object's department; everything else
says why its parameter is not a department's object. A new route fails
``test_every_route_with_a_path_parameter_is_classified`` until it is added here, so the walk covers
the next route too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.platform.test_routes import _flat

# a path parameter that is not a department's object, and why
NOT_OBJECTS: dict[str, str] = {
    "/api/v1/me/tokens/{token_id}": "the caller's own tokens only (tested in test_auth_http)",
    "/api/v1/roles/{code}": "roles are county-wide; only the security administrator manages them",
    "/api/v1/calendar/overrides/{day}": "a calendar day, county-wide",
    "/api/v1/catalog/export.{fmt}": "a file format",
    "/api/v1/citymgmt/classes/{code}": "case classes are the centre's county-wide configuration",
    "/citymgmt/config/classes/{code}": "case classes are the centre's county-wide configuration",
    "/api/v1/citymgmt/evaluation/{kind}.xlsx": "an evaluation kind; evaluation is county-wide",
    "/api/v1/citymgmt/evaluation/{kind}": "an evaluation kind; evaluation is county-wide",
    "/open311/v2/services/{service_code}.json": "public service list",
    "/open311/v2/services/{service_code}.xml": "public service list",
    "/open311/v2/requests/{service_request_id}.json": "public requests (test_open311_privacy)",
    "/open311/v2/requests/{service_request_id}.xml": "public requests (test_open311_privacy)",
    "/open311/v2/tokens/{token}.json": "public token lookup",
    "/open311/v2/tokens/{token}.xml": "public token lookup",
    "/api/v1/catalog/systems/{system_id}": "GET: the system registry is county-wide; writes are checked below",
    "/catalog/systems/{system_id}": "the system registry is county-wide (its page only reads)",
    "/api/v1/users/{user_id}/roles": "only the security administrator (county scope) holds users.manage",
    "/api/v1/users/{user_id}/reset-password": "only the security administrator (county scope) holds users.manage",
    "/api/v1/users/{user_id}/unlock": "only the security administrator (county scope) holds users.manage",
    "/admin/users/{user_id}/action": "only the security administrator (county scope) holds users.manage",
    "/api/v1/integration/quality/{resource_id}/trend": "quality of a published catalogue resource is public",
    "/api/v1/admin-changes/{change_id}/confirm": "administrator duty changes: county-wide, two-person rule",
    "/api/v1/admin-changes/{change_id}/reject": "administrator duty changes: county-wide, two-person rule",
    "/citymgmt/basemap/tiles/{layer}/{z}/{x}/{y}": "basemap tiles, county-wide; ticket tested in test_maps",
    "/storefronts/{shop_id}": "extension; tested in tests/extensions",
    "/storefronts/{shop_id}/report": "extension; tested in tests/extensions",
    "/api/v1/storefronts/shops/{shop_id}": "extension; tested in tests/extensions",
    "/api/v1/exchange/gateway/resources/{resource_id}/lookup": "signed by an application (tests/exchange/test_idor_gateway)",
    "/api/v1/exchange/gateway/resources/{resource_id}/query": "signed by an application (tests/exchange/test_idor_gateway)",
    "/api/v1/exchange/gateway/resources/{resource_id}/verify": "signed by an application (tests/exchange/test_idor_gateway)",
    "/api/v1/exchange/gateway/resources/{resource_id}/changes": "signed by an application (tests/exchange/test_feed)",
    "/api/v1/exchange/gateway/resources/{resource_id}/exports": "signed by an application (tests/exchange/test_export)",
    "/api/v1/exchange/gateway/resources/{resource_id}/exports/{job_id}": "signed by an application; another "
    "application gets 404 (tests/exchange/test_export)",
    "/api/v1/exchange/gateway/resources/{resource_id}/exports/{job_id}/file": "signed by an application; another "
    "application gets 404 (tests/exchange/test_export)",
    "/exchange/docs/{resource_id}": "documentation of the published catalogue, county-wide",
    "/api/v1/exchange/federation/gateway/{grant_id}/{operation}": "signed by an application; another department's "
    "application is refused (tests/exchange/test_federation)",
    "/api/v1/exchange/federation/peers/{peer_id}/approve": "federation peers are the node's: data authority only",
    "/api/v1/exchange/federation/peers/{peer_id}/revoke": "federation peers are the node's: data authority only",
    "/api/v1/exchange/federation/requests/{request_id}/decide": "requests from other nodes: data authority only",
    "/api/v1/exchange/federation/grants/{grant_id}/revoke": "grants to other nodes: data authority only",
    "/exchange/federation/peers/{peer_id}/approve": "federation peers are the node's: data authority only",
    "/exchange/federation/requests/{request_id}/decide": "requests from other nodes: data authority only",
    "/api/v1/perception/profiles/{profile_id}": "device profiles are county-wide configuration (perception.profile.manage)",
    "/api/v1/perception/profiles/{profile_id}/rules": "device profiles are county-wide configuration",
    "/api/v1/perception/profiles/{profile_id}/rules/test": "county-wide profile; the readings it tries are scoped",
    "/api/v1/perception/ingest/{device_code}": "devices authenticate with their own secret, not as users",
    "/perception/profiles/{profile_id}": "device profiles are county-wide configuration",
    "/perception/profiles/{profile_id}/rules": "device profiles are county-wide configuration",
    "/perception/profiles/{profile_id}/test": "county-wide profile; the readings it tries are scoped",
    "/perception/relay/{camera_id}/index.m3u8": "viewers present a signed play token bound to user and camera, not a session",
    "/perception/relay/{camera_id}/{segment}": "viewers present a signed play token bound to user and camera, not a session",
    "/api/v1/services/matters/{matter_id}": "the matter catalogue is open to all staff county-wide",
    "/services/matters/{matter_id}": "the matter catalogue is open to all staff county-wide",
    "/services/verify/{code}": "public check of a signed document code; shows no personal data "
    "(tests/services/test_result_documents)",
    "/portal/reports/{token}": "citizen realm, by random token: a non-public case or another citizen's answers 404 "
    "(tests/services/test_portal_reports.py)",
    "/portal/reports/{token}/support": "citizen realm: any signed-in citizen may support a public open case; "
    "non-public or unknown tokens answer 404 (tests/services/test_portal_reports.py)",
    "/portal/reports/{token}/rating": "citizen realm: only the reporter; another citizen's token answers 404 "
    "(tests/services/test_portal_reports.py)",
    # the citizen realm (一网通享): objects belong to a person (ID blind index), not a department; staff sessions
    # open none of these, and person B is walked over person A's objects in tests/services/test_portal_idor.py
    "/portal/matters/{matter_id}": "the public matter catalogue (一网通享)",
    "/portal/matters/{matter_id}/apply": "applies for the signed-in person only; the matter catalogue is public",
    "/portal/me/lookups/{code}": "a published lookup code; always reads the signed-in person's own record",
    **dict.fromkeys(
        (
            "/portal/me/applications/{application_id}",
            "/portal/me/applications/{application_id}/prefill",
            "/portal/me/applications/{application_id}/submit",
            "/portal/me/applications/{application_id}/rate",
            "/portal/me/applications/{application_id}/materials/{material_id}",
            "/portal/me/licences/{licence_id}",
            "/portal/me/notices/{notice_id}",
        ),
        "a person's own object: another person gets 404 (tests/services/test_portal_idor.py)",
    ),
}


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str  # with one {…} placeholder for the object's id
    user: str
    obj: str  # key of FINDERS
    body: dict[str, Any] | None = None


# objects outside the attacking users' departments (gaj_officer /4/ is the owner of source 1, so the
# integration attacker is zjj_officer /7/; handler_zjj /7/ attacks a case of 执法局 /5/)
FINDERS: dict[str, Callable[[Session], int]] = {}


def finder(name: str) -> Callable[[Callable[[Session], int]], Callable[[Session], int]]:
    def register(func: Callable[[Session], int]) -> Callable[[Session], int]:
        FINDERS[name] = func
        return func

    return register


def _one(db: Session, sql: str, **params: Any) -> int:
    value = db.execute(text(sql), params).scalar()
    assert value is not None, f"演示县缺少测试对象：{sql}"
    return int(value)


@finder("user")
def _user(db: Session) -> int:
    return _one(
        db,
        "SELECT u.id FROM user_account u JOIN department d ON d.id = u.department_id "
        "WHERE d.path LIKE '/13/%' ORDER BY u.id LIMIT 1",
    )


@finder("draft")
def _draft(db: Session) -> int:
    rid = _one(
        db,
        "SELECT r.id FROM catalog_resource r JOIN department d ON d.id = r.department_id "
        "WHERE d.path NOT LIKE '/7/%' AND r.kind <> '基础' ORDER BY r.id LIMIT 1",
    )
    db.execute(text("UPDATE catalog_resource SET status = 'draft' WHERE id = :id"), {"id": rid})
    db.flush()
    return rid


@finder("published")
def _published(db: Session) -> int:
    return _one(
        db,
        "SELECT r.id FROM catalog_resource r JOIN department d ON d.id = r.department_id "
        "WHERE d.path NOT LIKE '/7/%' AND r.status = 'published' ORDER BY r.id LIMIT 1",
    )


@finder("system")
def _system(db: Session) -> int:
    return _one(
        db,
        "SELECT s.id FROM catalog_system s JOIN department d ON d.id = s.department_id "
        "WHERE d.path NOT LIKE '/7/%' ORDER BY s.id LIMIT 1",
    )


@finder("application")
def _application(db: Session) -> int:
    system_id = _system(db)
    db.execute(
        text(
            "INSERT INTO catalog_upward_application (system_id, applied_on, addressee, scope, outcome, "
            "granted_scope, reply, created_by) VALUES (:s, '2026-11-01', '省大数据局', '人口数据', 'pending', '', '', 'x')"
        ),
        {"s": system_id},
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM catalog_upward_application")


@finder("source")
def _source(db: Session) -> int:
    return _one(
        db,
        "SELECT s.id FROM integration_source s JOIN department d ON d.id = s.department_id "
        "WHERE d.path LIKE '/4/%' ORDER BY s.id LIMIT 1",
    )


@finder("run")
def _run(db: Session) -> int:
    return _one(db, "SELECT r.id FROM integration_run r WHERE r.source_id = :s ORDER BY r.id LIMIT 1", s=_source(db))


@finder("quarantine")
def _quarantine(db: Session) -> int:
    return _one(
        db,
        "SELECT q.id FROM integration_quarantine q JOIN integration_source s ON s.id = q.source_id "
        "JOIN department d ON d.id = s.department_id WHERE d.path NOT LIKE '/7/%' ORDER BY q.id LIMIT 1",
    )


@finder("person")
def _person(db: Session) -> int:
    return _one(db, "SELECT id FROM integration_person ORDER BY id LIMIT 1")


@finder("legal")
def _legal(db: Session) -> int:
    return _one(db, "SELECT id FROM integration_legal_person ORDER BY id LIMIT 1")


@finder("record")
def _record(db: Session) -> int:
    """A record of a 公安局 (/4/) departmental resource, loaded by its source."""
    db.execute(
        text(
            "INSERT INTO integration_record (id, resource_id, key, data, content_hash, source_id, first_run_id, "
            "last_run_id, last_row, updated_at) "
            "SELECT 990002, r.id, 'GA-IDOR', '{}', 'x', :s, 0, 0, 0, '2026-11-01 00:00:00' FROM catalog_resource r "
            "JOIN department d ON d.id = r.department_id WHERE d.path LIKE '/4/%' AND r.kind = '部门' "
            "ORDER BY r.id LIMIT 1"
        ),
        {"s": _source(db)},
    )
    db.flush()
    return _one(db, "SELECT id FROM integration_record WHERE id = 990002")


@finder("case")
def _case(db: Session) -> int:
    return _one(db, "SELECT id FROM cm_case WHERE department_path LIKE '/5/%' ORDER BY id LIMIT 1")


@finder("others_case")
def _others_case(db: Session) -> int:
    """A case inspector01 neither reported nor holds a task of."""
    return _one(
        db,
        "SELECT c.id FROM cm_case c WHERE c.reporter_id IS DISTINCT FROM 24 AND NOT EXISTS "
        "(SELECT 1 FROM cm_task t WHERE t.case_id = c.id AND t.assignee_id = 24) ORDER BY c.id LIMIT 1",
    )


@finder("others_photo")
def _others_photo(db: Session) -> int:
    return _photo(db, _others_case(db))


@finder("photo")
def _photo(db: Session, case_id: int | None = None) -> int:
    db.execute(
        text(
            "INSERT INTO cm_case_photo (case_id, stage, sha256, path, content_type, size, width, height, at) "
            "VALUES (:c, 'before', :h, 'photos/none.jpg', 'image/jpeg', 10, 1, 1, '2026-11-01 00:00:00')"
        ),
        {"c": case_id or _case(db), "h": "0" * 64},
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM cm_case_photo")


@finder("ps_device")
def _ps_device(db: Session) -> int:
    """A sensor of 应急管理局 (yjj): neither 住建局's officer nor its handler may see it."""
    return _one(
        db,
        "SELECT d.id FROM ps_device d JOIN department p ON p.id = d.department_id WHERE p.code = 'yjj' ORDER BY d.id LIMIT 1",
    )


@finder("ps_rule")
def _ps_rule(db: Session) -> int:
    db.execute(
        text(
            "INSERT INTO ps_rule (device_id, code, name, kind, key, params, enabled, updated_at) "
            "VALUES (:d, 'idor_rule', '越权测试', 'offline', '', '{}', true, '2026-11-01 00:00:00')"
        ),
        {"d": _ps_device(db)},
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM ps_rule")


@finder("ps_alarm")
def _ps_alarm(db: Session) -> int:
    db.execute(
        text(
            "INSERT INTO ps_alarm (device_id, type, name, rule_kind, severity, level, status, acknowledged, acked_by, key, message, "
            "department_path, started_at, created_at, updated_at, escalation, case_number) SELECT d.id, 'idor', '越权测试', 'threshold', "
            "'major', '', 'active', false, '', 'lel', 'x', d.department_path, '2026-11-01 00:00:00', '2026-11-01 00:00:00', "
            "'2026-11-01 00:00:00', 0, '' FROM ps_device d WHERE d.id = :d"
        ),
        {"d": _ps_device(db)},
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM ps_alarm")


FILE = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}

ATTEMPTS = [
    Attempt("GET", "/api/v1/users/{}", "zjj_officer", "user"),
    Attempt("GET", "/api/v1/users/{}/personal", "zjj_officer", "user"),
    Attempt("PATCH", "/api/v1/users/{}", "zjj_officer", "user", {"full_name": "改名"}),
    Attempt("GET", "/admin/users/{}", "zjj_officer", "user"),
    Attempt("GET", "/api/v1/catalog/resources/{}", "zjj_officer", "draft"),
    Attempt("GET", "/catalog/resources/{}", "zjj_officer", "draft"),
    Attempt("GET", "/catalog/resources/{}/edit", "zjj_officer", "published"),
    Attempt("PUT", "/api/v1/catalog/resources/{}", "zjj_officer", "published", {}),
    Attempt("DELETE", "/api/v1/catalog/resources/{}", "zjj_officer", "published"),
    Attempt("POST", "/api/v1/catalog/resources/{}/submit", "zjj_officer", "draft"),
    Attempt("POST", "/catalog/resources/{}/action", "zjj_officer", "draft", {"do": "submit"}),
    Attempt("POST", "/api/v1/catalog/resources/{}/review", "zjj_officer", "draft", {"approve": True}),
    Attempt("POST", "/api/v1/catalog/resources/{}/withdraw", "zjj_officer", "published", {"reason": "x"}),
    Attempt("PUT", "/api/v1/catalog/systems/{}", "zjj_officer", "system", {}),
    Attempt(
        "POST",
        "/api/v1/catalog/systems/{}/applications",
        "zjj_officer",
        "system",
        {"applied_on": "2026-11-01", "addressee": "省大数据局", "scope": "人口"},
    ),
    Attempt(
        "POST",
        "/api/v1/catalog/applications/{}/decision",
        "zjj_officer",
        "application",
        {"outcome": "refused", "decided_on": "2026-11-02", "reply": "不同意"},
    ),
    Attempt("GET", "/api/v1/integration/sources/{}", "zjj_officer", "source"),
    Attempt("GET", "/integration/sources/{}", "zjj_officer", "source"),
    Attempt("PUT", "/api/v1/integration/sources/{}/file", "zjj_officer", "source", FILE),
    Attempt("PUT", "/api/v1/integration/sources/{}/connection", "zjj_officer", "source", {}),
    Attempt("PUT", "/api/v1/integration/sources/{}/settings", "zjj_officer", "source", {}),
    Attempt("PUT", "/api/v1/integration/sources/{}/mapping", "zjj_officer", "source", {}),
    Attempt("POST", "/integration/sources/{}/connection", "zjj_officer", "source", {}),
    Attempt("POST", "/integration/sources/{}/settings", "zjj_officer", "source", {}),
    Attempt("POST", "/integration/sources/{}/mapping", "zjj_officer", "source", {}),
    Attempt("GET", "/api/v1/integration/sources/{}/preview", "zjj_officer", "source"),
    Attempt("POST", "/api/v1/integration/sources/{}/runs", "zjj_officer", "source", {}),
    Attempt("POST", "/integration/sources/{}/run", "zjj_officer", "source", {}),
    Attempt("GET", "/api/v1/integration/runs/{}", "zjj_officer", "run"),
    Attempt("GET", "/integration/runs/{}", "zjj_officer", "run"),
    Attempt("GET", "/integration/runs/{}/report", "zjj_officer", "run"),
    Attempt("POST", "/api/v1/integration/runs/{}/resume", "zjj_officer", "run"),
    Attempt("POST", "/integration/runs/{}/resume", "zjj_officer", "run", {}),
    Attempt("GET", "/api/v1/integration/quarantine/{}", "zjj_officer", "quarantine"),
    Attempt("GET", "/integration/quarantine/{}", "zjj_officer", "quarantine"),
    Attempt("POST", "/integration/quarantine/{}", "zjj_officer", "quarantine", {"action": "discard"}),
    Attempt("POST", "/api/v1/integration/quarantine/{}/resubmit", "zjj_officer", "quarantine", {"values": {}}),
    Attempt("POST", "/api/v1/integration/quarantine/{}/discard", "zjj_officer", "quarantine"),
    Attempt("GET", "/api/v1/integration/persons/{}", "nyj_officer", "person"),
    Attempt("GET", "/integration/persons/{}", "nyj_officer", "person"),
    Attempt("GET", "/integration/legal-persons/{}", "zjj_officer", "legal"),
    Attempt("GET", "/integration/records/{}", "zjj_officer", "record"),
    Attempt("POST", "/integration/sources/{}/file", "zjj_officer", "source", FILE),
    Attempt("GET", "/integration/sources/{}/delete", "zjj_officer", "source"),
    Attempt("POST", "/integration/sources/{}/delete", "zjj_officer", "source", {"confirm": "yes"}),
    Attempt("DELETE", "/api/v1/integration/sources/{}", "zjj_officer", "source"),
    Attempt("GET", "/integration/runs/{}/changes", "zjj_officer", "run"),
    Attempt("POST", "/api/v1/integration/quarantine/{}/choose", "zjj_officer", "quarantine", {"choices": {}}),
    Attempt("POST", "/api/v1/integration/conflicts/{}/resolve", "zjj_officer", "conflict", {"action": "keep"}),
    Attempt("POST", "/integration/conflicts/{}", "zjj_officer", "conflict", {"action": "keep"}),
    Attempt("GET", "/integration/resources/{}/template.xlsx", "zjj_officer", "draft"),
    Attempt("GET", "/api/v1/citymgmt/cases/{}", "handler_zjj", "case"),
    Attempt("GET", "/citymgmt/cases/{}", "handler_zjj", "case"),
    Attempt("GET", "/api/v1/citymgmt/cases/{}", "inspector01", "others_case"),
    Attempt("POST", "/api/v1/citymgmt/cases/{}/actions/finish", "handler_zjj", "case", {"note": "已处置"}),
    Attempt("POST", "/citymgmt/cases/{}/act/finish", "handler_zjj", "case", {"note": "已处置"}),
    Attempt("GET", "/api/v1/citymgmt/photos/{}", "handler_zjj", "photo"),
    Attempt("GET", "/api/v1/citymgmt/photos/{}", "inspector01", "others_photo"),
    # exchange: requests, grants and applications of departments other than 住建局 (/7/)
    Attempt("GET", "/api/v1/exchange/requests/{}", "zjj_officer", "exchange_request"),
    Attempt("POST", "/api/v1/exchange/requests/{}/approve", "zjj_officer", "exchange_request", {}),
    Attempt("POST", "/api/v1/exchange/requests/{}/refuse", "zjj_officer", "exchange_request", {"reason": "不同意"}),
    Attempt("POST", "/api/v1/exchange/requests/{}/dispute", "zjj_officer", "exchange_request", {"reason": "有争议"}),
    Attempt(
        "POST",
        "/api/v1/exchange/requests/{}/resolve",
        "zjj_officer",
        "exchange_request",
        {"decision": "refuse", "reason": "维持"},
    ),
    Attempt("POST", "/api/v1/exchange/requests/{}/withdraw", "zjj_officer", "exchange_request", {"note": "撤回"}),
    Attempt("GET", "/api/v1/exchange/grants/{}", "zjj_officer", "exchange_grant"),
    Attempt("POST", "/api/v1/exchange/grants/{}/suspend", "zjj_officer", "exchange_grant", {"reason": "暂停"}),
    Attempt("POST", "/api/v1/exchange/grants/{}/resume", "zjj_officer", "exchange_grant", {"note": "恢复"}),
    Attempt("POST", "/api/v1/exchange/grants/{}/renew", "zjj_officer", "exchange_grant", {"valid_until": "2027-06-30"}),
    Attempt("POST", "/api/v1/exchange/grants/{}/revoke", "zjj_officer", "exchange_grant", {"reason": "撤销"}),
    Attempt("GET", "/api/v1/exchange/applications/{}", "zjj_officer", "exchange_app"),
    Attempt("GET", "/api/v1/exchange/applications/{}/events", "zjj_officer", "exchange_app"),
    Attempt("PATCH", "/api/v1/exchange/applications/{}", "zjj_officer", "exchange_app", {"status": "disabled"}),
    Attempt("POST", "/api/v1/exchange/applications/{}/secret", "zjj_officer", "exchange_app"),
    Attempt("GET", "/exchange/requests/{}", "zjj_officer", "exchange_request"),
    Attempt("POST", "/exchange/requests/{}/act/approve", "zjj_officer", "exchange_request", {"note": "同意"}),
    Attempt("GET", "/exchange/grants/{}", "zjj_officer", "exchange_grant"),
    Attempt("POST", "/exchange/grants/{}/act", "zjj_officer", "exchange_grant", {"do": "suspend", "reason": "暂停"}),
    Attempt("GET", "/exchange/apps/{}", "zjj_officer", "exchange_app"),
    Attempt("POST", "/exchange/apps/{}", "zjj_officer", "exchange_app", {"do": "rotate"}),
    Attempt("GET", "/api/v1/exchange/corrections/{}", "zjj_officer", "exchange_correction"),
    Attempt("POST", "/api/v1/exchange/corrections/{}/accept", "zjj_officer", "exchange_correction", {}),
    Attempt("POST", "/api/v1/exchange/corrections/{}/reject", "zjj_officer", "exchange_correction", {"reason": "不对"}),
    Attempt("GET", "/exchange/corrections/{}", "zjj_officer", "exchange_correction"),
    Attempt("POST", "/exchange/corrections/{}/accept", "zjj_officer", "exchange_correction", {}),
    Attempt("POST", "/exchange/corrections/{}/reject", "zjj_officer", "exchange_correction", {"reason": "不对"}),
    Attempt("GET", "/api/v1/exchange/subscriptions/{}", "zjj_officer", "exchange_subscription"),
    Attempt("GET", "/api/v1/exchange/subscriptions/{}/deliveries", "zjj_officer", "exchange_subscription"),
    Attempt(
        "POST", "/api/v1/exchange/subscriptions/{}/replay", "zjj_officer", "exchange_subscription", {"cursor": "a.b"}
    ),
    Attempt("POST", "/api/v1/exchange/subscriptions/{}/pause", "zjj_officer", "exchange_subscription"),
    Attempt("POST", "/api/v1/exchange/subscriptions/{}/resume", "zjj_officer", "exchange_subscription"),
    Attempt("POST", "/api/v1/exchange/subscriptions/{}/cancel", "zjj_officer", "exchange_subscription"),
    Attempt("GET", "/exchange/subscriptions/{}", "zjj_officer", "exchange_subscription"),
    Attempt("POST", "/exchange/subscriptions/{}/status", "zjj_officer", "exchange_subscription", {"to": "paused"}),
    Attempt("POST", "/exchange/subscriptions/{}/replay", "zjj_officer", "exchange_subscription", {"cursor": "a.b"}),
    # 城市感知: zjj_officer (住建局 /7/, registers devices) and handler_zjj (handles alarms) against 应急管理局's
    Attempt("GET", "/api/v1/perception/devices/{}", "zjj_officer", "ps_device"),
    Attempt("PATCH", "/api/v1/perception/devices/{}", "zjj_officer", "ps_device", {"name": "改名"}),
    Attempt("POST", "/api/v1/perception/devices/{}/secret", "zjj_officer", "ps_device"),
    Attempt("GET", "/api/v1/perception/devices/{}/rules", "zjj_officer", "ps_device"),
    Attempt(
        "POST",
        "/api/v1/perception/devices/{}/rules",
        "zjj_officer",
        "ps_device",
        {"code": "x", "name": "x", "kind": "offline", "params": {"minutes": 5}},
    ),
    Attempt("GET", "/api/v1/perception/devices/{}/series", "zjj_officer", "ps_device"),
    Attempt("DELETE", "/api/v1/perception/rules/{}", "zjj_officer", "ps_rule"),
    Attempt("GET", "/perception/devices/{}", "zjj_officer", "ps_device"),
    Attempt("GET", "/perception/devices/{}/live", "zjj_officer", "ps_device"),
    Attempt("POST", "/perception/devices/{}/secret", "zjj_officer", "ps_device", {}),
    Attempt("POST", "/perception/profiles/1/rules/{}/delete", "zjj_officer", "ps_rule", {}),
    Attempt("GET", "/api/v1/perception/alarms/{}", "handler_zjj", "ps_alarm"),
    Attempt("POST", "/api/v1/perception/alarms/{}/ack", "handler_zjj", "ps_alarm", {"note": ""}),
    Attempt("POST", "/api/v1/perception/alarms/{}/assign", "handler_zjj", "ps_alarm", {"user_id": 1}),
    Attempt("POST", "/api/v1/perception/alarms/{}/clear", "handler_zjj", "ps_alarm", {"note": "误报"}),
    Attempt("POST", "/api/v1/perception/alarms/{}/comments", "handler_zjj", "ps_alarm", {"text": "看一下"}),
    Attempt("POST", "/api/v1/perception/alarms/{}/case", "handler_zjj", "ps_alarm", {"note": ""}),
    Attempt("GET", "/perception/alarms/{}", "handler_zjj", "ps_alarm"),
    Attempt("POST", "/perception/alarms/{}/act/ack", "handler_zjj", "ps_alarm", {"note": ""}),
    Attempt("POST", "/perception/alarms/{}/act/clear", "handler_zjj", "ps_alarm", {"note": "误报"}),
    Attempt("GET", "/api/v1/perception/cameras/{}", "zjj_officer", "pv_camera"),
    Attempt("POST", "/api/v1/perception/cameras/{}/play", "zjj_officer", "pv_camera", {"mode": "live"}),
    Attempt("GET", "/api/v1/perception/cameras/{}/views", "zjj_officer", "pv_camera"),
    Attempt(
        "PUT", "/api/v1/perception/cameras/{}/event-classes", "zjj_officer", "pv_camera", {"classes": {"3": "S0102"}}
    ),
    Attempt("GET", "/api/v1/perception/video-grants/{}", "zjj_officer", "pv_grant"),
    Attempt("POST", "/api/v1/perception/video-grants/{}/decide", "zjj_officer", "pv_grant", {"approve": True}),
    Attempt("POST", "/api/v1/perception/video-grants/{}/revoke", "zjj_officer", "pv_grant", {"note": ""}),
    Attempt(
        "PUT", "/api/v1/perception/cameras/{}/source", "zjj_officer", "pv_camera", {"source_url": "rtsp://10.0.0.9/s"}
    ),
    Attempt("GET", "/perception/cameras/{}", "zjj_officer", "pv_camera"),
    Attempt("POST", "/perception/cameras/{}/play", "zjj_officer", "pv_camera", {}),
    Attempt("POST", "/perception/video-grants/{}/decide", "zjj_officer", "pv_grant", {"approve": "yes", "note": ""}),
    # 一网通办: applications taken in at the county hall (大数据中心 windows) and handled by 民政局; attacked by
    # a township service point's window (window_xz101) and by 市场监管局's approver and head
    Attempt("GET", "/api/v1/services/applications/{}", "scj_approver", "svc_app"),
    Attempt("GET", "/api/v1/services/applications/{}/licences", "window_xz101", "svc_received"),
    Attempt("POST", "/api/v1/services/applications/{}/consent", "window_xz101", "svc_received"),
    Attempt("POST", "/api/v1/services/applications/{}/prefill", "window_xz101", "svc_received"),
    Attempt(
        "POST",
        "/api/v1/services/applications/{}/materials/1/licence",
        "window_xz101",
        "svc_received",
        {"licence_id": 1},
    ),
    Attempt(
        "POST",
        "/api/v1/services/applications/{}/materials/1/upload",
        "window_xz101",
        "svc_received",
        FILE,
    ),
    Attempt("POST", "/api/v1/services/applications/{}/correction", "window_xz101", "svc_received", {"notes": ["缺章"]}),
    Attempt("POST", "/api/v1/services/applications/{}/accept", "window_xz101", "svc_received"),
    Attempt("POST", "/api/v1/services/applications/{}/reject", "window_xz101", "svc_received", {"reason": "不予受理"}),
    Attempt("POST", "/api/v1/services/applications/{}/review", "scj_approver", "svc_accepted", {"note": "通过"}),
    Attempt(
        "POST",
        "/api/v1/services/applications/{}/decide",
        "scj_approver",
        "svc_reviewed",
        {"decision": "approve", "note": "准予"},
    ),
    Attempt("POST", "/api/v1/services/applications/{}/finish", "scj_approver", "svc_decided"),
    Attempt("POST", "/api/v1/services/applications/{}/rating", "window_xz101", "svc_unrated", {"grade": 5}),
    Attempt(
        "POST",
        "/api/v1/services/rectifications/{}",
        "scj_head",
        "svc_rectification",
        {"measures": "整改", "callback": "回访", "outcome": "satisfied"},
    ),
    Attempt("GET", "/services/applications/{}", "scj_approver", "svc_app"),
    Attempt("GET", "/services/applications/{}/notice", "window_xz101", "svc_correction"),
    Attempt("GET", "/services/applications/{}/result", "window_xz101", "svc_correction"),
    Attempt("POST", "/services/applications/{}/act", "window_xz101", "svc_received", {"do": "accept"}),
    Attempt("POST", "/services/applications/{}/act", "scj_approver", "svc_accepted", {"do": "review", "note": "通过"}),
    Attempt(
        "POST",
        "/services/applications/{}/materials/1",
        "window_xz101",
        "svc_received",
        {"do": "cite", "licence_id": "1"},
    ),
    Attempt("POST", "/services/applications/{}/rating", "window_xz101", "svc_unrated", {"grade": "5"}),
    Attempt(
        "POST",
        "/services/rectifications/{}",
        "scj_head",
        "svc_rectification",
        {"measures": "整改", "callback": "回访", "outcome": "satisfied"},
    ),
]

_NOT_ZJJ = "(SELECT id FROM department WHERE path LIKE '/7/%')"


@finder("exchange_request")
def _exchange_request(db: Session) -> int:
    return _one(
        db,
        f"SELECT id FROM exchange_request WHERE consumer_department_id NOT IN {_NOT_ZJJ} "
        f"AND provider_department_id NOT IN {_NOT_ZJJ} AND status = 'review' ORDER BY id LIMIT 1",
    )


@finder("exchange_grant")
def _exchange_grant(db: Session) -> int:
    return _one(
        db,
        f"SELECT id FROM exchange_grant WHERE consumer_department_id NOT IN {_NOT_ZJJ} "
        f"AND provider_department_id NOT IN {_NOT_ZJJ} AND status = 'active' ORDER BY id LIMIT 1",
    )


@finder("exchange_app")
def _exchange_app(db: Session) -> int:
    return _one(db, f"SELECT id FROM exchange_application WHERE department_id NOT IN {_NOT_ZJJ} ORDER BY id LIMIT 1")


@finder("exchange_subscription")
def _exchange_subscription(db: Session) -> int:
    """A change subscription on a grant neither side of which is 住建局."""
    db.execute(
        text(
            "INSERT INTO exchange_subscription (application_id, grant_id, resource_id, consumer_department_id, "
            "provider_department_id, callback_url, items, status, position, next_number, delivered_number, "
            "last_error, created_by, created_at, updated_at) "
            "SELECT :app, g.id, g.resource_id, g.consumer_department_id, g.provider_department_id, "
            "'http://192.0.2.1/hook', '[]', 'active', 0, 1, 0, '', 'x', '2026-11-01 00:00:00', '2026-11-01 00:00:00' "
            "FROM exchange_grant g WHERE g.id = :grant"
        ),
        {"app": _exchange_app(db), "grant": _exchange_grant(db)},
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM exchange_subscription")


@finder("exchange_correction")
def _exchange_correction(db: Session) -> int:
    """A 数据异议 on a call neither side of which is 住建局."""
    db.execute(
        text(
            "INSERT INTO exchange_correction (call_id, resource_id, resource_code, resource_name, provider_department_id, "
            "consumer_department_id, entity, entity_id, record_label, items, proposed_enc, evidence, status, "
            "stage_started_at, answer, changed_fields, decided_by, created_by, created_at) "
            "SELECT c.id, c.resource_id, r.code, r.name, c.provider_department_id, c.consumer_department_id, 'person', 1, "
            "'x', '[\"address\"]', 'x', '越权测试', 'open', '2026-11-01 00:00:00', '', '[]', '', 'x', '2026-11-01 00:00:00' "
            f"FROM exchange_call c JOIN catalog_resource r ON r.id = c.resource_id WHERE c.consumer_department_id NOT IN {_NOT_ZJJ} "
            f"AND c.provider_department_id NOT IN {_NOT_ZJJ} ORDER BY c.id LIMIT 1"
        )
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM exchange_correction")


def _svc(db: Session, where: str) -> int:
    return _one(db, f"SELECT a.id FROM services_application a WHERE {where} ORDER BY a.id LIMIT 1")


for _name, _where in {
    "svc_app": "a.id IS NOT NULL",
    "svc_received": "a.status = 'received'",
    "svc_correction": "a.status = 'correction'",
    "svc_accepted": "a.status = 'accepted'",
    "svc_reviewed": "a.status = 'reviewed'",
    "svc_decided": "a.status = 'decided'",
    "svc_unrated": "a.status = 'done' AND NOT EXISTS (SELECT 1 FROM services_rating r WHERE r.application_id = a.id)",
}.items():
    finder(_name)(lambda db, where=_where: _svc(db, where))


@finder("svc_rectification")
def _svc_rectification(db: Session) -> int:
    return _one(db, "SELECT id FROM services_rectification WHERE status = 'open' ORDER BY id LIMIT 1")


@finder("pv_camera")
def _pv_camera(db: Session) -> int:
    """A camera of 应急管理局 (yjj) that 住建局 holds no grant for."""
    db.execute(
        text(
            "INSERT INTO pv_camera (gb_id, name, type_code, industry_code, network_code, civil_code, parent_gb_id, "
            "group_gb_id, department_id, department_path, manufacturer, model, address, ptz_type, status, source, app, "
            "source_url, event_classes, updated_at) SELECT '33042100091320009999', '应急仓库', '132', '09', '6', '330421', "
            "'', '', id, path, '', '', '', 0, 'ON', 'manual', 'rtp', '', '{}', '2026-11-01 00:00:00' "
            "FROM department WHERE code = 'yjj'"
        )
    )
    db.flush()
    return _one(db, "SELECT id FROM pv_camera WHERE gb_id = '33042100091320009999'")


@finder("pv_grant")
def _pv_grant(db: Session) -> int:
    """应急管理局's request for a camera of its own unit: neither side is 住建局."""
    _pv_camera(db)
    db.execute(
        text(
            "INSERT INTO pv_grant (department_id, department_path, scope, target, owner_path, live, playback, ptz, "
            "windows, purpose, valid_until, status, requested_by, requested_at, decided_by, decision_note) "
            "SELECT id, path, 'camera', '33042100091320009999', path, true, false, false, '[]', '应急值守', "
            "'2027-12-01 00:00:00', 'pending', 'x', '2026-11-01 00:00:00', '', '' FROM department WHERE code = 'yjj'"
        )
    )
    db.flush()
    return _one(db, "SELECT max(id) FROM pv_grant")


_CIPHER: list[Any] = []


@pytest.fixture(autouse=True)
def _node_cipher(node) -> None:
    _CIPHER[:] = [node.cipher]


@finder("conflict")
def _conflict(db: Session) -> int:
    run_id = _run(db)
    cipher = _CIPHER[0]
    db.execute(
        text(
            "INSERT INTO integration_conflict (id, entity, entity_id, field, current_enc, current_department_id, "
            "incoming_enc, incoming_hash, incoming_department_id, run_id, owner_department_id, status, resolved_by, created_at) "
            "SELECT 990001, 'person', p.id, 'phone', :cur, 4, :inc, :h, 4, :r, 4, 'open', '', '2026-11-01 00:00:00' "
            "FROM integration_person p ORDER BY p.id LIMIT 1"
        ),
        {"h": "1" * 64, "r": run_id, "cur": cipher.encrypt("13800000001"), "inc": cipher.encrypt("13900000002")},
    )
    db.flush()
    return 990001


def _pattern(route_path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(route_path)) + "$")


def test_every_route_with_a_path_parameter_is_classified(server) -> None:
    tried = [(a.method, a.path.replace("{}", "1")) for a in ATTEMPTS]
    missing = []
    for route in _flat(server.app.routes):
        if not isinstance(route, APIRoute) or "{" not in route.path or route.path in NOT_OBJECTS:
            continue
        pattern = _pattern(route.path)
        missing += [
            f"{method} {route.path}"
            for method in route.methods - {"HEAD"}
            if not any(m == method and pattern.match(url) for m, url in tried)
        ]
    assert missing == [], "未纳入越权测试的路由（请加入 ATTEMPTS 或 NOT_OBJECTS 并说明理由）"


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=lambda a: f"{a.method} {a.path} as {a.user}")
def test_another_departments_object_is_refused(attempt: Attempt, as_user, db: Session) -> None:
    object_id = FINDERS[attempt.obj](db)
    client = as_user(attempt.user)
    url = attempt.path.replace("{}", str(object_id))
    kwargs: dict[str, Any] = {}
    if attempt.method in ("POST", "PUT", "PATCH"):
        if attempt.body is FILE:
            kwargs["files"] = FILE
        elif attempt.path.startswith("/api/"):
            kwargs["json"] = attempt.body or {}
        else:
            kwargs["data"] = {**(attempt.body or {}), "csrf_token": client.headers["X-CSRF-Token"]}
    resp = client.request(attempt.method, url, headers={"Accept": "application/json"}, **kwargs)
    # 422 only where the body cannot be built without the object; everything else must be 403/404
    assert resp.status_code in (403, 404, 422), f"{attempt.method} {url}: {resp.status_code} {resp.text[:300]}"
    assert resp.status_code != 422 or attempt.body == {}, resp.text[:300]


OUTSIDE_ZJJ_SOURCES = (
    "SELECT s.id FROM integration_source s JOIN department d ON d.id = s.department_id WHERE d.path NOT LIKE '/7/%'"
)
# (attacker, a user who may see everything there, list url, filter, SQL of the ids the attacker must not get)
LIST_FILTERS = [
    ("zjj_officer", "datahub", "/api/v1/integration/sources", {}, OUTSIDE_ZJJ_SOURCES),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/integration/runs",
        {"source_id": "{source}"},
        f"SELECT id FROM integration_run WHERE source_id IN ({OUTSIDE_ZJJ_SOURCES})",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/integration/quarantine",
        {"source_id": "{source}"},
        f"SELECT id FROM integration_quarantine WHERE source_id IN ({OUTSIDE_ZJJ_SOURCES})",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/integration/quarantine",
        {"status": "open"},
        f"SELECT id FROM integration_quarantine WHERE source_id IN ({OUTSIDE_ZJJ_SOURCES})",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/integration/conflicts",
        {"status": "open"},
        "SELECT id FROM integration_conflict WHERE owner_department_id <> 7",
    ),
    (
        "zjj_officer",
        "secadmin",
        "/api/v1/users",
        {"department_id": "13"},
        "SELECT u.id FROM user_account u JOIN department d ON d.id = u.department_id WHERE d.path NOT LIKE '/7/%'",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/catalog/resources",
        {"status": "draft"},
        "SELECT r.id FROM catalog_resource r JOIN department d ON d.id = r.department_id "
        "WHERE r.status = 'draft' AND d.path NOT LIKE '/7/%'",
    ),
    (
        "handler_zjj",
        "dispatcher",
        "/api/v1/citymgmt/cases",
        {"department_id": "5", "size": "100"},
        "SELECT id FROM cm_case WHERE department_path IS NULL OR department_path NOT LIKE '/7/%'",
    ),
    (
        "handler_zjj",
        "dispatcher",
        "/api/v1/citymgmt/cases",
        {"q": "", "size": "100"},
        "SELECT id FROM cm_case WHERE department_path IS NULL OR department_path NOT LIKE '/7/%'",
    ),
    (
        "inspector01",
        "dispatcher",
        "/api/v1/citymgmt/cases",
        {"mine": "false", "size": "100"},
        "SELECT c.id FROM cm_case c WHERE c.reporter_id IS DISTINCT FROM 24 AND NOT EXISTS "
        "(SELECT 1 FROM cm_task t WHERE t.case_id = c.id AND t.assignee_id = 24)",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/exchange/requests",
        {"size": "200"},
        "SELECT id FROM exchange_request WHERE consumer_department_id <> 7 AND provider_department_id <> 7",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/exchange/grants",
        {"size": "200", "state": "active"},
        "SELECT id FROM exchange_grant WHERE consumer_department_id <> 7 AND provider_department_id <> 7",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/exchange/applications",
        {},
        "SELECT id FROM exchange_application WHERE department_id <> 7",
    ),
    (
        "zjj_officer",
        "datahub",
        "/api/v1/exchange/calls",
        {"size": "200", "result": "成功"},
        "SELECT id FROM exchange_call WHERE consumer_department_id <> 7 AND provider_department_id <> 7",
    ),
    (
        "scj_approver",
        "datahub",
        "/api/v1/services/applications",
        {"size": "200"},
        "SELECT id FROM services_application",
    ),
    (
        "window_xz101",
        "datahub",
        "/api/v1/services/applications",
        {"box": "intake"},
        "SELECT id FROM services_application",
    ),
    ("scj_head", "datahub", "/api/v1/services/ratings", {}, "SELECT id FROM services_rating"),
    ("scj_head", "datahub", "/api/v1/services/rectifications", {}, "SELECT id FROM services_rectification"),
]


def _ids(body: Any) -> set[int]:
    items = body if isinstance(body, list) else body.get("items", [])
    return {int(item["id"]) for item in items}


@pytest.mark.parametrize(("user", "seer", "url", "params", "forbidden_sql"), LIST_FILTERS, ids=str)
def test_list_filters_never_return_another_departments_objects(
    user, seer, url, params, forbidden_sql, as_user, db: Session
) -> None:
    source = _source(db)
    _draft(db)
    _conflict(db)
    query = {k: v.replace("{source}", str(source)) for k, v in params.items()}
    forbidden = {int(v) for v in db.execute(text(forbidden_sql)).scalars()}
    # the same list, for a user who may see everything, does contain such objects: the check can fail
    assert _ids(as_user(seer).get(url, params=query).json()) & forbidden, "对照组未返回其他部门对象，测试无效"
    resp = as_user(user).get(url, params=query)
    assert resp.status_code in (200, 403, 404), resp.text[:300]
    if resp.status_code == 200:
        assert not _ids(resp.json()) & forbidden, f"{user} 通过 {url}{query} 看到了其他部门的对象"
