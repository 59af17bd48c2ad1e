"""Where a catalogue resource's records live, read for the gateway: 人口 and 法人 base databases, or the
departmental records integration loaded. The one module of exchange that reads those tables (read only).

Encrypted fields (ID numbers, phones) are found through their blind index and only decrypted for a
grant that delivers them unmasked; masked answers use the masks stored beside them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, null, select
from sqlalchemy.orm import Session, selectinload

from zhixian.catalog.models import Resource
from zhixian.errors import Invalid
from zhixian.integration.models import LegalPerson, Person, Record
from zhixian.platform.crypto import FieldCipher

Kind = Literal["person", "legal", "record"]
Row = Person | LegalPerson | Record
ENCRYPTED = {"person": ("id_number", "phone"), "legal": ("phone",), "record": ()}
_TYPES = {"日期": "date", "日期时间": "date", "整数": "number", "数值": "number"}


@dataclass(frozen=True)
class Item:
    field: str
    name: str
    data_type: str
    share_type: str
    grade: str
    sensitivity: int | None
    masking: str
    rule: str


@dataclass(frozen=True)
class Source:
    """A resource as the gateway sees it: its items and where its records are."""

    resource_id: int
    code: str
    name: str
    kind: Kind
    key_field: str
    department_id: int
    base_library: str
    share_type: str
    share_condition: str
    grade: str
    sensitivity: int | None
    status: str
    classified: bool
    items: dict[str, Item] = field(default_factory=dict)

    @property
    def servable(self) -> bool:
        """Published, not classified, with records this node holds (地理 resources point to other APIs)."""
        return (
            self.status == "published" and not self.classified and bool(self.key_field) and self.base_library != "地理"
        )

    def field_types(self, fields: Sequence[str] | None = None) -> dict[str, str]:
        return {f: i.data_type for f, i in self.items.items() if fields is None or f in fields}

    def names(self) -> dict[str, str]:
        return {f: i.name for f, i in self.items.items()}


_STAMP = select(Resource.updated_at, Resource.status, Resource.classified).where(Resource.id == bindparam("rid"))
_CACHE: dict[int, tuple[tuple[Any, ...], Source]] = {}
_UNREAD: Any = object()


def stamp_columns() -> tuple[Any, list[Any]]:
    """The catalogue table and the columns of its stamp, for a caller that reads it in a wider statement."""
    table = Resource.__table__
    return table, [table.c.updated_at, table.c.status, table.c.classified]  # as _STAMP


def load(session: Session, resource_id: int, stamp: Any = _UNREAD) -> Source | None:
    """The resource as the gateway needs it. Its items are cached per process and reloaded whenever the
    catalogue entry changes (every edit and status change moves ``updated_at``): one light query per call,
    none when the caller read the ``stamp`` already (None: no such resource)."""
    if stamp is _UNREAD:
        stamp = session.execute(_STAMP, {"rid": resource_id}).first()
    if stamp is None:
        return None
    cached = _CACHE.get(resource_id)
    if cached is not None and cached[0] == tuple(stamp):
        return cached[1]
    source = _load(session, resource_id)
    if source is not None:
        if len(_CACHE) > 2000:
            _CACHE.clear()
        _CACHE[resource_id] = (tuple(stamp), source)
    return source


def population(session: Session) -> Source | None:
    """The published population base (人口) resource: what a citizen's real-name check is made against."""
    rid = session.execute(
        select(Resource.id)
        .where(Resource.base_library == "人口", Resource.status == "published", Resource.classified.is_(False))
        .order_by(Resource.id)
        .limit(1)
    ).scalar()
    return load(session, int(rid)) if rid is not None else None


def _load(session: Session, resource_id: int) -> Source | None:
    row = session.execute(
        select(Resource).where(Resource.id == resource_id).options(selectinload(Resource.items))
    ).scalar_one_or_none()
    if row is None:
        return None
    kind: Kind = "person" if row.base_library == "人口" else "legal" if row.base_library == "法人" else "record"
    return Source(
        resource_id=row.id,
        code=row.code,
        name=row.name,
        kind=kind,
        key_field=row.key_field,
        department_id=row.department_id,
        base_library=row.base_library,
        share_type=row.share_type,
        share_condition=row.share_condition,
        grade=row.grade,
        sensitivity=row.sensitivity,
        status=row.status,
        classified=row.classified,
        items={
            i.field_name: Item(
                i.field_name, i.name, i.data_type, i.share_type, i.grade, i.sensitivity, i.masking, i.rule
            )
            for i in row.items
        },
    )


NO_SOURCE = Source(0, "", "", "person", "", 0, "", "", "", "", None, "", classified=False)


class Listed(NamedTuple):
    id: int
    code: str
    name: str
    department_id: int
    share_type: str
    base_library: str


def published(session: Session) -> list[Listed]:
    """Every published, non-classified resource (id, code, name, provider, share type, base library)."""
    rows = session.execute(
        select(
            Resource.id,
            Resource.code,
            Resource.name,
            Resource.department_id,
            Resource.share_type,
            Resource.base_library,
        )
        .where(Resource.status == "published", Resource.classified.is_(False))
        .order_by(Resource.code)
    ).all()
    return [Listed(*r) for r in rows]


