"""Bad input gets a 4xx with a Chinese, field-level message; hostile strings are stored harmlessly and escaped."""

from __future__ import annotations

import pytest

HOSTILE = [
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE user_account;--",
    '" onmouseover="alert(1)',
    "{{ 7*7 }}",
]


def test_malformed_json_is_a_400_in_chinese(as_user) -> None:
    client = as_user("secadmin")
    resp = client.post("/api/v1/users", content=b'{"username": "x",', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"] == "请求体不是有效的 JSON"


def test_wrong_types_and_unknown_fields_name_the_field(as_user) -> None:
    client = as_user("secadmin")
    resp = client.post(
        "/api/v1/users", json={"username": "ok_name", "full_name": "某人", "department_id": "abc", "is_admin": True}
    )
    assert resp.status_code == 422
    errors = {e["field"]: e["message"] for e in resp.json()["errors"]}
    assert errors["department_id"] == "必须是整数"
    assert errors["is_admin"] == "不允许的字段"


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"username": "1abc"}, "username", "格式不正确"),
        ({"full_name": ""}, "full_name", "不能少于"),
        ({"full_name": "x" * 101}, "full_name", "不能超过 100"),
        ({"phone": "12345"}, "phone", "手机号码"),
        ({"email": "not-an-email"}, "email", "格式不正确"),
        ({"full_name": "坏\x00字符"}, "full_name", "控制字符"),
    ],
)
def test_each_invalid_field_gets_its_own_chinese_message(as_user, payload: dict, field: str, fragment: str) -> None:
    client = as_user("secadmin")
    body = {"username": "valid_user", "full_name": "有效姓名", "department_id": 1, **payload}
    resp = client.post("/api/v1/users", json=body)
    assert resp.status_code == 422
    messages = {e["field"]: e["message"] for e in resp.json()["errors"]}
    assert fragment in messages[field], messages


def test_oversized_body_is_refused_before_it_is_read(as_user) -> None:
    client = as_user("secadmin")
    resp = client.post(
        "/api/v1/users", content=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert "请求体过大" in resp.json()["detail"]


def test_unknown_department_and_duplicate_username_are_clear(as_user) -> None:
    client = as_user("secadmin")
    missing = client.post("/api/v1/users", json={"username": "someone", "full_name": "某人", "department_id": 99999})
    assert missing.status_code == 404
    assert "部门不存在" in missing.json()["detail"]
    dup = client.post("/api/v1/users", json={"username": "STAFF", "full_name": "某人", "department_id": 1})
    assert dup.status_code == 409
    assert dup.json()["errors"][0]["field"] == "username"


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_stored_verbatim_and_rendered_escaped(as_user, name: str) -> None:
    client = as_user("secadmin")
    created = client.post("/api/v1/users", json={"username": "hostile_1", "full_name": name, "department_id": 1})
    assert created.status_code == 201, created.text
    uid = created.json()["user"]["id"]
    assert client.get(f"/api/v1/users/{uid}").json()["full_name"] == name
    page = client.get("/admin/users", params={"q": "hostile"}, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text or "&#39;" in page.text or "&#34;" in page.text or "{{ 7*7 }}" in page.text
    assert "49" not in page.text.split("hostile_1")[1][:200]  # no template evaluation


def test_unknown_routes_and_methods_are_chinese_4xx(as_user) -> None:
    client = as_user("staff")
    assert client.get("/api/v1/nowhere").json()["detail"] == "页面或接口不存在"
    wrong = client.delete("/api/v1/me")
    assert wrong.status_code == 405
    assert wrong.json()["title"] == "不支持的请求方法"


def test_query_parameters_are_validated(as_user) -> None:
    client = as_user("secadmin")
    resp = client.get("/api/v1/users", params={"size": 100000, "page": 0})
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"size", "page"}
