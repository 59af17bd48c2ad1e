"""The pages of the people who work cases: 我的上报, the place in words, dispatch and merge with reasons,
the class picker, the photo viewer's markup. HTTP against the live server, as each role."""

from __future__ import annotations

import html as htmllib
import math
import re
import uuid

from pypinyin import lazy_pinyin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.citymgmt.conftest import grid_point, jpeg
from tests.citymgmt.test_home_cards import _card
from zhixian.citymgmt.models import Address, Case
from zhixian.platform.models import Department, Division, User

HTML = {"accept": "text/html"}


def report(client, lon, lat, *, class_code="S0102", description="路口有成堆垃圾"):
    data = {"class_code": class_code, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "description": description}
    files = {"photo": ("before.jpg", jpeg(), "image/jpeg")}
    resp = client.post(
        "/api/v1/citymgmt/reports", data=data, files=files, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def act(client, case_id, action, **body):
    resp = client.post(f"/api/v1/citymgmt/cases/{case_id}/actions/{action}", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _total(page: str) -> int:
    match = re.search(r"共 (\d+) 条", page)
    assert match, "pager missing"
    return int(match.group(1))


def _metres(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(a))


def _uid(db: Session, username: str) -> int:
    return db.execute(select(User.id).where(User.username == username)).scalar_one()


# --- 我的上报 and the home page


def test_my_reports_lists_exactly_my_own_reports_paged(as_user, db: Session) -> None:
    mine, other = as_user("inspector01"), as_user("inspector03")
    lon, lat, _ = grid_point(db, "inspector01")
    first = report(mine, lon, lat, description="第一件")
    second = report(mine, lon, lat, description="第二件")
    olon, olat, _ = grid_point(db, "inspector03")
    foreign = report(other, olon, olat, description="别人的")
    expected = db.execute(select(func.count()).where(Case.reporter_id == _uid(db, "inspector01"))).scalar_one()

    page1 = mine.get("/citymgmt/reports/mine?size=1", headers=HTML)
    assert page1.status_code == 200
    assert _total(page1.text) == expected >= 2
    assert page1.text.count('class="cm-task ') == 1
    assert second["number"] in page1.text  # newest first
    page2 = mine.get("/citymgmt/reports/mine?size=1&page=2", headers=HTML).text
    assert first["number"] in page2
    everything = mine.get(f"/citymgmt/reports/mine?size={expected}", headers=HTML).text
    assert foreign["number"] not in everything
    assert "下一页" in page1.text


def test_my_reports_filter_by_state_and_home_figures_open_their_lists(as_user, db: Session) -> None:
    mine = as_user("inspector01")
    lon, lat, _ = grid_point(db, "inspector01")
    report(mine, lon, lat)
    home = mine.get("/", headers=HTML).text
    for title in ("我的上报", "我的上报中办理中"):
        href, value = _card(home, title)
        listed = mine.get(href, headers=HTML)
        assert listed.status_code == 200
        assert _total(listed.text) == value, title
    uid = _uid(db, "inspector01")
    closed = db.execute(select(func.count()).where(Case.reporter_id == uid, Case.status == "closed")).scalar_one()
    assert _total(mine.get("/citymgmt/reports/mine?state=closed", headers=HTML).text) == closed
    assert mine.get("/citymgmt/reports/mine?state=", headers=HTML).status_code == 200  # empty means all
    assert mine.get("/citymgmt/reports/mine?state=bogus", headers=HTML).status_code == 200


def test_inspector_home_has_a_report_button_and_others_do_not(as_user) -> None:
    inspector = as_user("inspector01").get("/", headers=HTML).text
    assert re.search(r'class="home-actions"><a class="btn" href="/citymgmt/report">上报问题</a>', inspector)
    dispatcher = as_user("dispatcher").get("/", headers=HTML).text
    assert "home-actions" not in dispatcher
    assert as_user("dispatcher").get("/citymgmt/reports/mine", headers=HTML).status_code == 403


# --- the place in words


def test_case_page_and_list_name_the_place_with_codes_beside(as_user, db: Session) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    lon, lat, grid = grid_point(db, "inspector01")
    created = report(inspector, lon, lat)
    community = db.execute(select(Division).where(Division.code == created["community_code"])).scalar_one()
    street = db.execute(select(Division).where(Division.code == created["street_code"])).scalar_one()
    page = acceptor.get(f"/citymgmt/cases/{created['id']}", headers=HTML).text
    assert f'{community.name} <span class="muted">{community.code}</span>' in page
    assert f'{street.name} <span class="muted">{street.code}</span>' in page
    assert f'<span class="muted">{grid}</span>' in page
    nearest = re.search(r'<dd id="cm-nearest">([^<]+) <span class="muted">（约 (\d+) 米）', page)
    assert nearest, "nearest gazetteer address missing"
    everything = db.execute(select(Address.text, Address.lon, Address.lat)).all()
    truth = min(everything, key=lambda a: _metres(lon, lat, a[1], a[2]))  # brute force over the whole gazetteer
    assert htmllib.unescape(nearest.group(1)) == truth[0]
    assert int(nearest.group(2)) == round(_metres(lon, lat, truth[1], truth[2]))
    assert 'id="cm-case-map"' in page
    assert "WGS84" not in page  # the coordinate note reads "WGS 84" beside the map, not as the place
    detail = acceptor.get(f"/api/v1/citymgmt/cases/{created['id']}").json()
    assert detail["place"]["community_name"] == community.name
    assert detail["place"]["nearest_address"] == htmllib.unescape(nearest.group(1))

    listed = acceptor.get(f"/citymgmt/cases?q={created['number']}", headers=HTML).text
    row = re.search(rf"<tr><td>[^\n]*?>{created['number']}</a>.*?</tr>", listed, re.S)
    assert row
    assert f"{community.name} · {street.name}" in row.group(0)
    assert f"网格 {grid}" in row.group(0)


def test_places_lookup_answers_inside_and_outside_the_county(as_user, db: Session) -> None:
    inspector = as_user("inspector01")
    lon, lat, grid = grid_point(db, "inspector01")
    inside = inspector.get(f"/api/v1/citymgmt/places?lon={lon}&lat={lat}").json()
    assert inside["inside"] is True
    assert inside["grid_code"] == grid
    assert inside["grid"]["type"] == "Polygon"
    assert set(inside["nearest"]) == {"text", "distance_m", "lon", "lat"}
    assert inside["community_name"]
    assert inside["street_name"]
    outside = inspector.get("/api/v1/citymgmt/places?lon=100.0&lat=20.0").json()
    assert outside == {"inside": False, "message": "坐标（100.000000, 20.000000）不在本县任何社区或单元网格内"}
    assert inspector.get("/api/v1/citymgmt/places?lon=abc&lat=1").status_code == 422
    assert as_user("dispatcher").get(f"/api/v1/citymgmt/places?lon={lon}&lat={lat}").status_code == 403


# --- dispatch and merge say why


def _options(page: str) -> list[tuple[str, str, bool]]:
    select_html = re.search(r'<select id="c\d+-dispatch-department_id".*?</select>', page, re.S)
    assert select_html, "dispatch form missing"
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select_html.group(0), re.S)
    out = []
    for label, body in groups:
        for attrs, text in re.findall(r"<option ([^>]*)>([^<]*)</option>", body):
            out.append((label, htmllib.unescape(text), "selected" in attrs))
    return out


def test_dispatch_puts_the_suggestion_first_marked_with_its_reason_then_sorted(as_user, db: Session) -> None:
    inspector, acceptor, dispatcher = as_user("inspector01"), as_user("acceptor"), as_user("dispatcher")
    lon, lat, _ = grid_point(db, "inspector01")
    case = report(inspector, lon, lat, class_code="S0102")
    act(acceptor, case["id"], "file")
    page = dispatcher.get(f"/citymgmt/cases/{case['id']}", headers=HTML).text
    options = _options(page)
    zfj = db.execute(select(Department).where(Department.code == "zfj")).scalar_one()
    assert options[0] == ("建议", f"★ {zfj.name}（建议）", True)
    assert sum(1 for o in options if o[2]) == 1
    why = re.search(r'<div class="hint" id="c\d+-dispatch-department_id-hint">(.*?)</div>', page, re.S).group(1)
    assert zfj.name in why
    assert "类别“暴露垃圾”在应用维护中设定的默认处置部门" in why
    depts = {d.name: d for d in db.execute(select(Department).where(Department.active.is_(True))).scalars()}
    assert len(options) == len(depts)  # every department once
    county = [name for label, name, _ in options if label.startswith("县级部门")]
    keys = [" ".join(lazy_pinyin(depts[n].short_name or n)) for n in county]
    assert keys == sorted(keys)
    towns = [name for label, name, _ in options if label.startswith("乡镇街道")]
    codes = [depts[n].division_code for n in towns]
    assert codes == sorted(codes)
    assert len(towns) > 1
    assert (
        dispatcher.get(f"/api/v1/citymgmt/cases/{case['id']}").json()["suggested_reason"].startswith("类别“暴露垃圾”")
    )


def test_territory_rule_names_the_street(as_user, db: Session) -> None:
    inspector, acceptor, dispatcher = as_user("inspector01"), as_user("acceptor"), as_user("dispatcher")
    lon, lat, _ = grid_point(db, "inspector01")
    case = report(inspector, lon, lat, class_code="S0201")
    act(acceptor, case["id"], "file")
    street = db.execute(select(Division.name).where(Division.code == case["street_code"])).scalar_one()
    page = dispatcher.get(f"/citymgmt/cases/{case['id']}", headers=HTML).text
    assert f"按属地处置：案件位于{street}，由属地政府办理" in page
    first = _options(page)[0]
    assert first[0] == "建议"
    assert first[2]
    assert street.removesuffix("街道").removesuffix("镇").removesuffix("乡") in first[1]


def test_merge_lists_near_duplicates_with_reasons_or_says_why_there_are_none(as_user, db: Session) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    lon, lat, _ = grid_point(db, "inspector01")
    first = report(inspector, lon, lat, class_code="S0103")
    second = report(inspector, lon + 0.0001, lat, class_code="S0103")
    page = acceptor.get(f"/citymgmt/cases/{second['id']}", headers=HTML).text
    choice = re.search(rf'name="target_id" value="{first["id"]}".*?<div class="hint">([^<]+)</div>', page, re.S)
    assert choice, "the near-duplicate is not offered"
    reason = htmllib.unescape(choice.group(1))
    assert re.search(r"相距 \d+(\.\d)? 米，上报早于本案", reason)
    assert "待受理" in reason

    alone = report(inspector, lon, lat, class_code="S0401")
    page = acceptor.get(f"/citymgmt/cases/{alone['id']}", headers=HTML).text
    none = re.search(r'<p class="notice" id="merge-none">([^<]+)</p>', page)
    assert none, "no explanation when nothing can be merged"
    assert "没有可合并的案件" in none.group(1)
    form = re.search(r"<form [^>]*act/merge.*?</form>", page, re.S).group(0)
    assert "<select" not in form
    assert "<button" not in form


# --- the phone report and the case page's photos


def test_report_page_groups_classes_offers_recent_and_pinyin(as_user, db: Session) -> None:
    inspector = as_user("inspector01")
    lon, lat, _ = grid_point(db, "inspector01")
    report(inspector, lon, lat, class_code="S0105")
    page = inspector.get("/citymgmt/report", headers=HTML).text
    recent = re.search(r'<div class="cm-recent".*?</div>', page, re.S)
    assert recent
    assert 'data-pick="S0105"' in recent.group(0)
    assert re.search(r'<optgroup label="事件·市容环境" data-major="S01">', page)
    assert re.search(r'<option value="S0105" data-pinyin="lvdizangluan ldzl"', page)
    majors = re.findall(r'<select id="class_major".*?</select>', page, re.S)[0]
    assert majors.count("<option") >= 6
    assert 'name="class_code"' in page
    assert '<label for="class_code">' in page


def test_case_photos_open_in_the_viewer_and_check_form_takes_a_photo(as_user, db: Session) -> None:
    inspector, acceptor, dispatcher, handler = (
        as_user(u) for u in ("inspector01", "acceptor", "dispatcher", "handler_zfj")
    )
    lon, lat, _ = grid_point(db, "inspector01")
    case = report(inspector, lon, lat)
    act(acceptor, case["id"], "file")
    act(dispatcher, case["id"], "dispatch")
    files = {"photo": ("after.jpg", jpeg(color="green"), "image/jpeg")}
    handler.post(f"/api/v1/citymgmt/cases/{case['id']}/actions/complete", data={"note": "已清理"}, files=files)
    page = inspector.get(f"/citymgmt/cases/{case['id']}", headers=HTML).text
    links = re.findall(r'<a href="(/api/v1/citymgmt/photos/\d+)" data-lightbox data-caption="([^"]+)"', page)
    assert [c.split(" · ")[0] for _, c in links] == ["现场照片", "处置后照片"]
    form = re.search(r"<form [^>]*act/check.*?</form>", page, re.S).group(0)
    assert re.search(
        r'<input id="c\d+-check-photo" name="photo" type="file" accept="image/\*" capture="environment" required>', form
    )
    assert "/static/citymgmt/citymgmt.js" in page


def test_my_tasks_say_where_to_go(as_user, db: Session) -> None:
    inspector, acceptor = as_user("inspector01"), as_user("acceptor")
    lon, lat, _ = grid_point(db, "inspector01")
    case = report(inspector, lon, lat)
    act(acceptor, case["id"], "verify")
    community = db.execute(select(Division.name).where(Division.code == case["community_code"])).scalar_one()
    page = inspector.get("/citymgmt/my", headers=HTML).text
    task = re.search(rf'<li class="cm-task[^"]*">\s*<a href="/citymgmt/cases/{case["id"]}">.*?</li>', page, re.S)
    assert task, "the verify task is not listed"
    assert re.search(rf"{community} · [^<]+ · 近[^<]+（约 \d+ 米）", task.group(0))
