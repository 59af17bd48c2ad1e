"""随手拍 on the portal: a report enters the case hub like Open311, the reporter follows it, says "me too", rates
it once when closed; nobody else sees or rates it by changing a token; bad input is named in Chinese."""

from __future__ import annotations

import io
import re
import secrets

import pytest
from PIL import Image
from sqlalchemy import select

from tests.citymgmt.conftest import jpeg
from tests.citymgmt.test_workflow_api import act, check, complete
from tests.services.portal_report_helpers import (
    anonymous_client,
    citizen_client,
    inside_point,
    make_citizen,
    point_near,
)
from zhixian.citymgmt import service as citymgmt
from zhixian.platform import audit
from zhixian.services.models import Rating, Rectification
from zhixian.services.portal import reports
from zhixian.services.portal.models import CitizenNotice
from zhixian.services.portal.report_models import PortalReport
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import RatingIn

TOKEN = re.compile(r"/portal/reports/([0-9a-f]{32})")


def _post(client, db, *, category="garbage", description="路口有成堆垃圾，很久没人清理", at=None, photo=True, **extra):
    lon, lat = at or inside_point(db)
    data = {"category": category, "description": description, "lat": str(lat), "lon": str(lon), **extra}
    data["csrf_token"] = client.headers.get("X-CSRF-Token") or client.headers.get("X-Test-Csrf")
    files = [("photo", ("scene.jpg", jpeg(), "image/jpeg"))] if photo is True else photo or None
    return client.post("/portal/report", data=data, files=files)


def _token(resp) -> str:
    assert resp.status_code == 303, resp.text[:500]
    found = TOKEN.search(resp.headers["location"])
    assert found, resp.headers["location"]
    return found.group(1)


@pytest.fixture
def citizen(db, node):
    return make_citizen(db, node.cipher, name="王小明")


@pytest.fixture
def other(db, node):
    return make_citizen(db, node.cipher, name="李四")


def test_signed_in_report_becomes_a_public_portal_case_that_open311_lists_without_the_reporter(
    server, db, citizen, http
) -> None:
    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db))
        row = db.execute(select(PortalReport).where(PortalReport.token == token)).scalar_one()
        assert row.reporter_index == citizen.id_index
        assert row.photos == 1
        case = citymgmt.case_reads(db, [row.case_id])[0]
        assert (case.source, case.class_code, case.status) == ("portal", "S0102", "reported")
        # the same hub and the same public rules as Open311: its token finds it, its number lists it
        number = http.get(f"/open311/v2/tokens/{token}.json").json()[0]["service_request_id"]
        doc = http.get(f"/open311/v2/requests/{number}.json").json()[0]
        assert doc["status"] == "open"
        assert doc["status_notes"] == "已受理，等待核实"
        assert "王小明" not in str(doc)
        assert doc["media_url"] is None
        page = http.get(f"/portal/reports/{token}")
        assert page.status_code == 200
        assert "已受理，等待核实" in page.text
        assert "王小明" not in page.text
        assert number not in page.text
        mine = me.get("/portal/reports/mine")
        assert mine.status_code == 200
        assert token in mine.text
        assert "已受理，等待核实" in mine.text


def test_a_position_from_a_gcj02_phone_map_is_converted_and_marked(server, db, citizen) -> None:
    from zhixian.citymgmt.geo.service import wgs84_to_gcj02

    lon, lat = inside_point(db)
    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db, at=wgs84_to_gcj02(lon, lat), crs="GCJ02"))
    case_id = db.execute(select(PortalReport.case_id).where(PortalReport.token == token)).scalar_one()
    case = citymgmt.case_reads(db, [case_id])[0]
    assert case.coord_note == "GCJ-02→WGS84"
    assert abs(case.lon - lon) < 1e-5
    assert abs(case.lat - lat) < 1e-5


def test_anonymous_reports_are_allowed_and_capped_per_address_with_open311(server, db, as_user) -> None:
    centre = as_user("shiftlead")
    assert centre.put("/api/v1/citymgmt/config", json={"open311_reports_per_hour": 2}).status_code == 200
    with anonymous_client(server.url) as visitor:
        first = _post(visitor, db, photo=None)
        token = _token(first)
        assert db.execute(select(PortalReport.reporter_index).where(PortalReport.token == token)).scalar_one() == ""
        lon, lat = inside_point(db)
        form = {"service_code": "S0102", "lat": str(lat), "long": str(lon), "description": "路边垃圾"}
        assert visitor.post("/open311/v2/requests.json", data=form).status_code == 201  # one cap for both channels
        third = _post(visitor, db, photo=None)
        assert third.status_code == 429
        assert "过于频繁" in third.text


