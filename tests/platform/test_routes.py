"""Every route declares its permission (Require) or is deliberately public; the rule is checked, not hoped."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.routing import Mount

from tests.platform.route_access import flat_routes as _flat
from tests.platform.route_access import guards as _guards
from zhixian.web.auth import public


def test_every_route_declares_a_permission_or_is_public(server) -> None:
    unguarded = []
    public_routes = []
    for route in _flat(server.app.routes):
        if isinstance(route, Mount):
            continue  # static files
        if not isinstance(route, APIRoute):
            if route.path not in ("/api/openapi.json",):
                unguarded.append(route.path)
            continue
        guards = _guards(route.dependant)
        if not guards:
            unguarded.append(f"{sorted(route.methods)} {route.path}")
        elif public in guards:
            public_routes.append(route.path)
    assert unguarded == []
    # the public surface stays small and deliberate
    assert {"/login", "/healthz", "/api/v1/auth/login"} <= set(public_routes)
    assert not [p for p in public_routes if p.startswith(("/admin", "/api/v1/users"))]


def test_navigation_highlights_only_the_closest_entry() -> None:
    from zhixian.subsystems import MenuItem
    from zhixian.web.templating import active_path

    menu = [("数据中枢", [MenuItem("资源目录", "/catalog"), MenuItem("业务系统台账", "/catalog/systems")])]
    assert active_path("/catalog/systems", menu) == "/catalog/systems"
    assert active_path("/catalog/resources/12", menu) == "/catalog"
    assert active_path("/catalogue", menu) == ""
