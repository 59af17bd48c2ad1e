"""Loading clean rows: departmental records by key, and ``loader_for``, which picks the loader of a resource.

Each batch is fetched with one query per table and written with executemany, so a million rows
cost a few hundred round trips. Nothing is lost silently:

* a row repeating a key already read in the same run is a duplicate only when it is identical after
  normalisation; with other values it is held (``Held``) for the department to choose, never dropped;
* every value an update replaces is kept in the record's history (``Change``: who, when, which run).

The 人口/法人 base databases, merged across departments field by field, load through ``entity_loader``;
what both loaders share (the context, the tallies, row comparison) is in ``load_context``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhixian.integration.bulk import among, bulk_insert
from zhixian.integration.entity_loader import LEGAL, PERSON, EntityLoader
from zhixian.integration.load_context import Counts, Held, LoadContext, content_hash, differing
from zhixian.integration.models import Change, Record


class RecordLoader:
    """Departmental resources: one row per key value; the supplying department owns the whole row."""

    def apply(
        self, session: Session, ctx: LoadContext, rows: list[dict[str, Any]], numbers: list[int] | None = None
    ) -> Counts:
        counts = Counts()
        numbers = numbers if numbers is not None else [0] * len(rows)
        keys = [str(r[ctx.key_field]) for r in rows]
        existing = {
            rec.key: rec
            for rec in session.execute(
                select(Record.id, Record.key, Record.content_hash, Record.last_run_id, Record.last_row).where(
                    Record.resource_id == ctx.resource_id, among(session, Record.key, set(keys))
                )
            ).all()
        }
        seen: dict[str, tuple[int, str, dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        earlier: list[tuple[Any, int, str, dict[str, Any]]] = []  # held against a row of an earlier batch
        touched: list[dict[str, Any]] = []
        for key, values, number in zip(keys, rows, numbers, strict=True):
            digest = content_hash(values)
            first = seen.get(key)
            old = existing.get(key)
            if first is None and old is not None and old.last_run_id == ctx.run_id:
                if old.content_hash == digest:
                    counts.duplicates += 1
                else:
                    earlier.append((old, number, key, values))
                continue
            if first is not None:
                if first[1] == digest:
                    counts.duplicates += 1
                else:
                    counts.held.append(Held(number, first[0], key, values, differing(first[2], values, ctx.key_field)))
                continue
            seen[key] = (number, digest, values)
            if old is None:
                inserts.append(
                    {
                        "resource_id": ctx.resource_id,
                        "key": key,
                        "data": values,
                        "content_hash": digest,
                        "source_id": ctx.source_id,
                        "first_run_id": ctx.run_id,
                        "last_run_id": ctx.run_id,
                        "last_row": number,
                        "updated_at": ctx.now,
                    }
                )
                counts.loaded += 1
            elif old.content_hash == digest:
                touched.append({"id": old.id, "last_run_id": ctx.run_id, "last_row": number})
                counts.unchanged += 1
            else:
                updates.append(
                    (
                        old,
                        {
                            "id": old.id,
                            "data": values,
                            "content_hash": digest,
                            "last_run_id": ctx.run_id,
                            "last_row": number,
                            "source_id": ctx.source_id,
                            "updated_at": ctx.now,
                        },
                    )
                )
                counts.updated += 1
        self._write(session, ctx, counts, inserts, updates, earlier, touched)
        return counts

    def _write(
        self,
        session: Session,
        ctx: LoadContext,
        counts: Counts,
        inserts: list[dict[str, Any]],
        updates: list[tuple[Any, dict[str, Any]]],
        earlier: list[tuple[Any, int, str, dict[str, Any]]],
        touched: list[dict[str, Any]],
    ) -> None:
        """The batch's writes; the values updates replace go to the history, rows held get both values."""
        wanted = [old.id for old, _ in updates] + [old.id for old, *_ in earlier]
        before: dict[int, dict[str, Any]] = (
            dict(session.execute(select(Record.id, Record.data).where(among(session, Record.id, wanted))).all())
            if wanted
            else {}
        )
        changes = [
            ctx.change("record", old.id, name, was, now)
            for old, new in updates
            for name, (was, now) in differing(before.get(old.id, {}), new["data"], "").items()
        ]
        for old, number, key, values in earlier:
            counts.held.append(
                Held(number, old.last_row, key, values, differing(before.get(old.id, {}), values, ctx.key_field))
            )
        if inserts:
            bulk_insert(session, Record, inserts)
        if updates:
            session.execute(update(Record), [new for _, new in updates])
        if touched:
            session.execute(update(Record), touched)
        if changes:
            bulk_insert(session, Change, changes)


def loader_for(base_library: str) -> RecordLoader | EntityLoader:
    if base_library == "人口":
        return EntityLoader(PERSON)
    if base_library == "法人":
        return EntityLoader(LEGAL)
    return RecordLoader()
