"""Engine, sessions and the declarative Base shared by every subsystem.

The request, command or job owns the transaction: services only ``flush()``.
SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``: a WAL reader
that later writes fails at once with "database is locked" when another writer got in between,
and nearly every request writes (session touch, audit). So on SQLite, requests take their
transaction one at a time through an asyncio FIFO gate *before* a worker thread is used: waiting
in threads (or in SQLite's sleep-and-retry busy handler) starved the thread pool and timed out at
64 clients. Threads outside requests (jobs) queue on a lock; other processes on the busy timeout.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from anyio.to_thread import run_sync
from fastapi import Depends, Request
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC; always comes back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class _WriterLock:
    """One SQLite transaction at a time per process, handed over in arrival order."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._lock = threading.Lock()
        self.timeout = timeout

    def begin(self, conn: Connection) -> None:
        if not self._lock.acquire(timeout=self.timeout):
            raise TimeoutError("database busy: no transaction slot within the timeout")
        conn.info["zx_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Connection) -> None:
        if conn.info.pop("zx_writer", False):
            self._lock.release()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=16
        )
        writer = _WriterLock()
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.end)
        event.listen(engine, "rollback", writer.end)
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """An engine and its session factory; tests rebind it to one connection that rolls back."""

    def __init__(self, url: str, *, engine: Engine | None = None, info: dict[str, Any] | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.info = info or {}  # node-level context every session carries (e.g. the audit chain key)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        self._gate: anyio.Lock | None = None

    def request_gate(self) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite: one request transaction at a time, first come first served. PostgreSQL: no gate."""
        if self.engine.dialect.name != "sqlite":
            return contextlib.nullcontext()
        if self._gate is None:
            self._gate = anyio.Lock()
        return self._gate

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def bind_to(self, connection: Connection) -> None:
        self.sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint", info=self.info
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


async def get_session(request: Request) -> AsyncIterator[Session]:
    database: Database = request.app.state.db
    async with database.request_gate():
        session = database.sessionmaker()
        try:
            yield session
            await run_sync(session.commit)
        except BaseException:
            await run_sync(session.rollback)
            raise
        finally:
            session.close()  # after commit/rollback this only returns the connection to the pool


# scope="function": commit before the response is sent, so a failed commit is never reported as success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
