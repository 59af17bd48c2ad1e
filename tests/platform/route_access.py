"""Which demo user may call which route: the permission each route declares (Require) and the demo
roles in the database, so tests can reach every operation as someone allowed to call it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Client, LiveServer
from zhixian.app import Node
from zhixian.platform import service, sessions
from zhixian.platform.models import User
from zhixian.services.portal.web import optional_citizen, require_citizen
from zhixian.settings import Settings
from zhixian.web.auth import Require, public

# the citizen realm's own sign-in (一网通享): its routes declare who may call them with CitizenDep/MaybeCitizen
CITIZEN_GUARDS = (optional_citizen, require_citizen)

# demo users in the order they are preferred when several hold a permission: business users first,
# so a route is exercised by the people who use it rather than by an administrator
DEMO_USERS = (
    "dispatcher",
    "acceptor",
    "inspector01",
    "handler_zfj",
    "leader",
    "datahub",
    "gaj_officer",
    "nyj_officer",
    "sysadmin",
    "secadmin",
    "auditor",
)


# routes open to any signed-in user whose service checks a narrower permission (the source channel)
SERVICE_CHECKED = {"/api/v1/citymgmt/cases": "citymgmt.intake", "/api/v1/citymgmt/cases/batch": "citymgmt.intake"}


def guards(dependant) -> set[object]:
    found: set[object] = set()
    for dep in dependant.dependencies:
        call = dep.call
        if isinstance(call, Require) or call is public or call in CITIZEN_GUARDS:
            found.add(call)
        found |= guards(dep)
    return found


def flat_routes(routes) -> list:
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(flat_routes(inner.routes) if inner is not None else [route])
    return out


def api_routes(app) -> list[APIRoute]:
    return [r for r in flat_routes(app.routes) if isinstance(r, APIRoute)]


@dataclass(frozen=True)
class Access:
    public: bool
    permissions: frozenset[str]  # empty: any signed-in user


def access(route: APIRoute) -> Access:
    found = guards(route.dependant)
    perms = frozenset(g.permission for g in found if isinstance(g, Require) and g.permission)
    return Access(public in found, perms)


def demo_permissions(node: Node) -> dict[str, frozenset[str]]:
    """One demo user per distinct set of permissions (the named demo users first)."""
    with node.db.sessionmaker() as session:
        rows = session.execute(select(User.username, User.id).order_by(User.username)).all()
        order = sorted(rows, key=lambda r: DEMO_USERS.index(r[0]) if r[0] in DEMO_USERS else len(DEMO_USERS))
        out: dict[str, frozenset[str]] = {}
        for name, user_id in order:
            actor = service.load_actor(session, user_id=user_id)
            if actor is not None and not actor.must_change_password and actor.permissions not in out.values():
                out[name] = actor.permissions
        return out


def user_for(route: APIRoute, users: dict[str, frozenset[str]]) -> str | None:
    """The demo user who may call the route (None: public); for routes open to any signed-in user,
    the one with most permissions of the route's feature, since the service checks the rest."""
    need = access(route)
    if need.public:
        return None
    wanted = need.permissions
    if "POST" in route.methods and route.path in SERVICE_CHECKED:
        wanted = wanted | {SERVICE_CHECKED[route.path]}
    holders = [u for u, perms in users.items() if wanted <= perms]
    if not holders:
        raise AssertionError(f"no demo user may call {sorted(route.methods)} {route.path}: {wanted}")
    parts = [p for p in route.path.split("/") if p and not p.startswith("{") and p not in ("api", "v1")]
    feature = parts[0] if parts else ""
    return max(holders, key=lambda u: sum(p.startswith(feature + ".") for p in users[u]))


def api_token(server: LiveServer, node: Node, username: str) -> str:
    """A bearer token for the user: through the API as the user would, or, where token creation is
    itself restricted to a permission the user lacks, directly through the platform service."""
    with Client(base_url=server.url, timeout=30) as client:
        assert client.login(username).status_code == 200
        resp = client.post("/api/v1/me/tokens", json={"name": "tests", "days": 1})
        if resp.status_code == 201:
            return str(resp.json()["token"])
        assert resp.status_code == 403, resp.text
    with node.db.sessionmaker() as session:
        return _direct_token(session, username, node.settings)


def _direct_token(session: Session, username: str, settings: Settings) -> str:
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    actor = service.load_actor(session, user_id=user.id)
    assert actor is not None
    plain, _ = sessions.create_api_token(session, user=user, name="tests", days=1, settings=settings, ctx=actor.audit)
    session.commit()
    return plain
