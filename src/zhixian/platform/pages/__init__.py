"""HTML pages of the base platform, one module per area so each stays small enough to read.

- `signin`: sign-in, TOTP second factor, sign-out
- `account`: the signed-in user's account, API tokens and password change
- `home`: the home page and the platform's cards on it
- `users`: the security administrator's users and roles
- `system`: the system administrator's organisation, working calendar and subsystems
- `audit_log`: the audit administrator's log

`router` is what the platform `Subsystem` registers; the order of inclusion is the old page order.
"""

from __future__ import annotations

from fastapi import APIRouter

from zhixian.platform.pages import account, audit_log, home, signin, system, users

router = APIRouter(include_in_schema=False)
for _area in (signin, home, account, users, system, audit_log):
    router.include_router(_area.router)

__all__ = ["router"]
