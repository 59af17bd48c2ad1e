"""Signed tokens in URLs — gateway cursors (query pages, change feeds) and camera play tickets — are accepted
only exactly as this node wrote them (``platform.crypto.unb64url``)."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from zhixian.exchange import signing
from zhixian.perception.cameras import play
from zhixian.platform.crypto import b64url, unb64url

ALPHABET = string.ascii_letters + string.digits + "-_."
CURSOR_KEY = signing.cursor_key("test-secret")
PLAY_KEY = b"k" * 32
EXPIRES = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _cursor() -> tuple[str, Callable[[str], bool]]:
    token = signing.make_cursor(CURSOR_KEY, {"c": "feed", "r": 7, "a": 3, "s": 12})
    return token, lambda t: signing.read_cursor(CURSOR_KEY, t) is not None


def _ticket() -> tuple[str, Callable[[str], bool]]:
    token = play.sign(PLAY_KEY, nonce="n0nce", user_id=5, camera_id=9, mode="live", expires=EXPIRES)
    return token, lambda t: isinstance(play.verify(PLAY_KEY, t), play.Claims)


@pytest.mark.parametrize("make", [_cursor, _ticket], ids=["gateway cursor", "camera play ticket"])
def test_any_changed_character_makes_a_token_invalid(make: Callable[[], tuple[str, Callable[[str], bool]]]) -> None:
    """Base64 ignores the unused low bits of a last character ("…A" and "…B" may decode alike): every
    one-character change, those included, is refused, so a tampered token never works by chance."""
    token, accepted = make()
    assert accepted(token)
    for at, original in enumerate(token):
        for other in ALPHABET.replace(original, ""):
            assert not accepted(token[:at] + other + token[at + 1 :]), (at, original, other)
    assert not accepted(token + "A")
    assert not accepted(token[:-1])


def test_b64url_round_trips_and_refuses_other_spellings() -> None:
    for raw in (b"", b"a", b"ab", b"abc", bytes(range(256))):
        assert unb64url(b64url(raw)) == raw
    assert b64url(b"\xff") == "_w"
    for other in ("_x", "_w=", "_w==", "/w", "_ w"):
        with pytest.raises(ValueError):
            unb64url(other)
