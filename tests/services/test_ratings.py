"""好差评: one rating per finished application; a bad rating opens a rectification with a working-day limit,
which is escalated once late; statistics figures equal the lists they open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.services.helpers import actor, at, complete_materials, five_material_matter, licensed_person
from zhixian import clock
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.platform import service as platform_service
from zhixian.platform.models import AuditRecord
from zhixian.services.applications import service as applications
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import ApplicationIn, DecisionIn, RatingIn, RectifyIn
from zhixian.services.settings import RECTIFY_DAYS


def _finished(db, node, skip: int = 0):
    matter = five_material_matter(db, code=f"330421TEST00009{skip:02d}")
    key, name, _ = licensed_person(db, node.cipher, skip=skip)
    window, approver = actor(db, "window01"), actor(db, "mzj_approver")
    data = ApplicationIn(matter_id=matter.id, applicant_key=key, applicant_name=name, consent=True)
    app = applications.create(db, actor=window, settings=node.settings, cipher=node.cipher, data=data)
    complete_materials(db, node, app)
    with pytest.raises(Conflict, match="办结或不予受理后"):
        ratings.rate(db, actor=window, settings=node.settings, application_id=app.id, data=RatingIn(grade=5))
    applications.accept(db, actor=window, settings=node.settings, application_id=app.id)
    applications.review(db, actor=approver, application_id=app.id, note="")
    applications.decide(db, actor=approver, application_id=app.id, data=DecisionIn(decision="approve", note="准予"))
    applications.finish(db, actor=approver, application_id=app.id)
    return app


def test_bad_rating_opens_a_rectification_that_is_escalated_when_late(db, node):
    app = _finished(db, node)
    window, head = actor(db, "window01"), actor(db, "mzj_head")
    with pytest.raises(Invalid, match="差评须说明理由"):
        ratings.rate(db, actor=window, settings=node.settings, application_id=app.id, data=RatingIn(grade=1))
    rating = ratings.rate(
        db, actor=window, settings=node.settings, application_id=app.id, data=RatingIn(grade=1, reasons=["多次跑腿"])
    )
    with pytest.raises(Conflict, match="只评价一次"):
        ratings.rate(db, actor=window, settings=node.settings, application_id=app.id, data=RatingIn(grade=5))
    task_id = ratings.rating_read(db, rating).rectification_id
    assert task_id is not None
    task = ratings.get_rectification(db, actor=head, rectification_id=task_id)
    days = node.settings.declared(RECTIFY_DAYS)
    expected = platform_service.add_working_time(db, settings=node.settings, start=rating.at, days=days).at
    assert abs((task.due_at - expected).total_seconds()) < 1

    ratings.escalate(db, now=clock.utcnow())
    assert task.escalated_at is None  # not yet due
    later = task.due_at + timedelta(hours=1)
    assert ratings.escalate(db, now=later) >= 1
    assert task.escalated_at == later
    ratings.escalate(db, now=later + timedelta(days=1))
    assert task.escalated_at == later  # escalated once
    with at(later):
        late, n = ratings.list_rectifications(db, actor=head, late=True, limit=500)
        assert task.id in [r.id for r in late]
        assert n == len(late)
        data = RectifyIn(measures="窗口增设引导员", callback="电话回访申请人", outcome="satisfied")
        ratings.rectify(db, actor=head, rectification_id=task.id, data=data)
    assert ratings.rectification_read(task).late
    record = db.execute(
        select(AuditRecord).where(AuditRecord.action == "services.rectify").order_by(AuditRecord.id.desc()).limit(1)
    ).scalar_one()
    assert record.detail["late"] is True


def test_another_departments_head_cannot_see_the_rectification(db, node):
    app = _finished(db, node, skip=1)
    rating = ratings.rate(
        db,
        actor=actor(db, "window01"),
        settings=node.settings,
        application_id=app.id,
        data=RatingIn(grade=2, comment="等了很久"),
    )
    task_id = ratings.rating_read(db, rating).rectification_id
    assert task_id is not None
    with pytest.raises(NotFound):
        ratings.get_rectification(db, actor=actor(db, "scj_head"), rectification_id=task_id)


def test_every_statistics_figure_equals_the_list_it_opens(db, node):
    app = _finished(db, node, skip=2)
    ratings.rate(db, actor=actor(db, "window01"), settings=node.settings, application_id=app.id, data=RatingIn(grade=5))
    for who in ("mzj_head", "datahub"):
        viewer = actor(db, who)
        for by in ("department", "matter"):
            stats = ratings.statistics(db, actor=viewer, settings=node.settings, by=by)
            assert stats
            for s in stats:
                key = {"department_id": s.key} if by == "department" else {"matter_id": s.key}
                for figure, flt in (
                    (s.total, ratings.RatingFilter(**key)),  # type: ignore[arg-type]
                    (s.good, ratings.RatingFilter(**key, good=True)),  # type: ignore[arg-type]
                    (s.bad, ratings.RatingFilter(**key, bad=True)),  # type: ignore[arg-type]
                ):
                    rows, total = ratings.list_ratings(db, actor=viewer, settings=node.settings, flt=flt, limit=10_000)
                    assert figure == total == len(rows)
