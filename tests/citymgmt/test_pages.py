"""Pages render for each role, and every figure on the operations view links to its cases."""

from __future__ import annotations

import re


def test_pages_render_for_their_roles(as_user) -> None:
    for user, paths in {
        "acceptor": [
            "/citymgmt/ops",
            "/citymgmt/cases",
            "/citymgmt/cases?light=red",
            "/citymgmt/evaluation",
            "/citymgmt/ops/live",
        ],
        "inspector01": ["/citymgmt/my", "/citymgmt/report"],
        "handler_zfj": ["/citymgmt/my"],
        "shiftlead": ["/citymgmt/config"],
        "leader": ["/citymgmt/ops", "/citymgmt/evaluation?level=community"],
    }.items():
        client = as_user(user)
        for path in paths:
            resp = client.get(path, headers={"accept": "text/html"})
            assert resp.status_code == 200, (user, path, resp.text[:300])


def test_ops_cards_link_to_case_lists(as_user) -> None:
    html = as_user("acceptor").get("/citymgmt/ops", headers={"accept": "text/html"}).text
    cards = re.findall(r'<a class="card[^"]*" href="([^"]+)"', html)
    assert len(cards) >= 6
    assert all(h.startswith("/citymgmt/cases") for h in cards)


def test_grid_layer_carries_counts_and_links(as_user) -> None:
    fc = as_user("leader").get("/api/v1/citymgmt/grids.geojson").json()
    assert fc["features"]
    props = fc["features"][0]["properties"]
    assert {"open", "overdue", "href"} <= set(props)
    assert props["href"] == f"/citymgmt/cases?status=open&grid_code={props['code']}"


def test_inspector_cannot_open_the_operations_view(as_user) -> None:
    assert as_user("inspector01").get("/citymgmt/ops", headers={"accept": "application/json"}).status_code == 403
