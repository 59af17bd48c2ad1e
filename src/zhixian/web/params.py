"""Route parameters for record ids: the range of ``zhixian.fields.Id`` as FastAPI path and query parameters.

An id outside 1..2^31-1 cannot exist, so it is a 422 naming the parameter, not a query that overflows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from zhixian.fields import ID_MAX

IdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="记录编号")]
IdQuery = Annotated[int | None, Query(ge=1, le=ID_MAX, description="记录编号")]  # optional filters
