"""Runs started over HTTP are queued and executed by the background worker, never inside the request."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.helpers import csv_bytes, messy_people, set_people_mapping, upload, wait_run
from zhixian.integration import pipeline, tasks, worker
from zhixian.integration.models import Run, Source
from zhixian.platform.models import AuditRecord


def test_run_request_answers_202_with_status_url_and_the_page_polls_until_done(as_user, db):
    client = as_user("gaj_officer")
    rows, expected, _ = messy_people("async")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    accepted = client.post(f"/api/v1/integration/sources/{sid}/runs")
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["status_url"] == f"/api/v1/integration/runs/{body['id']}"
    assert body["page_url"] == f"/integration/runs/{body['id']}"
    done = wait_run(client, accepted)
    assert done["status"] == "succeeded"
    assert (done["read"], done["loaded"], done["quarantined"]) == (expected["read"], expected["loaded"], 6)
    assert done["checkpoint"] == done["total"] == len(rows)
    page = client.get(body["page_url"], headers={"Accept": "text/html"}).text
    assert 'hx-trigger="every 2s"' not in page  # finished: no more polling
    assert "完成" in page
    actions = db.execute(
        select(AuditRecord.action).where(
            AuditRecord.object_type == "integration_run", AuditRecord.object_id == str(body["id"])
        )
    ).scalars()
    assert set(actions) == {"integration.run.start", "integration.run.finish"}


def test_queued_run_left_by_a_restart_is_picked_up_by_the_scheduler_job(as_user, db, node):
    client = as_user("gaj_officer")
    rows, expected, _ = messy_people("restart")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_id = tasks.start_system_run(node, sid, trigger="manual")  # queued, but no worker was told
    page = client.get(f"/integration/runs/{run_id}", headers={"Accept": "text/html"}).text
    assert f'hx-get="/integration/runs/{run_id}/report" hx-trigger="every 2s"' in page
    assert "排队中" in page
    assert client.post(f"/api/v1/integration/sources/{sid}/runs").status_code == 409
    tasks.scheduler(node)
    assert worker.wait_idle(60)
    run = client.get(f"/api/v1/integration/runs/{run_id}").json()
    assert (run["status"], run["loaded"]) == ("succeeded", expected["loaded"])
    fragment = client.get(f"/integration/runs/{run_id}/report", headers={"Accept": "text/html"}).text
    assert "hx-trigger" not in fragment
    assert "完成" in fragment
    # submitting it again (a second tick, another process) never executes it twice
    assert not worker.claim(node.db, run_id)


def test_failed_background_run_records_a_chinese_reason_and_resumes(as_user, db, node):
    client = as_user("gaj_officer")
    rows, expected, _ = messy_people("vanish")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    source = db.get(Source, sid)
    path = node.settings.data_dir / source.file_path  # stored relative to the data directory
    saved = path.read_bytes()
    path.unlink()
    failed = wait_run(client, client.post(f"/api/v1/integration/sources/{sid}/runs"))
    assert failed["status"] == "failed"
    assert failed["error"] == "数据源文件不存在，请重新上传"
    assert failed["finished_at"]
    path.write_bytes(saved)
    resumed = wait_run(client, client.post(f"/api/v1/integration/runs/{failed['id']}/resume"))
    assert (resumed["status"], resumed["error"], resumed["loaded"]) == ("succeeded", "", expected["loaded"])
    assert db.get(Run, failed["id"]).status == "succeeded"


def test_unexpected_error_is_reported_in_chinese_with_what_was_kept():
    reason = pipeline.failure_reason(ValueError("boom"), 3)
    assert reason.startswith("运行出错（ValueError：boom）")
    assert "已提交 3 个批次并保留" in reason
    assert "可从断点继续运行" in reason
    assert "本次未提交任何批次" in pipeline.failure_reason(OSError("disk"), 0)
