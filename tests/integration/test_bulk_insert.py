"""The bulk writer bypasses SQLAlchemy's parameter processing: what it stores must match a Core insert."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import select

from zhixian.integration.bulk import RawJSON, bulk_insert
from zhixian.integration.models import Person


def _row(index: str, provenance: object) -> dict[str, object]:
    return {
        "first_run_id": 7,
        "last_run_id": 7,
        "updated_at": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))),
        "id_index": index,
        "id_enc": "enc",
        "id_masked": "3304**********1234",
        "name": "张三",
        "gender": "男",
        "address": "嘉善县罗星街道",
        "division_code": "330421001001",
        "birth_date": date(1990, 5, 17),
        "phone_enc": None,
        "phone_index": "",
        "phone_masked": "",
        "provenance": provenance,
    }


def test_bulk_insert_stores_exactly_what_a_core_insert_stores(db):
    provenance = {"id_number": {"dept": 3, "run": 7, "source": 2}, "name": {"dept": 3, "run": 7, "source": 2}}
    db.execute(Person.__table__.insert(), [_row("zx-core-insert", provenance)])
    bulk_insert(db, Person, [_row("zx-bulk-insert", RawJSON(json.dumps(provenance)))])
    columns = [c.name for c in Person.__table__.columns if c.name not in ("id", "id_index")]
    sql = f"SELECT {', '.join(columns)} FROM integration_person WHERE id_index = %s"
    raw = db.connection().connection.driver_connection
    stored = []
    for index in ("zx-core-insert", "zx-bulk-insert"):
        cursor = raw.cursor()
        cursor.execute(sql.replace("%s", "?") if db.connection().dialect.name == "sqlite" else sql, (index,))
        stored.append(cursor.fetchone())
        cursor.close()
    assert stored[0] == stored[1]
    person = db.execute(select(Person).where(Person.id_index == "zx-bulk-insert")).scalar_one()
    assert person.updated_at == datetime(2026, 3, 1, 1, 30, 15, 123456, tzinfo=UTC)
    assert person.provenance == provenance
    assert person.content_hash == ""
