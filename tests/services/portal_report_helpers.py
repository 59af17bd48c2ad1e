"""Citizens for portal tests, without the sign-in flow: a ``Citizen`` row and a session made directly, handed to
an HTTP client (or a browser) as the ``zx_citizen`` cookie with the session's CSRF token."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Client
from zhixian.platform import masking
from zhixian.platform.crypto import FieldCipher
from zhixian.services.portal import sessions as citizen_sessions
from zhixian.services.portal.models import Citizen, CitizenSession


@dataclass(frozen=True)
class SignedCitizen:
    citizen_id: int
    id_index: str
    cookie: str
    csrf: str


def make_citizen(db: Session, cipher: FieldCipher, *, name: str = "王小明") -> SignedCitizen:
    """A citizen with a random (test-only) ID number and a live session; flushed, so a live server sees it."""
    id_number = "33" + "".join(secrets.choice("0123456789") for _ in range(16))
    citizen = Citizen(
        id_index=cipher.blind_index(id_number),
        id_enc=cipher.encrypt(id_number),
        id_masked=masking.id_number(id_number),
        name=name,
    )
    db.add(citizen)
    db.flush()
    cookie = citizen_sessions.create_session(db, citizen=citizen, ip="127.0.0.1", user_agent="pytest")
    csrf = db.execute(select(CitizenSession.csrf_token).where(CitizenSession.citizen_id == citizen.id)).scalar_one()
    return SignedCitizen(citizen.id, citizen.id_index, cookie, csrf)


def citizen_client(base_url: str, who: SignedCitizen) -> Client:
    """An HTTP client signed in as the citizen (cookie ``zx_citizen``; writes carry X-CSRF-Token)."""
    client = Client(base_url=base_url, timeout=30, follow_redirects=False)
    client.cookies.set(citizen_sessions.CITIZEN_COOKIE, who.cookie)
    client.headers["X-CSRF-Token"] = who.csrf
    return client


def anonymous_client(base_url: str) -> Client:
    """A signed-out visitor with the login double-submit token (cookie ``zx_csrf`` and the same form value)."""
    client = Client(base_url=base_url, timeout=30, follow_redirects=False)
    token = secrets.token_urlsafe(24)
    client.cookies.set("zx_csrf", token)
    client.headers["X-Test-Csrf"] = token  # read back by tests that post forms
    return client


def inside_point(db: Session) -> tuple[float, float]:
    """(lon, lat) inside grid of the demo inspector ``inspector01`` (so the case's check goes to them)."""
    from tests.citymgmt.conftest import grid_point

    lon, lat, _ = grid_point(db)
    return lon, lat


def point_near(lon: float, lat: float, metres_east: float) -> tuple[float, float]:
    """A point ``metres_east`` east of (lon, lat) — close enough for the nearby list, still in the county."""
    return lon + metres_east / (111_320.0 * math.cos(math.radians(lat))), lat
