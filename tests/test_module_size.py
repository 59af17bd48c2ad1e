"""Modules stay small enough to read in one sitting (CONTRIBUTING: "modules under ~500 lines").

A module that grows past the limit is split along a seam of its responsibility, not trimmed of docstrings:
the check counts every line, so squeezing code together does not pass it any more than splitting does.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1] / "src" / "zhixian"
LIMIT = 500


def oversized(root: Path, limit: int) -> dict[str, int]:
    """Python modules under ``root`` longer than ``limit`` lines, by path relative to ``root``."""
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")}
    return {str(p.relative_to(root)): n for p, n in sorted(sizes.items()) if n > limit}


def test_every_module_is_under_the_limit() -> None:
    assert oversized(ROOT, LIMIT) == {}, f"split these modules along a seam (limit {LIMIT} lines)"


def test_the_check_sees_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (LIMIT + 1), encoding="utf-8")
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")
    assert oversized(tmp_path, LIMIT) == {"pkg/long.py": LIMIT + 1}
