"""数字城管 tests: a small demo history keeps the per-backend seed fast."""

from __future__ import annotations

import io
import os

import pytest
import shapely
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

# read by zhixian.citymgmt.demo when the session's demo county is seeded
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "300")


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def grid_point(db: Session, inspector: str = "inspector01") -> tuple[float, float, str]:
    """A point inside a grid whose inspector is the named user."""
    from zhixian.citymgmt.models import Grid
    from zhixian.platform.models import User

    uid = db.execute(select(User.id).where(User.username == inspector)).scalar_one()
    grid = db.execute(select(Grid).where(Grid.inspector_id == uid).order_by(Grid.code)).scalars().first()
    assert grid is not None
    p = shapely.from_wkt(grid.wkt).representative_point()
    return p.x, p.y, grid.code


@pytest.fixture
def spot(db: Session) -> tuple[float, float, str]:
    return grid_point(db)
