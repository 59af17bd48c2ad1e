"""Scheduling, incremental sync by watermark, and quality snapshots that flag a missed update cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.helpers import (
    csv_bytes,
    messy_people,
    person_resource,
    run_source,
    set_people_mapping,
    upload,
)
from zhixian.clock import utcnow
from zhixian.errors import Invalid
from zhixian.integration import quality, schedule, tasks, worker
from zhixian.integration.models import Person, QualitySnapshot, QuarantineRow, Run, Source


def test_cron_expressions_are_checked_and_computed_in_beijing_time():
    after = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)  # 02:30 on the 21st in Beijing
    assert schedule.next_after("0 2 * * *", after).isoformat() == "2026-11-22T02:00:00+08:00"
    assert schedule.next_after("*/15 * * * *", after).minute == 45
    assert schedule.next_after("0 9 * * 1", after).weekday() == 0  # Monday
    for bad in ("0 2 * *", "61 * * * *", "a * * * *", "*/0 * * * *"):
        with pytest.raises(Invalid):
            schedule.parse(bad)


def test_scheduler_job_runs_due_sources(as_user, db, node):
    client = as_user("gaj_officer")
    rows, expected, _ = messy_people("scheduled")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    resp = client.put(f"/api/v1/integration/sources/{sid}/settings", json={"schedule": "0 2 * * *"})
    assert resp.status_code == 200
    assert client.put(f"/api/v1/integration/sources/{sid}/settings", json={"schedule": "0 25 * * *"}).status_code == 422
    source = db.get(Source, sid)
    source.next_run_at = utcnow() - timedelta(minutes=1)
    db.flush()
    started = tasks.scheduler(node)
    assert worker.wait_idle(60)
    runs = db.execute(select(Run).where(Run.source_id == sid)).scalars().all()
    assert [r.id for r in runs] == [r for r in started if r in {x.id for x in runs}]
    assert runs[0].trigger == "schedule"
    assert runs[0].loaded == expected["loaded"]
    db.refresh(source)
    assert source.next_run_at > utcnow()


def test_missed_update_cycle_is_flagged_on_the_department_home(as_user, db, node):
    client = as_user("gaj_officer")
    rows, _, _ = messy_people("quality")
    sid = upload(client, db, csv_bytes(rows)).json()["id"]
    set_people_mapping(client, sid)
    run_source(client, sid)
    resource = person_resource(db)
    today = next(q for q in client.get("/api/v1/integration/quality").json() if q["resource_id"] == resource.id)
    assert not today["overdue"]
    assert today["timeliness"] == 1.0
    # quality describes the resource's records, not the last run: records ÷ (records + rows still invalid)
    records = db.execute(select(func.count()).select_from(Person)).scalar_one()
    invalid = db.execute(
        select(func.count()).where(
            QuarantineRow.resource_id == resource.id, QuarantineRow.status == "open", QuarantineRow.kind == "invalid"
        )
    ).scalar_one()
    assert invalid >= 6
    assert today["records"] == records
    assert today["validity"] == pytest.approx(records / (records + invalid), abs=0.0001)
    assert today["duplication"] == 0
    later = utcnow() + timedelta(days=3)  # 人口基础信息 is updated daily
    quality.daily(db, now=later)
    snap = (
        db.execute(
            select(QualitySnapshot)
            .where(QualitySnapshot.resource_id == resource.id)
            .order_by(QualitySnapshot.day.desc())
        )
        .scalars()
        .first()
    )
    assert snap.overdue
    assert snap.timeliness < 1
    client.headers["Accept"] = "text/html"
    home = client.get("/").text
    assert "超期未更新的资源" in home
    trend = client.get(f"/api/v1/integration/quality/{resource.id}/trend").json()
    assert len(trend) >= 2
    assert trend[-1]["timeliness"] < 1
