"""Grant requests and their answers: asking for a camera, group or region, approving, refusing, revoking.

This is the workflow by which a grant comes to exist and ends, with its own permissions and audit trail;
``service`` only needs the effect of approved grants (what a department may see and play), so the two are
apart. The owner answers requests for its cameras and groups; region grants are the county authority's to give.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Invalid, NotFound
from zhixian.perception.cameras import gbid
from zhixian.perception.cameras.models import Camera, Grant, VideoGroup, VideoRegion
from zhixian.perception.cameras.schemas import GrantDecision, GrantIn, GrantRead
from zhixian.perception.cameras.service import APPROVE, REQUEST, VIEW
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

COUNTY_OWNER = "/"


def _grant_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return Grant.id.is_not(None)
    return or_(actor.department_filter(Grant.department_path), actor.department_filter(Grant.owner_path))


def _target(session: Session, data: GrantIn, county_code: str) -> tuple[str, str]:
    """(owner path, display name) of what the grant is on."""
    if data.scope == "camera":
        camera = session.execute(select(Camera).where(Camera.gb_id == data.target)).scalar()
        if camera is None:
            raise Invalid("没有这个国标编码的摄像机", field="target")
        return camera.department_path, camera.name
    if data.scope == "group":
        group = session.execute(select(VideoGroup).where(VideoGroup.gb_id == data.target)).scalar()
        if group is None:
            raise Invalid("没有这个业务分组或虚拟组织", field="target")
        return group.department_path, group.name
    reason = gbid.civil_problem(data.target, county_code)
    if reason:
        raise Invalid(reason, field="target")
    region = session.execute(select(VideoRegion).where(VideoRegion.civil_code == data.target)).scalar()
    return COUNTY_OWNER, region.name if region else data.target


def request_grant(session: Session, *, actor: Actor, data: GrantIn, county_code: str) -> Grant:
    actor.require(REQUEST)
    if data.valid_until <= utcnow():
        raise Invalid("授权截止时间须晚于现在", field="valid_until")
    if not (data.live or data.playback or data.ptz):
        raise Invalid("至少申请实时视频、录像回放、云台控制中的一项", field="live")
    owner, _name = _target(session, data, county_code)
    grant = Grant(
        department_id=actor.department_id,
        department_path=actor.department_path,
        owner_path=owner,
        requested_by=actor.username,
        requested_at=utcnow(),
        **data.model_dump(),
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.grant_request",
        object_type="pv_grant",
        object_id=grant.id,
        detail={"scope": data.scope, "target": data.target, "purpose": data.purpose},
    )
    return grant


def get_grant(session: Session, *, actor: Actor, grant_id: int) -> Grant:
    actor.require(VIEW)  # scoped below: the department's own requests and those on its cameras
    grant = session.execute(select(Grant).where(Grant.id == grant_id, _grant_visible(actor))).scalar()
    if grant is None:
        raise NotFound("授权不存在")
    return grant


def list_grants(session: Session, *, actor: Actor, status: str = "") -> list[Grant]:
    """Grants the actor's department asked for or decides on (all of them with county scope, e.g. a leader's
    oversight); asking and deciding need their own permissions, seeing needs only the camera view."""
    actor.require(VIEW)
    query = select(Grant).where(_grant_visible(actor))
    if status:
        query = query.where(Grant.status == status)
    return list(session.execute(query.order_by(Grant.id.desc()).limit(500)).scalars())


def _decider(session: Session, actor: Actor, grant_id: int) -> Grant:
    actor.require(APPROVE)
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("授权不存在")
    if grant.owner_path == COUNTY_OWNER:
        if not actor.county_scope:
            raise (
                NotFound("授权不存在")
                if not actor.sees_department(grant.department_path)
                else Invalid("区域授权须由县级视频管理部门审批", field="approve")
            )
    else:
        actor.check_department(grant.owner_path)
    return grant


def decide_grant(session: Session, *, actor: Actor, grant_id: int, data: GrantDecision) -> Grant:
    grant = _decider(session, actor, grant_id)
    if grant.status != "pending":
        raise Invalid("该申请已处理", field="approve")
    if grant.department_path == actor.department_path and not actor.county_scope:
        raise Invalid("不能审批本部门自己的申请", field="approve")
    if not data.approve and not data.note.strip():
        raise Invalid("不同意时须说明理由", field="note")
    grant.status = "approved" if data.approve else "rejected"
    grant.decided_by, grant.decided_at, grant.decision_note = actor.username, utcnow(), data.note
    audit.record(
        session,
        actor.audit,
        action="perception.grant_decide",
        object_type="pv_grant",
        object_id=grant.id,
        detail={"approve": data.approve, "note": data.note},
    )
    session.flush()
    return grant


def revoke_grant(session: Session, *, actor: Actor, grant_id: int, note: str) -> Grant:
    grant = _decider(session, actor, grant_id)
    if grant.status != "approved":
        raise Invalid("只有已批准的授权可以收回", field="approve")
    grant.status, grant.decided_by, grant.decided_at, grant.decision_note = "revoked", actor.username, utcnow(), note
    audit.record(session, actor.audit, action="perception.grant_revoke", object_type="pv_grant", object_id=grant.id)
    session.flush()
    return grant


def grant_read(session: Session, grant: Grant) -> GrantRead:
    read = GrantRead.model_validate(grant)
    read.department_name = platform.get_department(session, grant.department_id).name
    if grant.scope == "camera":
        read.target_name = session.execute(select(Camera.name).where(Camera.gb_id == grant.target)).scalar() or ""
    elif grant.scope == "group":
        read.target_name = (
            session.execute(select(VideoGroup.name).where(VideoGroup.gb_id == grant.target)).scalar() or ""
        )
    else:
        read.target_name = (
            session.execute(select(VideoRegion.name).where(VideoRegion.civil_code == grant.target)).scalar() or ""
        )
    return read