def test_a_form_without_the_csrf_token_is_refused(server, db) -> None:
    with anonymous_client(server.url) as visitor:
        visitor.headers.pop("X-Test-Csrf")
        assert _post(visitor, db).status_code == 403


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"lat": "", "lon": ""}, "location", "请在地图上点选问题位置"),
        ({"lat": "1.0", "lon": "100.0"}, "location", "不在本县"),
        ({"description": ""}, "description", "问题描述"),
        ({"description": "   "}, "description", "问题描述"),
        ({"category": "ufo"}, "category", "问题类型"),
        ({"category": ""}, "category", "问题类型"),
        ({"lat": "north"}, "location", "位置"),
    ],
)
def test_bad_input_is_refused_in_chinese_beside_the_field(server, db, citizen, change, field, words) -> None:
    with citizen_client(server.url, citizen) as me:
        lon, lat = inside_point(db)
        data = {"category": "garbage", "description": "路口有垃圾", "lat": str(lat), "lon": str(lon), **change}
        resp = me.post("/portal/report", data={**data, "csrf_token": citizen.csrf})
        assert resp.status_code == 422, resp.text[:300]
        assert words in resp.text
        assert f'id="f-{field}-error"' in resp.text or f'id="f-{field}"' in resp.text
    assert db.execute(select(PortalReport).where(PortalReport.citizen_id == citizen.citizen_id)).first() is None


@pytest.mark.parametrize(
    "photo",
    [
        [("photo", ("x.jpg", b"this is not an image", "image/jpeg"))],
        [("photo", (f"p{i}.jpg", jpeg(), "image/jpeg")) for i in range(4)],
    ],
    ids=["not-an-image", "too-many"],
)
def test_a_bad_photo_is_refused_beside_the_photo_field(server, db, citizen, photo) -> None:
    with citizen_client(server.url, citizen) as me:
        resp = _post(me, db, photo=photo)
        assert resp.status_code == 422
        assert 'id="f-photo-error"' in resp.text
        assert "照片" in resp.text


def test_an_oversized_photo_is_refused_by_citymgmts_limit(server, db, citizen, as_user) -> None:
    assert as_user("shiftlead").put("/api/v1/citymgmt/config", json={"photo_max_bytes": 10_000}).status_code == 200
    noisy = Image.frombytes("RGB", (200, 200), secrets.token_bytes(200 * 200 * 3))
    buf = io.BytesIO()
    noisy.save(buf, "PNG")
    assert len(buf.getvalue()) > 10_000
    with citizen_client(server.url, citizen) as me:
        resp = _post(me, db, photo=[("photo", ("big.png", buf.getvalue(), "image/png"))])
        assert resp.status_code == 422
        assert "照片不能超过" in resp.text


def test_me_too_is_recorded_once_per_citizen_and_shown_near_the_pin(server, db, citizen, other, http) -> None:
    with citizen_client(server.url, citizen) as me, citizen_client(server.url, other) as neighbour:
        spot = inside_point(db)
        token = _token(_post(me, db, at=spot))
        lon, lat = point_near(*spot, 30)
        near = http.get("/portal/report/nearby", params={"lat": lat, "lon": lon}).json()
        assert [n["token"] for n in near if n["token"] == token] == [token]
        assert "王小明" not in str(near)
        for _ in range(2):  # a second tap changes nothing
            resp = neighbour.post(f"/portal/reports/{token}/support", headers={"Accept": "application/json"})
            assert resp.status_code == 200
            assert resp.json() == {"supporters": 1}
        near = http.get("/portal/report/nearby", params={"lat": lat, "lon": lon}).json()
        shown = next(n for n in near if n["token"] == token)
        assert shown["supporters"] == 1
        assert (shown["supported"], shown["own"]) == (False, False)  # signed out: nobody's
        theirs = next(
            n
            for n in neighbour.get("/portal/report/nearby", params={"lat": lat, "lon": lon}).json()
            if n["token"] == token
        )
        assert (theirs["supported"], theirs["own"]) == (True, False)
        mine = next(
            n for n in me.get("/portal/report/nearby", params={"lat": lat, "lon": lon}).json() if n["token"] == token
        )
        assert (mine["supported"], mine["own"]) == (False, True)
        assert "1 人" in http.get(f"/portal/reports/{token}").text
        far = point_near(*spot, 2000)
        assert token not in [
            n["token"] for n in http.get("/portal/report/nearby", params={"lat": far[1], "lon": far[0]}).json()
        ]


def test_me_too_needs_sign_in(server, db, citizen, http) -> None:
    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db))
    resp = http.post(f"/portal/reports/{token}/support", headers={"Accept": "application/json"})
    assert resp.status_code == 401


def test_another_citizen_can_neither_list_nor_rate_my_report(server, db, citizen, other) -> None:
    with citizen_client(server.url, citizen) as me, citizen_client(server.url, other) as stranger:
        token = _token(_post(me, db))
        assert token not in stranger.get("/portal/reports/mine").text
        page = stranger.get(f"/portal/reports/{token}")
        assert page.status_code == 200
        assert "办理评价" not in page.text
        rated = stranger.post(f"/portal/reports/{token}/rating", data={"grade": "1", "reasons": ["处理太慢"]})
        assert rated.status_code == 404
        for guess in (secrets.token_hex(16), "1", "../mine"):
            assert stranger.get(f"/portal/reports/{guess}").status_code == 404
            assert stranger.post(f"/portal/reports/{guess}/support").status_code == 404


