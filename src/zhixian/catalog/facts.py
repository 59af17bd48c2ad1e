"""What other subsystems know about a catalogue resource, shown on its page beside its metadata.

The catalogue describes a resource; other subsystems hold its data (integration: records, quality,
sources; exchange: grants). Each contributes ``contributions={"catalog_resource_facts": [fn]}`` with
``fn(session, actor, resource) -> list[FactGroup]``, so the catalogue never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource
from zhixian.platform.actor import Actor

POINT = "catalog_resource_facts"


@dataclass(frozen=True)
class Fact:
    """One line of the sheet: a label, its value, and where to go for the records behind it."""

    label: str
    value: str
    href: str | None = None
    note: str = ""


@dataclass(frozen=True)
class FactGroup:
    title: str
    facts: list[Fact] = field(default_factory=list)
    downloads: list[Fact] = field(default_factory=list)  # files and API addresses for this resource


ResourceFacts = Callable[[Session, Actor, Resource], list[FactGroup]]
