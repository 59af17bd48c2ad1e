"""Open311 GeoReport v2 as the spec documents it: form POST, field names, status values, error lists."""

from __future__ import annotations


def test_services_list_and_definition(http) -> None:
    services = http.get("/open311/v2/services.json", params={"jurisdiction_id": "330421"})
    assert services.status_code == 200
    first = services.json()[0]
    assert set(first) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert first["type"] in ("realtime", "batch", "blackbox")
    assert first["metadata"] is False
    codes = {s["service_code"] for s in services.json()}
    assert {"S0102", "B0101"} <= codes
    definition = http.get("/open311/v2/services/S0102.json").json()
    assert definition == {"service_code": "S0102", "attributes": []}


def test_post_request_then_query_by_id_token_and_list(http, spot) -> None:
    lon, lat, _ = spot
    form = {
        "jurisdiction_id": "330421",
        "service_code": "S0102",
        "lat": str(lat),
        "long": str(lon),
        "description": "小区门口垃圾堆放多日",
        "first_name": "小明",
        "last_name": "李",
        "phone": "13700001234",
        "device_id": "ios-123",
    }
    created = http.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 201, created.text
    body = created.json()
    assert isinstance(body, list)
    assert len(body) == 1
    rid, token = body[0]["service_request_id"], body[0]["token"]
    assert rid
    assert token
    assert "service_notice" in body[0]
    assert "account_id" in body[0]
    one = http.get(f"/open311/v2/requests/{rid}.json")
    assert one.status_code == 200
    req = one.json()[0]
    for key in (
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ):
        assert key in req
    assert req["status"] == "open"
    assert req["service_code"] == "S0102"
    assert abs(req["lat"] - lat) < 1e-9
    assert abs(req["long"] - lon) < 1e-9
    assert req["requested_datetime"].endswith("+08:00")
    assert http.get(f"/open311/v2/tokens/{token}.json").json() == [{"service_request_id": rid, "token": token}]
    listed = http.get("/open311/v2/requests.json", params={"service_request_id": rid}).json()
    assert [r["service_request_id"] for r in listed] == [rid]
    open_ones = http.get("/open311/v2/requests.json", params={"status": "open", "service_code": "S0102"}).json()
    assert rid in [r["service_request_id"] for r in open_ones]


def test_closed_and_merged_requests_report_status(as_user, http, spot) -> None:
    lon, lat, _ = spot
    rid = http.post(
        "/open311/v2/requests.json", data={"service_code": "S0102", "lat": str(lat), "long": str(lon)}
    ).json()[0]["service_request_id"]
    acceptor = as_user("acceptor")
    case = acceptor.get("/api/v1/citymgmt/cases", params={"q": rid}).json()["items"][0]
    acceptor.post(f"/api/v1/citymgmt/cases/{case['id']}/actions/reject", json={"note": "属物业管理区域"})
    req = http.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert req["status"] == "closed"
    assert "不予立案" in req["status_notes"]


def test_errors_are_open311_error_lists(http, spot) -> None:
    lon, lat, _ = spot
    cases = [
        (http.get("/open311/v2/services/NOPE.json"), 404),
        (http.get("/open311/v2/requests/000.json"), 404),
        (http.get("/open311/v2/tokens/nothing.json"), 404),
        (http.get("/open311/v2/services.json", params={"jurisdiction_id": "110101"}), 404),
        (http.post("/open311/v2/requests.json", data={"lat": str(lat), "long": str(lon)}), 422),
        (http.post("/open311/v2/requests.json", data={"service_code": "S0102"}), 422),
        (http.post("/open311/v2/requests.json", data={"service_code": "S0102", "lat": "39.9", "long": "116.4"}), 422),
        (http.post("/open311/v2/requests.json", data={"service_code": "S0102", "lat": "abc", "long": "1"}), 422),
        (http.get("/open311/v2/requests.json", params={"status": "pending"}), 422),
    ]
    for resp, status in cases:
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert isinstance(body, list), body
        assert body, body
        assert set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status


def test_xml_format_mirrors_the_json_documents(http, spot) -> None:
    import xml.etree.ElementTree as ET

    services = http.get("/open311/v2/services.xml")
    assert services.status_code == 200
    assert services.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(services.content)
    assert root.tag == "services"
    assert {"S0102", "B0101"} <= {s.findtext("service_code") for s in root.findall("service")}
    assert root.find("service/metadata").text == "false"
    definition = ET.fromstring(http.get("/open311/v2/services/S0102.xml").content)
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "S0102"
    lon, lat, _ = spot
    created = http.post(
        "/open311/v2/requests.xml",
        data={"service_code": "S0102", "lat": str(lat), "long": str(lon), "description": "XML 上报"},
    )
    assert created.status_code == 201, created.text
    rid = ET.fromstring(created.content).findtext("request/service_request_id")
    assert rid
    one = ET.fromstring(http.get(f"/open311/v2/requests/{rid}.xml").content)
    assert one.tag == "service_requests"
    assert one.findtext("request/status") == "open"
    assert one.findtext("request/service_code") == "S0102"
    missing = http.get("/open311/v2/services/S9999.xml")
    assert missing.status_code == 404
    errors = ET.fromstring(missing.content)
    assert errors.tag == "errors"
    assert errors.findtext("error/code") == "404"
    assert "S9999" in errors.findtext("error/description")
    bad = http.post("/open311/v2/requests.xml", data={"lat": "x"})
    assert bad.status_code == 400 or bad.status_code == 422
    assert ET.fromstring(bad.content).tag == "errors"


def test_public_submissions_need_the_configured_api_key_and_are_capped_per_address(http, as_user, spot) -> None:
    lon, lat, _ = spot
    form = {"service_code": "S0102", "lat": str(lat), "long": str(lon), "description": "路边垃圾"}
    centre = as_user("shiftlead")
    assert (
        centre.put(
            "/api/v1/citymgmt/config", json={"open311_api_keys": ["county-app-2026"], "open311_reports_per_hour": 2}
        ).status_code
        == 200
    )
    missing = http.post("/open311/v2/requests.json", data=form)
    assert missing.status_code == 403
    assert missing.json()[0]["code"] == 403
    assert "api_key" in missing.json()[0]["description"]
    keyed = {**form, "api_key": "county-app-2026"}
    assert http.post("/open311/v2/requests.json", data=keyed).status_code == 201
    assert http.post("/open311/v2/requests.json", data=keyed).status_code == 201
    third = http.post("/open311/v2/requests.json", data=keyed)
    assert third.status_code == 429
    assert third.json() == [{"code": 429, "description": third.json()[0]["description"]}]
    assert "过于频繁" in third.json()[0]["description"]