def test_a_case_the_county_does_not_publish_answers_404_but_its_reporter_still_follows_it(
    server, db, citizen, as_user, http
) -> None:
    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db))
        assert (
            as_user("shiftlead")
            .put("/api/v1/citymgmt/config", json={"open311_public_sources": ["open311"]})
            .status_code
            == 200
        )
        assert http.get(f"/portal/reports/{token}").status_code == 404
        assert http.get(f"/open311/v2/tokens/{token}.json").status_code == 404
        assert me.get(f"/portal/reports/{token}").status_code == 200
        assert token in me.get("/portal/reports/mine").text


def _close(as_user, db, token: str) -> None:
    case_id = db.execute(select(PortalReport.case_id).where(PortalReport.token == token)).scalar_one()
    acceptor, dispatcher, handler, inspector = (
        as_user(u) for u in ("acceptor", "dispatcher", "handler_zfj", "inspector01")
    )
    assert act(acceptor, case_id, "file", note="符合立案标准").status_code == 200
    assert act(dispatcher, case_id, "dispatch").status_code == 200
    assert complete(handler, case_id).status_code == 200
    assert check(inspector, case_id, passed=True, note="现场已清理").json()["status"] == "closed"


def test_closed_case_tells_the_reporter_and_takes_one_rating_a_bad_one_opening_rectification(
    server, db, node, citizen, as_user
) -> None:
    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db))
        early = me.post(f"/portal/reports/{token}/rating", data={"grade": "5", "csrf_token": citizen.csrf})
        assert early.status_code == 422
        assert "办结后" in early.text
        _close(as_user, db, token)
        assert reports.notify_closed(db) == 1
        assert reports.notify_closed(db) == 0  # once
        notice = db.execute(select(CitizenNotice).where(CitizenNotice.recipient_index == citizen.id_index)).scalar_one()
        assert "已办结" in notice.title
        assert notice.link == f"/portal/reports/{token}"
        page = me.get(f"/portal/reports/{token}")
        assert "已办结" in page.text
        assert "提交评价" in page.text
        no_reason = me.post(f"/portal/reports/{token}/rating", data={"grade": "1", "csrf_token": citizen.csrf})
        assert no_reason.status_code == 422
        assert "差评须说明理由" in no_reason.text
        rated = me.post(
            f"/portal/reports/{token}/rating",
            data={"grade": "1", "reasons": ["问题没有解决"], "csrf_token": citizen.csrf},
        )
        assert rated.status_code == 303
        again = me.post(f"/portal/reports/{token}/rating", data={"grade": "5", "csrf_token": citizen.csrf})
        assert again.status_code == 422
        assert "只评价一次" in again.text
        assert "非常不满意" in again.text
        assert "提交评价" not in me.get(f"/portal/reports/{token}").text
    row = db.execute(select(Rating).where(Rating.channel == "report")).scalar_one()
    assert row.application_id is None
    assert row.matter_id is None
    assert row.grade == 1
    task = db.execute(select(Rectification).where(Rectification.rating_id == row.id)).scalar_one()
    head = _actor(db, "datahub")
    assert task.department_id == row.department_id
    by_dept = ratings.statistics(db, actor=head, settings=node.settings, by="department")
    stat = next(s for s in by_dept if s.key == row.department_id)
    listed, total = ratings.list_ratings(
        db, actor=head, settings=node.settings, flt=ratings.RatingFilter(department_id=row.department_id, bad=True)
    )
    assert stat.bad == total
    assert row.id in [r.id for r in listed]
    assert all(s.key for s in ratings.statistics(db, actor=head, settings=node.settings, by="matter"))


def test_a_rating_of_a_case_is_kept_once_at_the_service(db, node, citizen) -> None:
    data = RatingIn(grade=4)
    ctx = audit.AuditContext(username="citizen:test")
    dept = _actor(db, "handler_zfj").department_id
    ratings.rate_case(
        db,
        settings=node.settings,
        ctx=ctx,
        case_id=10**9,
        case_number="X",
        department_id=dept,
        recorded_by="t",
        data=data,
    )
    with pytest.raises(Exception, match="只评价一次"):
        ratings.rate_case(
            db,
            settings=node.settings,
            ctx=ctx,
            case_id=10**9,
            case_number="X",
            department_id=dept,
            recorded_by="t",
            data=data,
        )


def _actor(db, username):
    from tests.services.helpers import actor

    return actor(db, username)


def test_the_report_pages_read_in_chinese(server, db, citizen, other, as_user) -> None:
    from tests.e2e.crawl import latin_only, readable_texts

    with citizen_client(server.url, citizen) as me:
        token = _token(_post(me, db))
        _close(as_user, db, token)
        pages = [me.get(path) for path in ("/portal/report", "/portal/reports/mine", f"/portal/reports/{token}")]
        pages.append(me.post(f"/portal/reports/{token}/rating", data={"grade": "1", "csrf_token": citizen.csrf}))
        pages.append(me.post("/portal/report", data={"category": "x", "csrf_token": citizen.csrf}))
    latin = [(r.url.path, text) for r in pages for _, text in readable_texts(r.text) if latin_only(text) is not None]
    assert latin == []
