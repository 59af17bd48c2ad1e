"""The request gate: what stops requests from starving the thread pool or the connection pool."""

import anyio

from zhixian.db import JOB_RESERVE, POOL_OVERFLOW, POOL_SIZE, Database


def test_sqlite_admits_one_request_transaction_at_a_time(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'z.db'}")
    assert database.request_slots() == 1
    assert database.request_gate() is database.request_gate()


def test_postgresql_admits_no_more_requests_than_the_pool_serves_less_the_jobs_reserve() -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:5432/never_connected")  # create_engine does not connect
    slots = POOL_SIZE + POOL_OVERFLOW - JOB_RESERVE
    assert database.request_slots() == slots
    gate = database.request_gate()
    assert isinstance(gate, anyio.Semaphore)
    assert gate.value == slots
    # below the default 40 worker threads, and commits have threads of their own
    assert slots < 40
    assert database.commit_limiter().total_tokens == slots
