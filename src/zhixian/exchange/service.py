"""The exchange as other features use it (``from zhixian.exchange import service as exchange_service``).

The rules live in the modules named below; this facade is the one import other subsystems need —
e.g. 一网通享 asking whether a department holds a live grant, or the later subscription, correction
and federation work reading grants and calls.
"""

from __future__ import annotations

from zhixian.exchange.apps import (
    create_application,
    get_application,
    list_applications,
    rotate_secret,
    update_application,
)
from zhixian.exchange.citizen import citizen_check, citizen_lookup, citizen_usage
from zhixian.exchange.gateway import Incoming, Outcome, handle
from zhixian.exchange.grants import (
    get_grant,
    list_grants,
    renew,
    resume,
    revoke,
    state,
    suspend,
    usable,
)
from zhixian.exchange.internal import department_grant, department_read, refusal
from zhixian.exchange.requests import (
    approve,
    deadlines,
    dispute,
    get_request,
    list_requests,
    refuse,
    resolve,
    submit,
    withdraw,
)
from zhixian.exchange.sources import sample_keys
from zhixian.exchange.usage import CallFilter, list_calls, person_usage, statistics, usage_table

__all__ = [
    "CallFilter",
    "Incoming",
    "Outcome",
    "approve",
    "citizen_check",
    "citizen_lookup",
    "citizen_usage",
    "create_application",
    "deadlines",
    "department_grant",
    "department_read",
    "dispute",
    "get_application",
    "get_grant",
    "get_request",
    "handle",
    "list_applications",
    "list_calls",
    "list_grants",
    "list_requests",
    "person_usage",
    "refusal",
    "refuse",
    "renew",
    "resolve",
    "resume",
    "revoke",
    "rotate_secret",
    "sample_keys",
    "state",
    "statistics",
    "submit",
    "suspend",
    "update_application",
    "usable",
    "usage_table",
    "withdraw",
]
