"""The storefronts extension adds classes, an intake channel, pages and a case hook without core changes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import PASSWORD, Client, LiveServer, dispose_node, make_node

os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "300")


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    node = make_node(tmp_path_factory.mktemp("storefronts"), "sqlite", enabled_extensions=["storefronts"])
    live = LiveServer(node)
    yield live
    live.stop()
    dispose_node(node)


def client(server: LiveServer, user: str) -> Client:
    c = Client(base_url=server.url, timeout=30)
    assert c.login(user, PASSWORD).status_code == 200
    return c


def test_extension_contributes_its_case_classes(shop_server) -> None:
    codes = {c["code"]: c for c in client(shop_server, "acceptor").get("/api/v1/citymgmt/classes").json()}
    assert codes["S0601"]["name"] == "门前三包不落实"
    assert codes["S0601"]["source"] == "storefronts"
    services = Client(base_url=shop_server.url).get("/open311/v2/services.json").json()
    assert "S0601" in {s["service_code"] for s in services}


def test_case_reported_at_a_shop_links_and_notifies_its_contact(shop_server) -> None:
    inspector = client(shop_server, "inspector01")
    shops = inspector.get("/api/v1/storefronts/shops").json()
    assert len(shops) >= 10
    assert all(len(s["uscc"]) == 18 for s in shops)
    shop = shops[0]
    resp = inspector.post(
        f"/storefronts/{shop['id']}/report",
        data={"class_code": "S0601", "description": "门前堆放纸箱", "csrf_token": inspector.headers["X-CSRF-Token"]},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    detail = inspector.get(f"/api/v1/storefronts/shops/{shop['id']}").json()
    assert len(detail["case_ids"]) == 1
    assert detail["notices"][0]["message"].startswith(f"【{shop['name']}】")
    assert "*" in detail["notices"][0]["recipient"]  # the phone is masked
    case = client(shop_server, "acceptor").get(f"/api/v1/citymgmt/cases/{detail['case_ids'][0]}").json()
    assert case["source"] == "storefront"
    assert case["source_label"] == "商铺店面"


def test_case_inside_a_zone_from_another_channel_is_linked_too(shop_server) -> None:
    acceptor = client(shop_server, "acceptor")
    shop = acceptor.get("/api/v1/storefronts/shops").json()[1]
    resp = acceptor.post(
        "/api/v1/citymgmt/cases",
        json={"source": "hotline", "class_code": "S0502", "lon": shop["lon"], "lat": shop["lat"] + 0.00005},
    )
    assert resp.status_code == 201
    detail = acceptor.get(f"/api/v1/storefronts/shops/{shop['id']}").json()
    assert resp.json()["id"] in detail["case_ids"]


def test_shop_registration_validates_the_credit_code(shop_server) -> None:
    lead = client(shop_server, "shiftlead")
    shop = lead.get("/api/v1/storefronts/shops").json()[0]
    bad = lead.post(
        "/api/v1/storefronts/shops",
        json={"name": "测试店", "uscc": "91330421MA2B12345X", "lon": shop["lon"], "lat": shop["lat"]},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == "统一社会信用代码无效"
    dup = lead.post(
        "/api/v1/storefronts/shops",
        json={"name": "测试店", "uscc": shop["uscc"], "lon": shop["lon"], "lat": shop["lat"]},
    )
    assert dup.status_code == 409


def test_shop_pages_render(shop_server) -> None:
    acceptor = client(shop_server, "acceptor")
    assert acceptor.get("/storefronts/", headers={"accept": "text/html"}).status_code == 200
    first = acceptor.get("/api/v1/storefronts/shops").json()[0]
    assert "门前三包" in acceptor.get(f"/storefronts/{first['id']}", headers={"accept": "text/html"}).text


def test_shop_api_answers_keep_their_shape(shop_server) -> None:
    viewer = client(shop_server, "acceptor")
    shops = viewer.get("/api/v1/storefronts/shops").json()
    assert [s["id"] for s in shops] == sorted(s["id"] for s in shops)
    keys = {"id", "name", "uscc", "address", "lon", "lat", "contact_name", "contact_phone", "zone_wkt", "cases"}
    assert set(shops[0]) == keys
    assert "*" in shops[0]["contact_phone"]
    detail = viewer.get(f"/api/v1/storefronts/shops/{shops[0]['id']}").json()
    assert set(detail) == keys | {"case_ids", "case_numbers", "notices"}
    assert viewer.get("/api/v1/storefronts/shops/999999").status_code == 404


def test_shop_table_pages_twenty_at_a_time_and_searches(shop_server) -> None:
    viewer = client(shop_server, "acceptor")
    html = {"accept": "text/html"}
    shops = viewer.get("/api/v1/storefronts/shops").json()
    first = viewer.get("/storefronts/", headers=html).text
    assert f"（{len(shops)} 家）" in first
    assert first.count('<tr><td><a href="/storefronts/') == 20
    assert f"第 1/{(len(shops) + 19) // 20} 页" in first
    last_page = (len(shops) + 19) // 20
    last = viewer.get(f"/storefronts/?page={last_page}", headers=html).text
    assert last.count('<tr><td><a href="/storefronts/') == len(shops) - 20 * (last_page - 1)
    target = shops[7]
    found = viewer.get("/storefronts/", params={"q": target["uscc"][-8:]}, headers=html).text
    assert f'href="/storefronts/{target["id"]}"' in found
    assert "（1 家）" in found
    none = viewer.get("/storefronts/", params={"q": "没有这家%店"}, headers=html).text
    assert "没有符合“没有这家%店”的商铺" in none
    assert viewer.get("/storefronts/?page=0", headers=html).status_code == 422
