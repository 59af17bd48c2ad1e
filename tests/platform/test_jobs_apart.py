"""The one-server scheduler writes a job's heavy work in a child process (``subsystems.Apart``): a bulk
export's million rows of masking then hold neither the web process's GIL nor its garbage collector."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import dispose_node, make_node, run_async
from zhixian.app import Node, run_job
from zhixian.subsystems import Apart, Job


@pytest.fixture
def apart_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A node whose settings a child process finds the way `zhixian serve`'s children do: in the environment."""
    node = make_node(tmp_path / "node", "sqlite", seed_demo=False)
    monkeypatch.setenv("ZHIXIAN_DATA_DIR", str(node.settings.data_dir))
    monkeypatch.setenv("ZHIXIAN_DATABASE_URL", node.settings.database_url)
    yield node
    dispose_node(node)


def test_due_work_runs_in_a_child_process_and_other_runs_in_this_one(
    apart_node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    here: list[Node] = []
    due = Job("test.apart", here.append, 1, Apart(("exchange", "exports"), lambda node: True))
    with caplog.at_level(logging.INFO, logger="zhixian"):
        run_async(run_job(apart_node, due))
    assert here == []  # not in this process
    assert "job test.apart ran apart: 导出完成 0 个，失败 0 个" in caplog.text  # the child's own report
    idle = Job("test.apart", here.append, 1, Apart(("exchange", "exports"), lambda node: False))
    run_async(run_job(apart_node, idle))
    assert here == [apart_node]


def test_a_child_that_fails_is_logged_with_what_it_said(apart_node: Node, caplog: pytest.LogCaptureFixture) -> None:
    broken = Job("test.broken", lambda node: None, 1, Apart(("no-such-command",), lambda node: True))
    with caplog.at_level(logging.INFO, logger="zhixian"):
        run_async(run_job(apart_node, broken))
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed
    assert "job test.broken (no-such-command) exited 2" in failed[0].getMessage()
    assert "no-such-command" in failed[0].getMessage().split("exited 2:", 1)[1]
