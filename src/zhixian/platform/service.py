"""Rules of the base platform other features build on: actors, users and roles as read, the working calendar.

Other features use the platform only through this module and ``schemas``. Department scope is
enforced here, not in the web layer: a query built by these functions never returns an object the
actor's department and role may not see. Administering accounts and roles (the writes checked
against separation of duties) is in ``accounts``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import NotFound
from zhixian.platform import audit
from zhixian.platform.actor import COUNTY_SCOPE, Actor, system_actor
from zhixian.platform.calendar import WorkingCalendar, WorkingTime
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import CalendarOverride, Department, Role, User, UserRole
from zhixian.platform.org import (
    county,
    department_by_code,
    get_department,
    list_departments,
    list_divisions,
)
from zhixian.platform.schemas import (
    CalendarOverrideIn,
    UserDetail,
    UserRead,
)
from zhixian.platform.separation import ADMIN_KIND_NAMES, ADMIN_PERMISSION_KIND
from zhixian.settings import Settings

__all__ = [
    "ADMIN_KIND_NAMES",
    "ADMIN_PERMISSION_KIND",
    "COUNTY_SCOPE",
    "Actor",
    "county",
    "department_by_code",
    "get_department",
    "list_departments",
    "list_divisions",
    "system_actor",
]

# --- actors


def actor_for(
    user: User,
    *,
    ip: str = "",
    via: str = "session",
    session_id: int | None = None,
    csrf_token: str | None = None,
    mfa_pending: bool = False,
) -> Actor:
    permissions = frozenset(p for r in user.roles for p in r.permissions)
    return Actor(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        department_id=user.department_id,
        department_path=user.department.path,
        department_name=user.department.name,
        permissions=permissions,
        roles=tuple(r.code for r in user.roles),
        ip=ip,
        via=via,  # type: ignore[arg-type]
        session_id=session_id,
        csrf_token=csrf_token,
        must_change_password=user.must_change_password,
        mfa_pending=mfa_pending,
    )


# built once: this runs on every request, and building the statement cost more than running it
_ACTOR_ROWS = (
    select(
        User.username,
        User.full_name,
        User.department_id,
        User.must_change_password,
        User.active,
        Department.path,
        Department.name,
        Role.code,
        Role.permissions,
    )
    .join(Department, Department.id == User.department_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(Role, Role.code == UserRole.role_code)
    .where(User.id == bindparam("user_id"))
    .order_by(Role.code)
)


def actor_named(session: Session, username: str) -> Actor | None:
    """The actor of a user by name, for seeds and commands that act as a named demo or service user."""
    user_id = session.execute(select(User.id).where(User.username == username)).scalar()
    return load_actor(session, user_id=user_id, via="system") if user_id is not None else None


def load_actor(
    session: Session,
    *,
    user_id: int,
    ip: str = "",
    via: str = "session",
    session_id: int | None = None,
    csrf_token: str | None = None,
    mfa_pending: bool = False,
) -> Actor | None:
    """The actor for a signed-in user in one query (the per-request path); None if disabled or gone."""
    rows = session.execute(_ACTOR_ROWS, {"user_id": user_id}).all()
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    roles = [r for r in rows if r.code is not None]
    return Actor(
        user_id=user_id,
        username=first.username,
        full_name=first.full_name,
        department_id=first.department_id,
        department_path=first.path,
        department_name=first.name,
        permissions=frozenset(p for r in roles for p in (r.permissions or [])),
        roles=tuple(r.code for r in roles),
        ip=ip,
        via=via,  # type: ignore[arg-type]
        session_id=session_id,
        csrf_token=csrf_token,
        must_change_password=first.must_change_password,
        mfa_pending=mfa_pending,
    )


# --- users


def user_read(user: User, *, now: datetime | None = None) -> UserRead:
    now = now or utcnow()
    return UserRead(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        department_id=user.department_id,
        department_name=user.department.name,
        phone_masked=user.phone_masked,
        email=user.email,
        roles=[r.code for r in user.roles],
        active=user.active,
        locked=bool(user.locked_until and user.locked_until > now),
        must_change_password=user.must_change_password,
        totp_enabled=user.totp_enabled,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


def _scoped_users(actor: Actor) -> ColumnElement[bool]:
    return actor.department_filter(Department.path)


def list_users(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    department_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[User], int]:
    actor.require("platform.users.read")
    query = select(User).join(User.department).where(_scoped_users(actor))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.username.like(like), User.full_name.like(like)))
    if department_id:
        dept = get_department(session, department_id)
        query = query.where(Department.path.startswith(dept.path))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(User.id).offset(offset).limit(limit)).scalars().unique().all()
    return list(rows), total


def get_user(session: Session, *, actor: Actor, user_id: int) -> User:
    """A user the actor may see; others' existence is not disclosed (404, not 403)."""
    if user_id == actor.user_id:
        user = session.get(User, user_id)
        if user is not None:
            return user
    actor.require("platform.users.read")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在或无权查看")
    actor.check_department(user.department.path)
    return user


def read_user_personal(session: Session, *, actor: Actor, user_id: int, cipher: FieldCipher) -> UserDetail:
    """Unmasked contact data: every such read is audited (等保 item 10, GB/T 35273)."""
    user = get_user(session, actor=actor, user_id=user_id)
    audit.record(
        session,
        actor.audit,
        action="personal_read",
        object_type="user",
        object_id=user.id,
        detail={"fields": ["phone"]},
    )
    phone = cipher.decrypt(user.phone_enc) if user.phone_enc else None
    return UserDetail(**user_read(user).model_dump(), phone=phone)


# --- roles


def list_roles(session: Session) -> list[Role]:
    return list(session.execute(select(Role).order_by(Role.builtin.desc(), Role.code)).scalars())


# --- working calendar


def working_calendar(session: Session, *, settings: Settings) -> WorkingCalendar:
    """The county's calendar: official days from chinese-calendar, corrected by admin overrides."""
    overrides = dict(session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all())
    return WorkingCalendar(periods=settings.work_periods, overrides=overrides)


def add_working_time(
    session: Session, *, settings: Settings, start: datetime, hours: float = 0, days: float = 0
) -> WorkingTime:
    """The only way subsystems compute deadlines (case limits, sharing answers)."""
    return working_calendar(session, settings=settings).add(start, hours=hours, days=days)


def list_overrides(session: Session, *, year: int | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year:
        query = query.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.execute(query).scalars())


def set_override(session: Session, *, actor: Actor, data: CalendarOverrideIn) -> CalendarOverride:
    actor.require("platform.calendar.manage")
    row = session.get(CalendarOverride, data.day) or CalendarOverride(day=data.day)
    row.is_workday, row.note, row.updated_by, row.updated_at = data.is_workday, data.note, actor.username, utcnow()
    session.add(row)
    audit.record(
        session,
        actor.audit,
        action="calendar_override",
        object_type="calendar",
        object_id=data.day.isoformat(),
        detail={"is_workday": data.is_workday, "note": data.note},
    )
    session.flush()
    return row


def delete_override(session: Session, *, actor: Actor, day: date) -> None:
    actor.require("platform.calendar.manage")
    if session.execute(delete(CalendarOverride).where(CalendarOverride.day == day)).rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("该日期没有调整记录")
    audit.record(
        session, actor.audit, action="calendar_override_delete", object_type="calendar", object_id=day.isoformat()
    )
