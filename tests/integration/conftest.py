"""Runs execute on the integration worker thread: let each test's runs finish before its rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhixian.integration import worker


@pytest.fixture(autouse=True)
def _worker_idle_after_test() -> Iterator[None]:
    yield
    assert worker.wait_idle(120), "后台运行未结束"