# --- columns and conditions


def _model(source: Source) -> Any:
    return {"person": Person, "legal": LegalPerson, "record": Record}[source.kind]


def _column(source: Source, name: str) -> Any:
    model = _model(source)
    if source.kind == "record":
        if name == source.key_field:
            return Record.key
        item = source.items[name]
        element = Record.data[name]
        return element.as_float() if _TYPES.get(item.data_type) == "number" else element.as_string()
    if name in ENCRYPTED[source.kind]:
        return model.id_index if name == "id_number" else model.phone_index
    return getattr(model, name)


def _typed(source: Source, name: str, value: str) -> Any:
    kind = _TYPES.get(source.items[name].data_type) if name in source.items else None
    if kind == "date" and source.kind != "record":
        return date.fromisoformat(value[:10])
    if kind == "number":
        return float(value)
    return value


def _condition(source: Source, cipher: FieldCipher, cond: Mapping[str, Any]) -> ColumnElement[bool]:
    name, op, value = cond["field"], cond["op"], cond["value"]
    column = _column(source, name)
    if name in ENCRYPTED[source.kind]:
        if op not in ("eq", "in"):
            raise Invalid(f"加密存储的信息项 {name} 只能按“等于/属于”查询", field=name)
        values = value if op == "in" else [value]
        hashed = [cipher.blind_index(normalise_key(source, name, v)) for v in values]
        found: ColumnElement[bool] = column.in_(hashed) if op == "in" else column == hashed[0]
        return found
    kind = _TYPES.get(source.items[name].data_type) if name in source.items else None
    if op == "prefix":
        if kind == "number" or (kind == "date" and source.kind != "record"):
            raise Invalid(f"信息项 {name} 不是文字，不能按前缀查询", field=name)
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like: ColumnElement[bool] = column.like(escaped + "%", escape="\\")
        return like
    try:
        typed = [_typed(source, name, v) for v in value] if op == "in" else _typed(source, name, value)
    except ValueError as exc:
        raise Invalid(f"信息项 {name} 的取值格式不正确", field=name) from exc
    compared: ColumnElement[bool] = {
        "in": lambda: column.in_(typed),
        "eq": lambda: column == typed,
        "gte": lambda: column >= typed,
        "lte": lambda: column <= typed,
    }[op]()
    return compared


def normalise_key(source: Source, name: str, value: str) -> str:  # noqa: ARG001 - the signature is fixed by its caller
    """Full-width to half-width, no spaces, upper case: how integration stored ID numbers and codes."""
    text = value.translate(_FULLWIDTH).replace(" ", "").strip()
    return text.upper() if name in ("id_number", "uscc") else text


_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: 0x58, 0xFF58: 0x78, 0x3000: 0x20}


def _select(source: Source, cipher: FieldCipher, conditions: Sequence[Mapping[str, Any]]) -> Select[Any]:
    model = _model(source)
    stmt = select(model)
    if source.kind == "record":
        stmt = stmt.where(Record.resource_id == source.resource_id)
    if conditions:
        stmt = stmt.where(and_(*(_condition(source, cipher, c) for c in conditions)))
    return stmt


def query(
    session: Session,
    source: Source,
    cipher: FieldCipher,
    conditions: Sequence[Mapping[str, Any]],
    *,
    after_id: int = 0,
    limit: int = 50,
) -> list[Row]:
    """Records meeting every condition, in id order after ``after_id`` (keyset paging)."""
    model = _model(source)
    stmt = _select(source, cipher, conditions).where(model.id > after_id).order_by(model.id).limit(limit)
    return list(session.execute(stmt).scalars())


_BY_KEY: dict[tuple[int, str], Select[Any]] = {}


def by_key(session: Session, source: Source, cipher: FieldCipher, row_filter: list[Any], key: str) -> list[Any]:
    """The record with this key within a grant's row filter (a plain row, as ``batch``): the statement is
    built once per resource and filter, the key bound, since a lookup or 核验 runs it on every call."""
    memo = (source.resource_id, repr(row_filter))
    stmt = _BY_KEY.get(memo)
    if stmt is None:
        model = _model(source)
        plain = _select(source, cipher, row_filter).where(_column(source, source.key_field) == bindparam("key"))
        columns = [c for c in model.__table__.c if c.name not in _NOT_READ]
        stmt = _BY_KEY[memo] = plain.with_only_columns(*columns).order_by(model.id).limit(1)
        if len(_BY_KEY) > 1000:
            _BY_KEY.clear()
    name = source.key_field
    try:
        bound = cipher.blind_index(key) if name in ENCRYPTED[source.kind] else _typed(source, name, key)
    except ValueError as exc:
        raise Invalid(f"信息项 {name} 的取值格式不正确", field=name) from exc
    return list(session.execute(stmt, {"key": bound}).all())


