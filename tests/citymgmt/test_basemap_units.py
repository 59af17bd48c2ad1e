"""The basemap's small parts on their own: tile tickets, template filling, the tile cache's size limit."""

from __future__ import annotations

import os
from pathlib import Path

from zhixian.citymgmt.geo import basemap, tileproxy

SECRET = "s" * 48


def test_ticket_lives_half_an_hour_to_an_hour_and_cannot_be_forged() -> None:
    now = 1_800_000_000.0
    value, max_age = basemap.ticket(SECRET, 42, now=now)
    assert 30 * 60 <= max_age <= 60 * 60
    assert basemap.ticket_valid(SECRET, value, now=now)
    assert basemap.ticket_valid(SECRET, value, now=now + max_age - 1)
    assert not basemap.ticket_valid(SECRET, value, now=now + max_age + 1)  # lapsed
    assert not basemap.ticket_valid("t" * 48, value, now=now)  # another node's secret
    user, expires, mac = value.split(".")
    assert not basemap.ticket_valid(SECRET, f"43.{expires}.{mac}", now=now)  # someone else's
    far = int(now) + 10 * 24 * 3600
    assert not basemap.ticket_valid(SECRET, f"{user}.{far}.{mac}", now=now)  # stretched
    assert not basemap.ticket_valid(SECRET, None, now=now)
    assert not basemap.ticket_valid(SECRET, "garbage", now=now)
    assert basemap.ticket(SECRET, 42, now=now + 60)[0] == value  # stable within its window: tiles stay cached


def test_template_is_filled_and_the_key_cannot_add_parameters() -> None:
    url = basemap.sample_url("https://t{s}.example.cn/{z}/{x}/{y}.png?tk={key}", "01234567", "k&x=1 #", 5, 3, 2)
    assert url == "https://t5.example.cn/5/3/2.png?tk=k%26x%3D1%20%23"
    assert basemap.sample_url("https://a.cn/{z}/{x}/{y}", "", "", 1, 0, 1) == "https://a.cn/1/0/1"


def test_tile_cache_keeps_under_its_limit_dropping_the_oldest(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "a" / "10").mkdir(parents=True)
    for i in range(10):
        path = root / "a" / "10" / f"{i}.tile"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    tileproxy._prune(root, limit_bytes=5_000)
    left = sorted(int(p.stem) for p in root.rglob("*.tile"))
    assert sum(1000 for _ in left) <= 4_000  # down to 80% of the limit
    assert left == list(range(10 - len(left), 10))  # the newest stay
    tileproxy._prune(root, limit_bytes=50_000)
    assert len(list(root.rglob("*.tile"))) == len(left)  # under the limit: nothing goes
