"""Engine, sessions and the declarative Base shared by every subsystem.

The request, command or job owns the transaction: services only ``flush()``.
SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``: a WAL reader
that later writes fails at once with "database is locked" when another writer got in between,
and nearly every request writes (session touch, audit). So on SQLite, requests take their
transaction one at a time through an asyncio FIFO gate *before* a worker thread is used: waiting
in threads (or in SQLite's sleep-and-retry busy handler) starved the thread pool and timed out at
64 clients. Threads outside requests (jobs) queue on a lock; other processes on the busy timeout.
On PostgreSQL the gate admits as many requests as the pool can serve less a reserve for jobs, so a
request never blocks a worker thread on pool checkout; commits run on their own thread limiter, so a
transaction that holds an audit lane can always finish (else at 64 clients every thread waited on a
lane whose holder waited for a thread to commit).
The per-request session (``SessionDep``) is a web dependency and lives in ``zhixian.web.deps``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
from anyio import from_thread
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

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - the signature is fixed by the base class
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
    return create_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_pre_ping=True)


POOL_SIZE, POOL_OVERFLOW = 10, 20
JOB_RESERVE = 6  # connections left to jobs, ingest and the scheduler while requests are at their limit


class Database:
    """An engine and its session factory; tests rebind it to one connection that rolls back."""

    def __init__(self, url: str, *, engine: Engine | None = None, info: dict[str, Any] | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.info = info or {}  # node-level context every session carries (e.g. the audit chain key)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        self._gate: anyio.Semaphore | None = None
        self._commits: anyio.CapacityLimiter | None = None

    def request_gate(self) -> anyio.Semaphore | None:
        """SQLite: one request transaction at a time, first come first served. PostgreSQL: as many as the
        pool serves less the jobs' reserve; a test session bound to one connection has no gate.

        A semaphore, not a lock: a request may hand its turn back from a worker thread (outside_gate)."""
        if self._gate is None:
            size = self.request_slots()
            if size is None:
                return None
            self._gate = anyio.Semaphore(size)
        return self._gate

    def request_slots(self) -> int | None:
        if self.engine.dialect.name == "sqlite":
            return 1
        pool = self.engine.pool
        size, overflow = getattr(pool, "size", lambda: 0)(), getattr(pool, "_max_overflow", 0)
        return max(1, size + max(overflow, 0) - JOB_RESERVE) if size else None

    def commit_limiter(self) -> anyio.CapacityLimiter:
        """Threads for commits and rollbacks only: they never queue behind request handlers."""
        if self._commits is None:
            self._commits = anyio.CapacityLimiter(self.request_slots() or 1)
        return self._commits

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def bind_to(self, connection: Connection) -> None:
        # commits there are savepoints of an outer transaction that may still roll back: not durable,
        # so they never advance the audit anchor
        self.sessionmaker = sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
            info={**self.info, "durable": False},
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


_TURN = "zx_request_turn"
T = TypeVar("T")


class RequestTurn:
    """A request's turn at the gate (if any). It may step out while the request waits on something else."""

    def __init__(self, gate: anyio.Semaphore | None) -> None:
        self.gate, self.held = gate, False

    async def take(self) -> None:
        if self.gate is not None and not self.held:
            await self.gate.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.gate is not None and self.held:
            self.held = False
            self.gate.release()


def request_turn(database: Database) -> RequestTurn:
    """A request's (not yet taken) turn at the database's gate; ``zhixian.web.deps`` takes it per request."""
    return RequestTurn(database.request_gate())


def turn_session(database: Database, turn: RequestTurn) -> Session:
    """A session that knows its request's turn, so ``outside_gate`` can hand the turn back while it waits."""
    return database.sessionmaker(info={_TURN: turn})


def outside_gate(session: Session, wait: Callable[[], T]) -> T:
    """Runs ``wait`` — a call that waits on a remote system — without holding the database.

    In a request (called from its worker thread), what the request did so far is committed, its turn at
    the SQLite gate is handed back, and taken again afterwards; the session then goes on in a new
    transaction. No request may hold the gate, or a pooled connection, while it waits on the network
    (standard item 21). Outside a request (jobs, CLI, tests' own sessions) it simply calls ``wait``:
    there the caller owns the transaction and holds no gate.
    """
    turn = session.info.get(_TURN)
    if not isinstance(turn, RequestTurn):
        return wait()
    session.commit()
    from_thread.run_sync(turn.give_back)
    try:
        return wait()
    finally:
        from_thread.run(turn.take)
