"""A file source's life from its pages, over HTTP: a new file, deletion with confirmation, what stays;
which resources the forms offer (exactly what the API accepts); a departmental resource's records."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from tests.integration.extract import messy_extract
from tests.integration.helpers import csv_bytes, run_source, set_people_mapping, upload
from zhixian.catalog.models import Resource
from zhixian.integration.models import Change, Person, Record, Source
from zhixian.platform.models import Department


def _html(client):  # type: ignore[no-untyped-def]
    client.headers["Accept"] = "text/html"
    return client


def _form(client, **data):  # type: ignore[no-untyped-def]
    return {"csrf_token": client.headers["X-CSRF-Token"], **data}


def test_a_file_source_gets_a_new_file_and_is_deleted_from_its_page_keeping_what_it_loaded(as_user, db, node):
    client = _html(as_user("gaj_officer"))
    extract = messy_extract("pages-delete")
    resp = upload(client, db, extract.csv_gb18030(), "第一版.csv", name="待删除的数据源")
    sid = resp.json()["id"]
    set_people_mapping(client, sid)
    run = run_source(client, sid)
    source = db.get(Source, sid)
    old_path = node.settings.data_dir / source.file_path
    assert not source.file_path.startswith("/")  # kept relative to the data directory
    assert old_path.exists()

    # a file that is not a workbook is refused once, beside the file field, and the old file stays
    bad = client.post(
        f"/integration/sources/{sid}/file", data=_form(client), files={"file": ("坏.xlsx", b"not a workbook")}
    )
    assert bad.status_code == 422
    text = unescape(bad.text)
    assert text.count("文件不是有效的 Excel 工作簿（.xlsx/.xls）") == 2  # beside the field and in the summary
    db.refresh(source)
    assert source.file_name == "第一版.csv"

    second = csv_bytes(extract.rows[:3], encoding="gb18030")
    new = client.post(
        f"/integration/sources/{sid}/file",
        data=_form(client),
        files={"file": ("第二版.csv", second)},
        follow_redirects=False,
    )
    assert new.status_code == 303, new.text[:300]
    db.refresh(source)
    assert (source.file_name, source.config["rows"], source.mapping_version) == ("第二版.csv", 3, 1)
    assert not old_path.exists()  # no other source uses the first file
    page = client.get(new.headers["location"])
    assert "文件已更换并通过检查" in page.text
    assert run_source(client, sid)["unchanged"] == 3

    records = db.execute(select(func.count()).select_from(Person)).scalar_one()
    confirm = client.get(f"/integration/sources/{sid}/delete")
    assert confirm.status_code == 200
    assert "确认删除" in confirm.text
    assert "保留" in confirm.text
    # without the confirmation field nothing happens
    assert (
        client.post(f"/integration/sources/{sid}/delete", data=_form(client), follow_redirects=False).status_code == 303
    )
    db.refresh(source)
    assert source.deleted_at is None
    gone = client.post(f"/integration/sources/{sid}/delete", data=_form(client, confirm="yes"), follow_redirects=False)
    assert gone.status_code == 303
    listing = client.get(gone.headers["location"])
    assert "数据源“待删除的数据源”已删除" in listing.text
    assert f'href="/integration/sources/{sid}"' not in listing.text
    db.refresh(source)
    assert source.deleted_at is not None
    assert db.execute(select(func.count()).select_from(Person)).scalar_one() == records
    assert not (node.settings.data_dir / "integration" / "uploads").joinpath(source.file_name).exists()
    # its runs still name it; it can neither run nor take a file any more
    report = client.get(f"/integration/runs/{run['id']}")
    assert "待删除的数据源" in report.text
    assert client.post(f"/api/v1/integration/sources/{sid}/runs").status_code == 409
    assert (
        client.post(
            f"/integration/sources/{sid}/file", data=_form(client), files={"file": ("x.csv", second)}
        ).status_code
        == 409
    )


def test_source_pages_show_names_not_ids(as_user, db):
    client = _html(as_user("gaj_officer"))
    extract = messy_extract("names")
    resp = upload(client, db, extract.csv_gb18030(), "names.csv", name="户籍名称展示")
    sid = resp.json()["id"]
    set_people_mapping(client, sid)
    run_source(client, sid)
    quarantine = client.get("/integration/quarantine", params={"source_id": sid})
    cells = re.findall(r"<tr>\s*<td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>", quarantine.text)
    assert cells
    assert set(cells) == {"户籍名称展示"}
    index = client.get("/integration")
    assert "户籍名称展示" in index.text


def _offered(client) -> set[int]:  # type: ignore[no-untyped-def]
    page = _html(client).get("/integration")
    select_html = re.search(r'<select id="file-resource_id" name="resource_id"[^>]*>(.*?)</select>', page.text, re.S)
    assert select_html
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select_html.group(1))}


def test_the_api_refuses_exactly_the_resources_the_form_does_not_offer(as_user, db):
    resources = db.execute(select(Resource.id)).scalars().all()
    for username in ("gaj_officer", "zjj_officer", "datahub"):
        client = as_user(username)
        offered = _offered(client)
        assert offered
        assert {t["id"] for t in client.get("/api/v1/integration/targets").json()} == offered
        accepted = set()
        for rid in resources:
            # an empty file: a resource the actor may load into gets as far as the file check
            resp = client.post(
                "/api/v1/integration/sources/upload",
                files={"file": ("empty.csv", b"")},
                data={"name": "探测", "resource_id": str(rid)},
            )
            assert resp.status_code in (403, 404, 422), resp.text
            if resp.status_code == 422 and "文件为空" in resp.text:
                accepted.add(rid)
        assert accepted == offered, username
    geo = db.execute(select(Resource.id).where(Resource.base_library == "地理")).scalars().all()
    assert geo
    assert not set(geo) & _offered(as_user("datahub"))


def test_a_departmental_resource_holds_same_key_rows_and_keeps_history(as_user, db):
    client = _html(as_user("gaj_officer"))
    gaj = db.execute(select(Department).where(Department.code == "gaj")).scalar_one()
    resource = (
        db.execute(
            select(Resource).where(Resource.department_id == gaj.id, Resource.kind == "部门").order_by(Resource.id)
        )
        .scalars()
        .first()
    )
    header = ["业务编号", "事项名称", "办理日期", "相对人名称", "所在区划代码"]
    rows = [
        ["GA-001", "户口迁移", "2024-01-02", "某公司", "330421001001"],
        ["GA-002", "身份证补领", "45292", "某人", "330421001001"],  # Excel serial 2024-01-01
        ["GA-001", "户口迁移", "2024/1/2", "某公司", "330421001001"],  # duplicate once normalised
        ["GA-002", "身份证补领", "2024-01-05", "某人", "330421001001"],  # conflict with row 3: 办理日期
        ["", "无编号", "2024-01-01", "", "330421001001"],  # key missing
    ]
    resp = client.post(
        "/api/v1/integration/sources/upload",
        files={"file": ("业务.csv", csv_bytes(rows, header, encoding="gb18030"))},
        data={"name": "业务台账", "resource_id": str(resource.id)},
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    mapping = {
        "record_no": "业务编号",
        "title": "事项名称",
        "handled_on": "办理日期",
        "party": "相对人名称",
        "division_code": "所在区划代码",
    }
    assert client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": mapping}).status_code == 200
    run = run_source(client, sid)
    assert {k: run[k] for k in ("read", "loaded", "quarantined", "key_conflicts", "duplicates")} == {
        "read": 5,
        "loaded": 2,
        "quarantined": 1,
        "key_conflicts": 1,
        "duplicates": 1,
    }
    (held,) = client.get("/api/v1/integration/quarantine", params={"run_id": run["id"], "kind": "conflict"}).json()
    assert (held["row_number"], held["other_row"]) == (5, 3)
    listing = client.get("/integration/quarantine", params={"run_id": run["id"], "kind": "conflict"})
    assert "办理日期：第 3 行 2024-01-01 ↔ 第 5 行 2024-01-05" in listing.text
    chosen = client.post(
        f"/integration/quarantine/{held['id']}",
        data=_form(client, do="choose", pick_handled_on="held"),
        follow_redirects=False,
    )
    assert chosen.status_code == 303, chosen.text[:300]
    record = db.execute(select(Record).where(Record.resource_id == resource.id, Record.key == "GA-002")).scalar_one()
    db.refresh(record)
    assert record.data["handled_on"] == "2024-01-05"
    change = db.execute(select(Change).where(Change.entity == "record", Change.entity_id == record.id)).scalar_one()
    assert change.field == "handled_on"
    page = client.get(f"/integration/records/{record.id}")
    assert page.status_code == 200
    assert "2024-01-01" in page.text
    assert "2024-01-05" in page.text
    assert "业务台账" in page.text
    assert as_user("zjj_officer").get(f"/integration/records/{record.id}").status_code == 404


def test_a_file_that_is_not_a_workbook_is_refused_with_its_reason_said_once(as_user, db):
    client = _html(as_user("gaj_officer"))
    person = db.execute(select(Resource.id).where(Resource.base_library == "人口")).scalar_one()
    resp = client.post(
        "/integration/sources",
        data=_form(client, name="坏文件", resource_id=str(person)),
        files={"file": ("坏.xlsx", b"PK not really a zip")},
    )
    assert resp.status_code == 422
    assert (
        unescape(resp.text).count("文件不是有效的 Excel 工作簿（.xlsx/.xls）") == 2
    )  # beside the field, in the summary
    assert db.execute(select(func.count()).select_from(Source).where(Source.name == "坏文件")).scalar_one() == 0
