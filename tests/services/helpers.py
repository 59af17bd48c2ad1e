"""Shortcuts for 一网通办 tests: actors of demo users, a five-material matter, demo people with licences."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from zhixian import clock
from zhixian.integration.models import Person
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import User
from zhixian.services.applications import materials
from zhixian.services.licences import service as licences
from zhixian.services.matters import service as matters
from zhixian.services.models import Licence, Matter, ServiceApplication
from zhixian.services.schemas import MatterIn

PERSON_CODE = "101001/000001"


def actor(db: Session, username: str) -> Actor:
    user = db.execute(select(User).where(User.username == username)).scalar_one()
    found = platform_service.load_actor(db, user_id=user.id)
    assert found is not None
    return found


def person_resource(db: Session) -> int:
    return int(db.execute(text("SELECT id FROM catalog_resource WHERE code = :c"), {"c": PERSON_CODE}).scalar_one())


def licensed_person(db: Session, cipher: FieldCipher, *, skip: int = 0) -> tuple[str, str, Person]:
    """A demo person in the population base who holds a valid 居民身份证 licence: (ID number, name, row)."""
    held = set(
        db.execute(select(Licence.holder_index).where(Licence.type_code == "sfz", Licence.status == "valid")).scalars()
    )
    found = 0
    for p in db.execute(select(Person).order_by(Person.id)).scalars():
        if p.id_index not in held or not p.address:
            continue
        lic = db.execute(
            select(Licence).where(Licence.holder_index == p.id_index, Licence.type_code == "sfz")
        ).scalar_one()
        if licences.state(lic) != "valid":
            continue
        if found == skip:
            return cipher.decrypt(p.id_enc, index=p.id_index), p.name, p
        found += 1
    raise AssertionError("no licensed person in the demo county")


def five_material_matter(db: Session, *, code: str = "330421TEST0000501", department: str = "mzj") -> Matter:
    """Two materials from shared 人口 data, one from the ID-card licence, two uploaded."""
    resource = person_resource(db)
    data = MatterIn.model_validate(
        {
            "code": code,
            "name": "测试救助认定",
            "department_code": department,
            "kind": "行政给付",
            "level": "县",
            "statutory_days": 20,
            "promised_days": 5,
            "materials": [
                {"name": "申请表", "source": "upload"},
                {"name": "身份信息", "source": "shared", "resource_id": resource, "items": ["id_number", "name"]},
                {"name": "户籍信息", "source": "shared", "resource_id": resource, "items": ["address", "gender"]},
                {"name": "居民身份证", "source": "licence", "licence_type": "sfz"},
                {"name": "收入证明", "source": "upload"},
            ],
        }
    )
    row, _ = matters.apply(db, data, matters.Departments(db), "test")
    return row


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Runs the block as if it were ``moment``; the clock then goes on from where it was."""
    before, started = clock.utcnow(), time.monotonic()
    clock.pin(moment)
    try:
        yield
    finally:
        clock.pin(before + timedelta(seconds=time.monotonic() - started))


def complete_materials(db: Session, node: Any, app: ServiceApplication, *, file_name: str = "a.pdf") -> None:
    """As window01: pre-fill what shared data and licences give, then take a scan for every material still missing."""
    window = actor(db, "window01")
    materials.prefill(db, actor=window, settings=node.settings, cipher=node.cipher, application_id=app.id)
    for m in app.materials:
        if m.state == "missing":
            materials.receive_upload(
                db,
                actor=window,
                settings=node.settings,
                application_id=app.id,
                material_row_id=m.id,
                file_name=file_name,
                content=b"%PDF-1.4",
            )
