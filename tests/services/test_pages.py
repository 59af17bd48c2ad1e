"""Pages of 一网通办 as the window clerk, the approver and the department head use them: each route's
permission, forms that refuse beside the field (never echoing an ID number), and figures that open exactly
the list they count."""

from __future__ import annotations

import re

from tests.services.helpers import licensed_person

HTML = {"Accept": "text/html"}
FIGURE = re.compile(r'<a[^>]*href="([^"]+)"[^>]*data-figure="(\d+)"|<a[^>]*data-figure="(\d+)"[^>]*href="([^"]+)"')
TOTAL = re.compile(r'data-total="(\d+)"')


def _figures(text: str) -> list[tuple[str, int]]:
    out = []
    for m in FIGURE.finditer(text):
        href, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        out.append((href.replace("&amp;", "&"), int(value)))
    return out


def _check_figures(client, page: str) -> int:
    text = client.get(page, headers=HTML).text
    figures = _figures(text)
    for href, value in figures:
        target = client.get(href.split("#")[0], headers=HTML)
        assert target.status_code == 200, href
        fragment = href.split("#")[1] if "#" in href else ""
        body = target.text
        if fragment:
            body = body[body.index(f'id="{fragment}"') :]
        totals = TOTAL.findall(body)
        assert totals, f"{href} states no total"
        assert int(totals[0]) == value, f"{page}: {href} shows {value}, the list says {totals[0]}"
    return len(figures)


def test_each_page_answers_only_the_roles_that_hold_its_permission(as_user):
    staff, window, approver, head, hub = (
        as_user("staff"),
        as_user("window01"),
        as_user("mzj_approver"),
        as_user("mzj_head"),
        as_user("datahub"),
    )
    assert staff.get("/services/window", headers=HTML).status_code == 403
    assert staff.get("/services/matters", headers=HTML).status_code == 403
    assert approver.get("/services/window", headers=HTML).status_code == 403
    assert window.get("/services/licences", headers=HTML).status_code == 403
    for client, page in (
        (window, "/services/window"),
        (window, "/services/matters"),
        (window, "/services/applications?box=intake"),
        (approver, "/services/applications?box=handling"),
        (head, "/services/ratings"),
        (head, "/services/ratings?by=matter"),
        (head, "/services/rectifications"),
        (hub, "/services/licences"),
    ):
        assert client.get(page, headers=HTML).status_code == 200, page


def test_window_form_refuses_beside_the_field_without_echoing_the_id_number(as_user, db, node):
    window = as_user("window01")
    token = window.headers["X-CSRF-Token"]
    matter_id = window.get("/api/v1/services/matters", params={"q": "最低生活保障对象认定"}).json()["items"][0]["id"]
    bad = {
        "csrf_token": token,
        "matter_id": str(matter_id),
        "applicant_key": "110101199003071234",
        "applicant_name": "张三",
    }
    resp = window.post("/services/window", data=bad, headers=HTML)
    assert resp.status_code == 422
    assert 'id="f-applicant_key-error"' in resp.text
    assert "校验位不正确" in resp.text
    assert "110101199003071234" not in resp.text
    key, name, _ = licensed_person(db, node.cipher)
    good = {**bad, "applicant_key": key, "applicant_name": name, "consent": "on"}
    resp = window.post("/services/window", data=good, headers=HTML, follow_redirects=False)
    assert resp.status_code == 303
    page = window.get(resp.headers["location"], headers=HTML)
    assert "从共享数据和电子证照预填" in page.text
    assert key not in page.text
    app_path = resp.headers["location"]
    filled = window.post(f"{app_path}/act", data={"csrf_token": token, "do": "prefill"}, headers=HTML)
    assert filled.status_code == 200
    assert "已预填" in filled.text
    refused = window.post(f"{app_path}/act", data={"csrf_token": token, "do": "reject", "reason": ""}, headers=HTML)
    assert refused.status_code == 422
    assert 'id="f-reason-error"' in refused.text


def test_every_figure_on_the_services_pages_opens_a_list_of_that_many(as_user):
    window, approver, head = as_user("window01"), as_user("mzj_approver"), as_user("mzj_head")
    assert _check_figures(window, "/services/window") >= 2
    assert _check_figures(window, "/services/matters") == 3
    assert _check_figures(approver, "/services/applications?box=handling") == 3
    assert _check_figures(head, "/services/ratings") >= 3
    assert _check_figures(head, "/services/ratings?by=matter") >= 3
    assert _check_figures(head, "/services/rectifications") == 3
    assert _check_figures(approver, "/") >= 2
