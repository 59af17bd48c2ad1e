"""Contracts of the storefronts extension: what the API accepts and answers, and what its pages list."""

from __future__ import annotations

from pydantic import BaseModel, Field

from zhixian.platform.schemas import Input


class ShopIn(Input):
    name: str = Field(min_length=1, max_length=100)
    uscc: str = Field(min_length=18, max_length=18)
    address: str = Field("", max_length=200)
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)


class ShopReportIn(Input):
    """The report form at a shop: the class and what the reporter saw."""

    class_code: str = Field(min_length=1, max_length=8)
    description: str = Field("", max_length=1000)


class ShopRead(BaseModel):
    """A shop as the API shows it: the contact phone only masked, and how many cases are linked to it."""

    id: int
    name: str
    uscc: str
    address: str
    lon: float
    lat: float
    contact_name: str
    contact_phone: str
    zone_wkt: str
    cases: int = 0


class NoticeRead(BaseModel):
    case_id: int
    recipient: str
    message: str
    at: str  # ISO 8601 as stored (UTC offset +00:00)


class ShopDetail(ShopRead):
    case_ids: list[int]
    case_numbers: list[str]
    notices: list[NoticeRead]


class ShopRow(BaseModel):
    """One row of the shop table (page)."""

    id: int
    name: str
    uscc: str
    contact_name: str
    contact_phone_masked: str
    cases: int


class ShopList(BaseModel):
    """One page of the shop table and what it was searched for."""

    rows: list[ShopRow]
    total: int
    page: int
    size: int
    q: str
