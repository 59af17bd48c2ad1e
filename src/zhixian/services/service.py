"""一网通办 as other features use it (``from zhixian.services import service as services_service``): the
citizen portal, KPIs and the data authority's reports read applications, licences and ratings through here."""

from __future__ import annotations

from zhixian.services.applications.materials import cite_licence, prefill, receive_upload
from zhixian.services.applications.service import (
    ApplicationFilter,
    accept,
    application_read,
    create,
    decide,
    finish,
    get_application,
    list_applications,
    record_consent,
    reject,
    request_correction,
    review,
)
from zhixian.services.licences.service import held_by, licence_read, load_licence
from zhixian.services.matters.service import MatterFilter, get_matter, list_matters, matter_read
from zhixian.services.ratings.service import RatingFilter, list_ratings, rate, rectify, statistics

__all__ = [
    "ApplicationFilter",
    "MatterFilter",
    "RatingFilter",
    "accept",
    "application_read",
    "cite_licence",
    "create",
    "decide",
    "finish",
    "get_application",
    "get_matter",
    "held_by",
    "licence_read",
    "list_applications",
    "list_matters",
    "list_ratings",
    "load_licence",
    "matter_read",
    "prefill",
    "rate",
    "receive_upload",
    "record_consent",
    "rectify",
    "reject",
    "request_correction",
    "review",
    "statistics",
]
