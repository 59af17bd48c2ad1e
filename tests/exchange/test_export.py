"""Bulk export: a signed request queues a job, a worker writes one gzip file of the granted rows — within
the grant's row filter and items, masked as a query is — and only the same application downloads it,
signed, until it expires. Another application cannot see the job; a grant revoked before the worker runs
fails the job with the reason; the export is one call row, one audit record and a disclosure per record."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta

from sqlalchemy import func, select
from tests.exchange.helpers import GATEWAY

from zhixian.clock import utcnow
from zhixian.exchange import export_run, tasks
from zhixian.exchange.models import Call, Disclosure, ExportJob
from zhixian.integration.models import Person
from zhixian.platform.models import AuditRecord


def _submit(gateway, resource: int, body: dict) -> dict:
    resp = gateway.call("exports", resource, body)
    assert resp.status_code == 202, resp.text
    return resp.json()["export"]


def _status(gateway, resource: int, job: int):
    return gateway.signed("GET", f"{GATEWAY}/resources/{resource}/exports/{job}")


def _file(gateway, resource: int, job: int, **kw):
    return gateway.signed("GET", f"{GATEWAY}/resources/{resource}/exports/{job}/file", **kw)


def _csv(content: bytes) -> list[list[str]]:
    text = gzip.decompress(content).decode("utf-8")
    assert text.startswith("\ufeff"), "CSV 应带 BOM，Excel 才能按 UTF-8 打开"
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_file_holds_the_grants_rows_items_and_masking_and_is_recorded_once(township, node, db) -> None:
    gateway, grant, prefix = township
    resource = grant.resource_id
    items = ["id_number", "name", "division_code"]
    job = _submit(gateway, resource, {"items": items, "format": "csv", "reason": "走访台账"})
    assert job["status"] == "queued"
    assert _file(gateway, resource, job["id"]).status_code == 409  # not written yet
    audits = db.execute(select(func.count()).select_from(AuditRecord)).scalar_one()

    assert tasks.exports(node)["done"] == 1
    state = _status(gateway, resource, job["id"]).json()["export"]
    assert state["status"] == "done", state
    resp = _file(gateway, resource, job["id"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/gzip"
    assert f'filename="export-{job["id"]}.csv.gz"' in resp.headers["content-disposition"]
    header, *rows = _csv(resp.content)
    assert header == items
    expected = db.execute(select(func.count()).where(Person.division_code.startswith(prefix))).scalar_one()
    assert 0 < len(rows) == expected == state["rows"] == int(resp.headers["X-ZX-Export-Rows"])
    assert all(r[2].startswith(prefix) for r in rows), "行范围（本镇）之外的记录不应导出"
    assert all("*" in r[0] and len(r[0]) == 18 for r in rows), "身份号码应脱敏"
    # the same rendering as a query page of the same rows
    page = gateway.call("query", resource, {"items": items, "page_size": 5}).json()["rows"]
    assert [[p["id_number"], p["name"], p["division_code"]] for p in page] == rows[:5]

    call = db.execute(select(Call).where(Call.operation == "export_run")).scalars().one()
    assert (call.rows, call.result, call.grant_id) == (expected, "成功", grant.id)
    disclosed = db.execute(select(func.count()).where(Disclosure.call_id == call.id)).scalar_one()
    assert disclosed == expected
    run_audits = db.execute(
        select(AuditRecord).where(AuditRecord.action == "exchange.gateway.export_run", AuditRecord.id > 0)
    ).scalars()
    assert [a.detail["rows"] for a in run_audits] == [expected]
    # the worker wrote one audit record; the status call, the download and the query one each
    after = db.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    assert after - audits == 4


def test_items_outside_the_grant_and_masked_filters_are_refused_like_a_query(township) -> None:
    gateway, grant, _ = township
    outside = gateway.call("exports", grant.resource_id, {"items": ["phone"]})
    assert outside.status_code == 403
    assert "phone" in outside.json()["detail"]
    masked = gateway.call("exports", grant.resource_id, {"filters": [{"field": "name", "op": "prefix", "value": "张"}]})
    assert masked.status_code == 422
    assert gateway.call("exports", grant.resource_id, {"format": "xlsx"}).status_code == 422


def test_json_lines_export_and_the_file_expires(mzj, node, db) -> None:
    job = _submit(
        mzj.gateway, mzj.resource, {"format": "jsonl", "filters": [{"field": "gender", "op": "eq", "value": "女"}]}
    )
    tasks.exports(node)
    resp = _file(mzj.gateway, mzj.resource, job["id"])
    assert resp.status_code == 200, resp.text
    lines = [json.loads(x) for x in gzip.decompress(resp.content).decode().splitlines()]
    assert lines
    assert all(r["gender"] == "女" for r in lines)
    births = [r["birth_date"] for r in lines if r["birth_date"]]
    assert births
    assert all(b.endswith("年") and len(b) == 5 for b in births), "脱敏身份号码旁只给出生年份"
    assert set(lines[0]) == {"id_number", "name", "gender", "birth_date", "address", "division_code"}

    stored = db.get(ExportJob, job["id"])
    path = node.settings.data_dir / "exports" / stored.file_name
    assert path.is_file()
    assert export_run.purge(node, now=utcnow() + timedelta(hours=25)) >= 1
    assert not path.exists()
    gone = _file(mzj.gateway, mzj.resource, job["id"])
    assert gone.status_code == 410
    assert "过期" in gone.json()["detail"]


def test_another_application_cannot_read_the_job_or_its_file(mzj, township, node) -> None:
    job = _submit(mzj.gateway, mzj.resource, {"items": ["name"]})
    tasks.exports(node)
    other, _, _ = township
    for resp in (_status(other, mzj.resource, job["id"]), _file(other, mzj.resource, job["id"])):
        assert resp.status_code == 404
        assert "导出任务" in resp.json()["detail"]
    # the owner under another resource id reaches nothing either
    assert _status(mzj.gateway, mzj.resource + 1, job["id"]).status_code in (403, 404)
    assert _file(mzj.gateway, mzj.resource, job["id"] + 1000).status_code == 404


def test_a_grant_revoked_before_the_job_runs_fails_it_with_the_reason(mzj, as_user, node, db) -> None:
    job = _submit(mzj.gateway, mzj.resource, {"items": ["name", "gender"]})
    resp = as_user("gaj_officer").post(
        f"/api/v1/exchange/grants/{mzj.grant['id']}/revoke", json={"reason": "项目结束，收回授权"}
    )
    assert resp.status_code == 200, resp.text
    assert tasks.exports(node)["failed"] == 1
    state = _status(mzj.gateway, mzj.resource, job["id"]).json()["export"]
    assert state["status"] == "failed"
    assert "撤销" in state["error"], state["error"]
    call = db.execute(select(Call).where(Call.operation == "export_run")).scalars().one()
    assert (call.result, call.rows) == ("拒绝", 0)
    assert db.execute(select(func.count()).where(Disclosure.call_id == call.id)).scalar_one() == 0
    assert db.get(ExportJob, job["id"]).file_name == ""
    assert not any((node.settings.data_dir / "exports").glob("*.part")), "半成品文件应已删除"
    assert _file(mzj.gateway, mzj.resource, job["id"]).status_code == 403


def test_an_unsigned_or_tampered_download_is_refused(mzj, node) -> None:
    job = _submit(mzj.gateway, mzj.resource, {"items": ["name"]})
    tasks.exports(node)
    path = f"{GATEWAY}/resources/{mzj.resource}/exports/{job['id']}/file"
    assert mzj.gateway.http.get(path).status_code == 401
    assert _file(mzj.gateway, mzj.resource, job["id"], drop="X-ZX-Signature").status_code == 401
    assert _file(mzj.gateway, mzj.resource, job["id"], secret="x" * 43).status_code == 401
    nonce = "replayed-nonce-0123456789"
    assert _file(mzj.gateway, mzj.resource, job["id"], nonce=nonce).status_code == 200
    assert _file(mzj.gateway, mzj.resource, job["id"], nonce=nonce).status_code == 401


def test_two_workers_never_claim_the_same_job(mzj, node, db) -> None:
    job = _submit(mzj.gateway, mzj.resource, {"items": ["name"]})
    with node.db.transaction() as session:
        first = export_run.claim(session, now=utcnow())
    with node.db.transaction() as session:
        second = export_run.claim(session, now=utcnow())
    assert [j for j, _ in first] == [job["id"]]
    assert second == []
    # a worker that died: its lease lapses and another takes the job over; the first one's token is spent
    with node.db.transaction() as session:
        taken = export_run.claim(session, now=utcnow() + export_run.LEASE + timedelta(seconds=1))
    assert [j for j, _ in taken] == [job["id"]]
    assert export_run.run(node, job["id"], first[0][1]) == "lost"
    assert export_run.run(node, job["id"], taken[0][1]) == "done"


def test_a_queued_export_is_due_for_a_child_process_until_it_is_written(mzj, node) -> None:
    """On one server the scheduler hands a queued export to `zhixian exchange exports` in a child process."""
    job = next(j for j in node.registry.enabled["exchange"].jobs if j.name == "exchange.exports")
    assert job.apart is not None
    assert job.apart.argv == ("exchange", "exports")
    tasks.exports(node)  # whatever other tests left queued
    assert not job.apart.due(node)
    _submit(mzj.gateway, mzj.resource, {"format": "csv"})
    assert job.apart.due(node)
    tasks.exports(node)
    assert not job.apart.due(node)