def count(
    session: Session, source: Source, cipher: FieldCipher, conditions: Sequence[Mapping[str, Any]], cap: int
) -> tuple[int, bool]:
    """Exact count up to ``cap`` (and whether it was capped): a count of millions is not worth the wait."""
    model = _model(source)
    inner = _select(source, cipher, conditions).with_only_columns(model.id).limit(cap + 1).subquery()
    n = int(session.execute(select(func.count()).select_from(inner)).scalar_one())
    return min(n, cap), n > cap


_NOT_READ = {"provenance", "content_hash", "first_run_id", "last_run_id", "last_row", "updated_at", "source_id"}


def batch(
    session: Session,
    source: Source,
    cipher: FieldCipher,
    conditions: Sequence[Mapping[str, Any]],
    *,
    after_id: int,
    limit: int,
    columns: Collection[str] | None = None,
) -> list[Any]:
    """Like ``query`` but plain rows (columns by name, no ORM objects): a bulk export reads millions of
    them, a page at a time after the last id (keyset, never OFFSET). Only ``columns`` (and ``id``) are
    read when given — a masked export never fetches ciphertexts; bookkeeping columns never are. Read
    through the session's Core connection: no ORM loading step per row."""
    model = _model(source)
    wanted = [
        c
        for c in model.__table__.c
        if c.name not in _NOT_READ and (columns is None or c.name == "id" or c.name in columns)
    ]
    stmt = (
        _select(source, cipher, conditions)
        .with_only_columns(*wanted)
        .where(model.id > after_id)
        .order_by(model.id)
        .limit(limit)
    )
    return list(session.connection().execute(stmt).all())


# --- values of one row


def row_kind(source: Source, row: Any) -> Kind:
    """The kind of a row: from its class for ORM rows, else from the resource (plain rows of ``batch``)."""
    if isinstance(row, Person):
        return "person"
    if isinstance(row, LegalPerson):
        return "legal"
    if isinstance(row, Record):
        return "record"
    return source.kind


def library_row(entity: str, row: Any) -> Row:
    """A base-database row handed over by integration's access check."""
    if entity not in ("person", "legal"):
        raise ValueError(entity)
    assert isinstance(row, Person | LegalPerson)
    return row


def sample_keys(session: Session, cipher: FieldCipher, limit: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Some persons (ID number in clear, name) and legal persons (USCC): the keys the demo's consumers ask for."""
    persons = [
        (cipher.decrypt(p.id_enc, index=p.id_index), p.name)
        for p in session.execute(select(Person).order_by(Person.id).limit(limit)).scalars()
    ]
    legal = list(session.execute(select(LegalPerson.uscc).order_by(LegalPerson.id).limit(limit // 2)).scalars())
    return persons, legal


def changed(
    session: Session,
    source: Source,
    cipher: FieldCipher,
    conditions: Sequence[Mapping[str, Any]],
    *,
    after_seq: int,
    upto_seq: int,
    limit: int,
) -> list[tuple[int, Row]]:
    """Rows of the change feed (``FeedEntry``) after ``after_seq`` up to ``upto_seq``, each with its
    entry number, that meet every condition (the grant's row filter): in feed order."""
    from zhixian.exchange.models import FeedEntry

    model = _model(source)
    stmt = (
        _select(source, cipher, conditions)
        .add_columns(FeedEntry.id)
        .join(FeedEntry, and_(FeedEntry.kind == source.kind, FeedEntry.row_id == model.id))
        .where(FeedEntry.id > after_seq, FeedEntry.id <= upto_seq)
    )
    if source.kind == "record":
        stmt = stmt.where(FeedEntry.resource_id == source.resource_id)
    rows = session.execute(stmt.order_by(FeedEntry.id).limit(limit)).all()
    return [(int(seq), row) for row, seq in rows]


def unlogged_versions(
    session: Session, kind: Kind, since: datetime, limit: int
) -> list[tuple[int, datetime, int | None]]:
    """(row id, updated_at, resource id of a departmental record) of rows of ``kind`` updated since ``since``
    whose version is not yet in the change feed, oldest first (the feed's sweep)."""
    from zhixian.exchange.models import FeedEntry

    model: Any = {"person": Person, "legal": LegalPerson, "record": Record}[kind]
    logged = exists().where(
        FeedEntry.kind == kind, FeedEntry.row_id == model.id, FeedEntry.row_updated_at == model.updated_at
    )
    scope = Record.resource_id if kind == "record" else null()
    stmt = (
        select(model.id, model.updated_at, scope)
        .where(model.updated_at >= since, ~logged)
        .order_by(model.updated_at, model.id)
        .limit(limit)
    )
    return [(int(i), at, rid) for i, at, rid in session.execute(stmt).all()]


def row_by_id(session: Session, source: Source, row_id: int) -> Row | None:
    """One record of the resource by its id (a correction names the record it is about this way)."""
    row = session.get(_model(source), row_id)
    if isinstance(row, Record) and row.resource_id != source.resource_id:
        return None
    return row
