"""The demo county's sensors, alive: a deterministic model of what each device would read at a moment.

Daily cycles (traffic noise and CO peaks at rush hours, PM2.5 worse at night and in the morning), noise
on every value, and events: a rain storm that floods the low points, a gas leak, a manhole cover
knocked askew. The demo seed stores a few days of this history; ``zhixian perception simulate``
publishes it live over MQTT, with the events starting minutes after it starts.

Demo devices' secrets are derived from the node's secret key (HMAC), so the simulator on the same node
can sign its messages while the database still holds only digests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.settings import Settings

DEMO_PREFIX = {"manhole": "MH", "water": "WL", "gas": "GS", "toxic": "TX", "smoke": "SM", "noise": "NS", "pm25": "PM"}


def demo_secret(settings: Settings, code: str) -> str:
    return hmac.new(
        settings.effective_secret_key.encode(), f"perception-demo:{code}".encode(), hashlib.sha256
    ).hexdigest()[:32]


@dataclass(frozen=True)
class Event:
    """A scenario: ``device`` (code) is affected from ``start`` for ``minutes`` (``kind`` says how)."""

    kind: str  # rain | leak | tilt | fire | silent
    start: datetime
    minutes: float
    devices: tuple[str, ...] = ()
    strength: float = 1.0

    def phase(self, t: datetime) -> float | None:
        """0..1 through the event, or None outside it."""
        elapsed = (t - self.start).total_seconds() / 60
        return elapsed / self.minutes if 0 <= elapsed <= self.minutes else None


@dataclass
class Model:
    """Readings for the demo devices; the same seed and moment always give the same values (plus noise)."""

    events: list[Event] = field(default_factory=list)
    seed: int = 20261121

    def _rng(self, code: str, t: datetime) -> random.Random:
        return random.Random(f"{self.seed}:{code}:{int(t.timestamp()) // 60}")  # noqa: S311 - demo readings, not secrets

    def _hour(self, t: datetime) -> float:
        local = t.astimezone(LOCAL_TZ)
        return local.hour + local.minute / 60

    def _active(self, kind: str, code: str, t: datetime) -> tuple[Event, float] | None:
        for ev in self.events:
            if ev.kind == kind and (not ev.devices or code in ev.devices):
                phase = ev.phase(t)
                if phase is not None:
                    return ev, phase
        return None

    def silent(self, code: str, t: datetime) -> bool:
        return any(ev.kind == "silent" and code in ev.devices and t >= ev.start for ev in self.events)

    def values(self, code: str, profile: str, t: datetime) -> dict[str, float]:
        return _PROFILES[profile](self, code, t, self._rng(code, t))


def _bump(phase: float) -> float:
    """0 → 1 → 0 over an event: quick rise, slower fall (a flood hydrograph, a leak found and closed)."""
    return (
        math.sin(math.pi * min(1.0, phase * 1.6))
        if phase < 0.3125
        else max(0.0, math.cos((phase - 0.3125) / 0.6875 * math.pi / 2))
    )


def _daily(hour: float, peaks: tuple[float, ...] = (8.0, 18.0), width: float = 1.5) -> float:
    return max(math.exp(-(((hour - p) / width) ** 2)) for p in peaks)


def _index(code: str) -> int:
    return int("".join(ch for ch in code if ch.isdigit()) or 0)


def _battery(code: str, t: datetime) -> float:
    days = t.timestamp() / 86400
    return round(max(5.0, 100 - ((days * 0.35 + _index(code) * 7) % 80)), 0)


def _manhole(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    tilt = abs(rng.gauss(0.6, 0.3))
    opened = 0.0
    hit = m._active("tilt", code, t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    if hit:
        tilt = 12 + 26 * min(1.0, hit[1] * 4) + rng.gauss(0, 0.5)
        opened = 1.0 if hit[1] > 0.1 else 0.0
    return {"tilt": round(min(90.0, tilt), 1), "open": opened, "battery": _battery(code, t)}


def _water(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    level = 0.01 + abs(rng.gauss(0, 0.004))
    hit = m._active("rain", code, t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    if hit:
        depth = (0.2 + 0.12 * (_index(code) % 5)) * hit[0].strength  # low points flood deeper
        level += depth * _bump(hit[1])
    return {"level": round(level, 3), "battery": _battery(code, t)}


def _gas(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    lel = abs(rng.gauss(0.5, 0.4))
    hit = m._active("leak", code, t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    if hit:
        lel += 38 * hit[0].strength * _bump(hit[1])
    return {"lel": round(min(100.0, lel), 1)}


def _toxic(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:  # noqa: ARG001 - the signature is fixed by its caller
    h = m._hour(t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    return {"h2s": round(abs(rng.gauss(0.8, 0.4)), 2), "co": round(4 + 14 * _daily(h) + abs(rng.gauss(0, 1.5)), 1)}


def _smoke(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    hit = m._active("fire", code, t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    smoke = abs(rng.gauss(0.3, 0.2)) + (18 * _bump(hit[1]) if hit else 0)
    return {"smoke": round(smoke, 2), "alarm": 1.0 if smoke > 8 else 0.0, "battery": _battery(code, t)}


def _noise(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    h = m._hour(t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    day = 7 <= h < 22
    site = _index(code) == 1  # the first noise sensor stands at a building site
    base = 46 + (16 if day else 0) + 6 * _daily(h) + (9 if site and 8 <= h < 18 else 0)
    return {"laeq": round(base + rng.gauss(0, 2.0), 1)}


def _pm25(m: Model, code: str, t: datetime, rng: random.Random) -> dict[str, float]:
    h = m._hour(t)  # noqa: SLF001 - a helper of the same feature, not another's internals
    site = _index(code) == 1
    base = 32 + 28 * _daily(h, (8.0, 21.0), 2.5) + (35 if site and 8 <= h < 18 else 0)
    pm25 = max(3.0, base + rng.gauss(0, 6))
    return {"pm25": round(pm25, 0), "pm10": round(pm25 * 1.7 + abs(rng.gauss(0, 8)), 0)}


_PROFILES: dict[str, Callable[[Model, str, datetime, random.Random], dict[str, float]]] = {
    "manhole": _manhole,
    "water": _water,
    "gas": _gas,
    "toxic": _toxic,
    "smoke": _smoke,
    "noise": _noise,
    "pm25": _pm25,
}


def history_events(now: datetime) -> list[Event]:
    """What happened in the demo county's recent past: yesterday afternoon's storm, a device gone silent."""
    local = now.astimezone(LOCAL_TZ)
    storm = (local - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    return [
        Event("rain", storm, 240, strength=0.9),
        Event("silent", now - timedelta(hours=2), 0, devices=("WL-0008",)),
    ]


def live_events(start: datetime, only: set[str] | None = None) -> list[Event]:
    """The live show, minutes after the simulator starts: rain, a gas leak, a tilted cover."""
    events = [
        Event("rain", start + timedelta(minutes=1), 40, strength=1.1),
        Event("leak", start + timedelta(minutes=3), 20, devices=("GS-0002",)),
        Event("tilt", start + timedelta(minutes=5), 30, devices=("MH-0003",)),
        Event("fire", start + timedelta(minutes=8), 6, devices=("SM-0004",)),
    ]
    return [e for e in events if only is None or e.kind in only]


def timeline(
    model: Model, devices: list[tuple[str, str]], start: datetime, end: datetime, step: timedelta
) -> Iterator[tuple[datetime, str, dict[str, float]]]:
    """(moment, device code, values) from ``start`` to ``end`` every ``step``, skipping silent devices."""
    t = start
    while t <= end:
        for code, profile in devices:
            if not model.silent(code, t):
                yield t, code, model.values(code, profile, t)
        t += step


def publish_loop(
    settings: Settings,
    devices: list[tuple[str, str]],
    *,
    interval: float = 10.0,
    duration: float = 0.0,
    events: set[str] | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Publishes one reading per device every ``interval`` seconds until ``duration`` (0: until stopped)."""
    from zhixian.perception import settings as conf
    from zhixian.perception.sensors import mqtt as transport

    start = utcnow()
    model = Model(events=live_events(start, events))
    c = transport.client(settings, f"zhixian-simulator-{int(time.time())}")
    c.connect(settings.declared(conf.MQTT_HOST), settings.declared(conf.MQTT_PORT))
    c.loop_start()
    secrets = {code: demo_secret(settings, code) for code, _ in devices}
    sent = 0
    try:
        while duration <= 0 or (utcnow() - start).total_seconds() < duration:
            now = utcnow()
            for code, profile in devices:
                payload = {
                    "token": secrets[code],
                    "ts": int(now.timestamp() * 1000),
                    "values": model.values(code, profile, now),
                }
                c.publish(transport.telemetry_topic(settings, code), json.dumps(payload), qos=1)
                sent += 1
            echo(f"{now.astimezone(LOCAL_TZ):%H:%M:%S} 已发布 {len(devices)} 台设备的读数（累计 {sent} 条）")
            time.sleep(interval)
    finally:
        c.loop_stop()
        c.disconnect()
    return sent
