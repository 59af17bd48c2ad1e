"""Request dependencies that are not about who the caller is: the request's database session.

Kept out of ``zhixian.db`` so that models and services never load FastAPI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from anyio.to_thread import run_sync
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from zhixian.db import Database, request_turn, turn_session


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The one session of a request: it waits its turn at the SQLite gate, commits before the response."""
    database: Database = request.app.state.db
    turn = request_turn(database)
    await turn.take()
    try:
        session = turn_session(database, turn)
        try:
            yield session
            await run_sync(session.commit, limiter=database.commit_limiter())
        except BaseException:
            await run_sync(session.rollback, limiter=database.commit_limiter())
            raise
        finally:
            session.close()  # after commit/rollback this only returns the connection to the pool
    finally:
        turn.give_back()


# scope="function": commit before the response is sent, so a failed commit is never reported as success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
