"""Secrets among the 运行参数 are write-only: no GET of any config endpoint or page carries a key's value."""

from __future__ import annotations

from sqlalchemy import select

from zhixian.citymgmt.config.parameters import key_fingerprint
from zhixian.platform.models import AuditRecord

HTML = {"Accept": "text/html"}
LONG_KEY = "county-app-secret-0001-wxyz"
SHORT_KEY = "mini-8ch"
# every GET that shows the configuration, as JSON or as a page
CONFIG_READS = ("/api/v1/citymgmt/config", "/citymgmt/config", "/citymgmt/config/parameters")


def _reads(client) -> str:
    return "\n".join(
        client.get(path, headers=HTML if not path.startswith("/api") else {}).text for path in CONFIG_READS
    )


def test_api_keys_are_write_only_and_can_still_be_added_replaced_and_removed(as_user, http, spot, db) -> None:
    lead, inspector = as_user("shiftlead"), as_user("inspector01")
    put = lead.put("/api/v1/citymgmt/config", json={"open311_api_keys": [LONG_KEY, SHORT_KEY]})
    assert put.status_code == 200, put.text
    assert LONG_KEY not in put.text
    assert SHORT_KEY not in put.text
    for client in (lead, inspector):
        body = _reads(client)
        assert LONG_KEY not in body
        assert SHORT_KEY not in body
        assert "mini" not in body  # not even a short key's ending
    shown = inspector.get("/api/v1/citymgmt/config").json()["open311_api_keys"]
    assert shown == [
        {"fingerprint": key_fingerprint(LONG_KEY), "ending": "wxyz"},
        {"fingerprint": key_fingerprint(SHORT_KEY), "ending": ""},
    ]
    audits = db.execute(select(AuditRecord).where(AuditRecord.action == "citymgmt.config")).scalars().all()
    assert all(LONG_KEY not in str(a.detail) for a in audits)

    lon, lat, _ = spot
    form = {"service_code": "S0102", "lat": str(lat), "long": str(lon)}
    assert http.post("/open311/v2/requests.json", data={**form, "api_key": LONG_KEY}).status_code == 201
    removed = lead.put(
        "/api/v1/citymgmt/config",
        json={"open311_api_keys_remove": [key_fingerprint(LONG_KEY)], "open311_api_keys_add": ["another-key-123"]},
    )
    assert removed.status_code == 200, removed.text
    assert "another-key-123" not in removed.text
    assert http.post("/open311/v2/requests.json", data={**form, "api_key": LONG_KEY}).status_code == 403
    assert http.post("/open311/v2/requests.json", data={**form, "api_key": "another-key-123"}).status_code == 201
    unknown = lead.put("/api/v1/citymgmt/config", json={"open311_api_keys_remove": ["0123456789ab"]})
    assert unknown.status_code == 422
    assert "指纹" in unknown.text


def test_parameters_page_removes_and_adds_keys_without_showing_them(as_user) -> None:
    lead = as_user("shiftlead")
    lead.put("/api/v1/citymgmt/config", json={"open311_api_keys": [LONG_KEY]})
    page = lead.get("/citymgmt/config/parameters", headers=HTML)
    assert key_fingerprint(LONG_KEY) in page.text
    assert LONG_KEY not in page.text
    form = {
        "yellow_percent": "20",
        "duplicate_distance_m": "50",
        "duplicate_hours": "24",
        "photo_max_mb": "5",
        "filing_limit_hours": "1",
        "verify_limit_hours": "1",
        "check_limit_hours": "2",
        "open311_reports_per_hour": "60",
        "w_ontime_close_rate": "0.5",
        "w_close_rate": "0.3",
        "w_no_rework_rate": "0.2",
        "open311_public_sources": ["open311"],
        "open311_api_keys_remove": [key_fingerprint(LONG_KEY)],
        "open311_api_keys_add": "page-added-key-77",
    }
    saved = lead.post("/citymgmt/config/parameters", data=form, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    keys = lead.get("/api/v1/citymgmt/config").json()["open311_api_keys"]
    assert [k["fingerprint"] for k in keys] == [key_fingerprint("page-added-key-77")]
    refused = lead.post("/citymgmt/config/parameters", data={**form, "yellow_percent": "x"}, headers=HTML)
    assert refused.status_code == 422
    assert "page-added-key-77" not in refused.text  # a typed key is not echoed beside an error either
