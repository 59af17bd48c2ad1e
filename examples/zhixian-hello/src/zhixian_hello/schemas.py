"""Contracts of the example's API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from zhixian.fields import Latitude, Longitude


class StatusRead(BaseModel):
    subsystem: str
    greetings: int
    user: str


class HelloReportIn(BaseModel):
    """A problem reported through the example's own intake channel ``hello``."""

    class_code: str = Field("H0101", min_length=1, max_length=8)
    lon: Longitude
    lat: Latitude
    description: str = Field("", max_length=1000)


class HelloReportRead(BaseModel):
    case_id: int
    number: str
    source: str
