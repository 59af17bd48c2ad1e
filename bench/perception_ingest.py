"""Sensor ingest through the real local Mosquitto: readings/s with rule evaluation beside a bare subscriber
receiving the same messages from the same broker in the same run; publish→alarm latency; a 30-day chart
for one device with many readings stored.

* Throughput: the same N messages (two values each) are published twice at QoS 1 — first to a bare paho
  subscriber that only counts and acknowledges, then to ``zhixian perception ingest`` worker processes
  (validation, token check, batched writes, 5-minute and hourly rollups, four rule kinds on every
  reading). Mosquitto drops QoS 1 messages once a client's queue (1,000 by default) is full, so the
  publisher keeps at most ``--window`` messages outstanding per consumer: the figure is what the consumer
  sustains, not what the broker dropped.
* Latency: a reading that crosses a threshold is published while the worker is otherwise idle, and the
  bench polls the database until the alarm row is committed; then a clearing reading, and again.
* Chart: ``--chart-readings`` values for one device over 30 days are bulk-loaded with their rollups, then
  the chart's series call for 30 days is timed beside the same chart computed from the raw readings.

Run: .venv/bin/python bench/perception_ingest.py [--messages 20000] [--workers 1,2] [--backends sqlite,postgresql]
     [--chart-readings 10000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "0")
os.environ.setdefault("ZHIXIAN_PERCEPTION_DEMO_HISTORY_HOURS", "0")

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, insert, select, text
from tests.conftest import dispose_node, make_node

from zhixian.clock import utcnow
from zhixian.perception.sensors import readings, service, store
from zhixian.perception.sensors.models import Alarm, Device, DeviceState, IngestCount, Profile, Reading, Rule
from zhixian.platform.actor import COUNTY_SCOPE, system_actor

HOST, PORT = "127.0.0.1", 1883
RULES = [
    {
        "code": "high",
        "name": "超高",
        "kind": "threshold",
        "key": "v",
        "params": {
            "op": ">=",
            "hysteresis": 0.5,
            "levels": [{"level": "黄", "value": 80}, {"level": "红", "value": 90}],
        },
    },
    {
        "code": "long",
        "name": "持续偏高",
        "kind": "duration",
        "key": "v",
        "params": {"op": ">", "value": 70, "minutes": 10},
    },
    {"code": "rep", "name": "连续偏高", "kind": "repeat", "key": "v", "params": {"op": ">", "value": 75, "count": 5}},
    {
        "code": "jump",
        "name": "骤升",
        "kind": "rate",
        "key": "v",
        "params": {"change": 30, "minutes": 1, "direction": "rise"},
    },
    {"code": "offline", "name": "离线", "kind": "offline", "params": {"minutes": 30}},
]
ACTOR = system_actor(frozenset({COUNTY_SCOPE, "perception.view", "perception.device.manage"}))


def setup_devices(node, n: int) -> list[tuple[int, str, str]]:
    """(id, code, secret) of ``n`` bench devices of one profile with the four per-reading rule kinds."""
    with node.db.transaction() as session:
        profile = Profile(
            code="bench",
            name="基准设备",
            telemetry=[
                {"key": "v", "name": "读数", "unit": "", "min": 0, "max": 200},
                {"key": "battery", "name": "电量", "unit": "%", "min": 0, "max": 100},
            ],
        )
        session.add(profile)
        session.flush()
        for r in RULES:
            session.add(Rule(profile_id=profile.id, **r))
        dept = session.execute(text("SELECT id, path FROM department WHERE code = 'zjj'")).one()
        import shapely

        from zhixian.citymgmt import service as citymgmt

        grids = citymgmt.grid_outlines(session)
        out = []
        rows = []
        for i in range(n):
            p = shapely.from_wkt(grids[i % len(grids)][1]).representative_point()
            secret = service.new_secret()
            rows.append(
                {
                    "code": f"B-{i:05d}",
                    "name": f"基准{i}",
                    "profile_id": profile.id,
                    "department_id": dept.id,
                    "department_path": dept.path,
                    "lon": p.x,
                    "lat": p.y,
                    "grid_code": grids[i % len(grids)][0],
                    "secret_hash": service.hash_secret(secret),
                }
            )
            out.append((f"B-{i:05d}", secret))
        session.execute(insert(Device), rows)
        ids = dict(session.execute(select(Device.code, Device.id).where(Device.profile_id == profile.id)).all())
        session.execute(
            insert(DeviceState),
            [{"device_id": ids[c], "values": {}, "rules": {}, "readings": 0, "offline": False} for c, _ in out],
        )
    return [(ids[c], c, s) for c, s in out]


def bare_subscriber(root: str, group: str, progress: str, stop: str) -> None:
    """A subscriber that only counts and acknowledges: the broker's and paho's own speed."""
    count = 0
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)

    def on_message(_c, _u, _m) -> None:
        nonlocal count
        count += 1

    c.on_message = on_message
    c.on_connect = lambda cl, _u, _f, _r, _p: cl.subscribe(f"$share/{group}/{root}/+/telemetry", qos=1)
    c.on_subscribe = lambda *_: Path(progress).write_text("0")
    c.connect(HOST, PORT)
    c.loop_start()
    while not Path(stop).exists():
        Path(progress).write_text(str(count))
        time.sleep(0.02)
    Path(progress).write_text(str(count))
    c.loop_stop()


class Publisher:
    def __init__(self, root: str) -> None:
        self.root = root
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        self.c.max_inflight_messages_set(1000)
        self.c.connect(HOST, PORT)
        self.c.loop_start()

    def send(self, code: str, secret: str, values: dict, ts: datetime | None = None) -> mqtt.MQTTMessageInfo:
        ts = ts or datetime.now(UTC)
        body = json.dumps({"token": secret, "ts": int(ts.timestamp() * 1000), "values": values})
        return self.c.publish(f"{self.root}/{code}/telemetry", body, qos=1)

    def send_many(self, code: str, secret: str, items: list[tuple[datetime, dict]]) -> mqtt.MQTTMessageInfo:
        """One message carrying several readings, as an edge gateway or a buffering device sends them."""
        body = json.dumps(
            {"token": secret, "readings": [{"ts": int(ts.timestamp() * 1000), "values": v} for ts, v in items]}
        )
        return self.c.publish(f"{self.root}/{code}/telemetry", body, qos=1)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def workload(n: int, devices: int, seed: int = 7) -> list[float]:
    """Readings as sensors send them: each device's value wanders slowly around its level, and now and
    then (0.5 %) jumps past the red threshold for three readings — alarms raised and cleared as in a county."""
    rng = random.Random(seed)
    level = [rng.uniform(30, 50) for _ in range(devices)]
    hot: dict[int, int] = {}
    out = []
    for i in range(n):
        d = i % devices
        if hot.get(d, 0) > 0 or rng.random() < 0.005:
            hot[d] = hot.get(d, 3) - 1
            out.append(round(rng.uniform(91, 99), 2))
            continue
        level[d] += rng.gauss(0, 0.4) + (40 - level[d]) * 0.05
        out.append(round(level[d], 2))
    return out


def throttled(count, every: float = 0.02):
    """``count`` asked at most every 20 ms: polling the database every 2 ms for each message ate a good part
    of this 2-core machine (a PostgreSQL round trip each) and slowed the consumer being measured."""
    last = [-1.0, 0]

    def done() -> int:
        now = time.perf_counter()
        if now - last[0] >= every:
            last[0], last[1] = now, count()
        return last[1]

    return done


def pump(pub: Publisher, devices, n: int, window: int, done, per_message: int = 1) -> float:
    """Publishes n messages keeping at most ``window`` unconsumed; seconds until the consumer has all.
    With ``per_message`` > 1 each message carries that many successive readings of its device."""
    done = throttled(done)
    values = workload(n * per_message, len(devices))
    start = time.perf_counter()
    base = datetime.now(UTC) - timedelta(minutes=30)
    for i in range(n):
        while i - done() >= window:
            time.sleep(0.002)
            if time.perf_counter() - start > 600:
                raise RuntimeError(f"consumer stalled at {done()} of {n}")
        _, code, secret = devices[i % len(devices)]
        if per_message > 1:
            step = (i // len(devices)) * per_message
            ts0 = base + timedelta(milliseconds=i % len(devices))
            items = [
                (ts0 + timedelta(seconds=10 * (step + k)), {"v": values[i * per_message + k], "battery": 88})
                for k in range(per_message)
            ]
            pub.send_many(code, secret, items)
            continue
        # each device reports every 10 seconds
        pub.send(
            code,
            secret,
            {"v": values[i], "battery": 88},
            base + timedelta(seconds=10 * (i // len(devices)), milliseconds=i % len(devices)),
        )
    while done() < n:
        time.sleep(0.002)
        if time.perf_counter() - start > 600:
            raise RuntimeError(f"consumer stalled at {done()} of {n}")
    return time.perf_counter() - start


def worker_env(node, root: str, group: str, batch: int) -> dict[str, str]:
    return {
        **os.environ,
        "ZHIXIAN_DATA_DIR": str(node.settings.data_dir),
        "ZHIXIAN_DATABASE_URL": node.settings.database_url,
        "ZHIXIAN_PERCEPTION_MQTT_TOPIC_ROOT": root,
        "ZHIXIAN_PERCEPTION_MQTT_SHARE_GROUP": group,
        "ZHIXIAN_PERCEPTION_BATCH_SIZE": str(batch),
        "ZHIXIAN_PERCEPTION_BATCH_MS": "100",
    }


def _ready(check, what: str, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} not ready")
        time.sleep(0.05)


def _refused(node) -> int:
    with node.db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(IngestCount.n), 0)).where(IngestCount.outcome == "unknown_device")
            ).scalar_one()
        )


def _probe(node, pub: Publisher, workers: int) -> None:
    """Waits until every worker process answers: probes for an unknown device are refused and counted."""
    start = _refused(node)
    deadline = time.perf_counter() + 120
    while _refused(node) - start < 4 * workers:
        pub.send("PROBE", "x", {"v": 1})
        time.sleep(0.25)
        if time.perf_counter() > deadline:
            raise RuntimeError("ingest workers not ready")
    time.sleep(1.0)  # a slow second worker may still be subscribing


def accepted(node) -> int:
    with node.db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(IngestCount.n), 0)).where(IngestCount.outcome == "accepted")
            ).scalar_one()
        )


def run_throughput(
    node, devices, n: int, workers: int, window: int, batch: int, per_message: int = 1
) -> dict[str, float]:
    """Readings per second (messages × per_message) of the bare subscriber and of the ingest workers."""
    tag = uuid.uuid4().hex[:8]
    root = f"zx-bench/{tag}"
    tmp = Path(tempfile.mkdtemp(prefix="zx-bench-bare-"))
    progress, stop = str(tmp / "count"), str(tmp / "stop")
    bare = mp.get_context("spawn").Process(target=bare_subscriber, args=(root, f"bare{tag}", progress, stop))
    bare.start()
    _ready(lambda: Path(progress).exists(), "bare subscriber")
    pub = Publisher(root)
    bare_s = pump(pub, devices, n, window, lambda: int(Path(progress).read_text() or 0), per_message)
    Path(stop).write_text("1")
    bare.join(10)
    root2 = f"zx-bench/{tag}-rules"
    pub2 = Publisher(root2)
    env = worker_env(node, root2, f"ingest{tag}", batch)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zhixian.cli",
                "perception",
                "ingest",
                "--report-every",
                "0",
                "--client-id",
                f"bench-{tag}-{w}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    _probe(node, pub2, workers)
    before = accepted(node)
    try:
        rules_s = pump(
            pub2, devices, n, window * workers, lambda: (accepted(node) - before) // (2 * per_message), per_message
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        pub.close()
        pub2.close()
    return {"bare": n * per_message / bare_s, "rules": n * per_message / rules_s}


def run_latency(node, devices, samples: int) -> list[float]:
    tag = uuid.uuid4().hex[:8]
    root = f"zx-bench/{tag}-lat"
    env = worker_env(node, root, f"lat{tag}", 500)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhixian.cli", "perception", "ingest", "--report-every", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pub = Publisher(root)
    _probe(node, pub, 1)
    out = []
    try:
        for i in range(samples):
            device_id, code, secret = devices[i]  # a device no other phase touched: no alarm active yet
            with node.db.engine.connect() as conn:
                last = conn.execute(select(func.coalesce(func.max(Alarm.id), 0))).scalar_one()
            t0 = time.perf_counter()
            pub.send(code, secret, {"v": 99.0, "battery": 80})
            while True:
                with node.db.engine.connect() as conn:
                    hit = conn.execute(
                        select(Alarm.id).where(
                            Alarm.device_id == device_id,
                            Alarm.type == "high",
                            Alarm.status == "active",
                            Alarm.id > last,
                        )
                    ).first()
                if hit:
                    out.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 10:
                    raise RuntimeError("no alarm within 10 s")
                time.sleep(0.002)
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(20)
        pub.close()
    return out


FILL_SQLITE = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
devices(id) AS (SELECT id FROM ps_device WHERE code >= 'B-' AND code < 'B-' || printf('%05d', :devices))
INSERT INTO ps_reading (device_id, key, ts, value)
SELECT devices.id, 'v',
       strftime('%Y-%m-%d %H:%M:%S', (:start_us + seq.i * :step_us) / 1000000, 'unixepoch')
         || printf('.%06d', (:start_us + seq.i * :step_us) % 1000000),
       50 + 20 * ((seq.i * 7 + devices.id) % 1000) / 1000.0
FROM devices, seq
"""
FILL_PG = """
INSERT INTO ps_reading (device_id, key, ts, value)
SELECT d.id, 'v', to_timestamp((CAST(:start_us AS bigint) + i * CAST(:step_us AS bigint)) / 1e6), 50 + 20 * ((i * 7 + d.id) % 1000) / 1000.0
FROM (SELECT id FROM ps_device WHERE code >= 'B-' AND code < 'B-' || lpad(CAST(:devices AS text), 5, '0') ORDER BY id) d,
     generate_series(0, :n - 1) i
"""
ROLL_SQLITE = """
INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax)
SELECT device_id, key, :s, strftime('%Y-%m-%d %H:%M:%S', unixepoch(ts) / :s * :s, 'unixepoch') || '.000000',
       count(*), sum(value), min(value), max(value)
FROM ps_reading WHERE device_id IN (SELECT id FROM ps_device WHERE code >= 'B-') AND ts < :end GROUP BY 1, 2, 4
"""
ROLL_PG = """
INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax)
SELECT device_id, key, :s, to_timestamp(floor(extract(epoch FROM ts) / :s) * :s),
       count(*), sum(value), min(value), max(value)
FROM ps_reading WHERE device_id IN (SELECT id FROM ps_device WHERE code >= 'B-') AND ts < :end GROUP BY 1, 2, 4
"""


def fill_readings(node, total: int, devices: int) -> tuple[datetime, datetime, float]:
    """``total`` readings of key ``v`` for the first ``devices`` bench devices, evenly over the last 30 days.

    Straight into the tables, not through ingest (10M readings through MQTT would take the whole run):
    the database generates the rows itself (SQLite: a recursive CTE, PostgreSQL: generate_series), then
    the 5-minute and hourly rollups are computed from them with one INSERT … SELECT … GROUP BY each —
    the same count/sum/min/max ingest keeps per bucket. The 30 days end at the last full hour but one, so
    no bucket is shared with what the ingest phases stored (the last half hour). Returns (start, end, seconds).
    """
    end = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=30)
    per_device = total // devices
    step_us = int((end - start).total_seconds() * 1e6) // per_device
    start_us = int(start.timestamp()) * 1_000_000
    pg = node.db.dialect == "postgresql"
    t0 = time.perf_counter()
    with node.db.engine.begin() as conn:
        params = {"n": per_device, "devices": devices, "start_us": start_us, "step_us": step_us}
        conn.execute(text(FILL_PG if pg else FILL_SQLITE), params)
        for seconds in store.ROLLUPS:
            until = end if pg else store.sqlite_ts(end)
            conn.execute(text(ROLL_PG if pg else ROLL_SQLITE), {"s": seconds, "end": until})
    if pg:
        with node.db.engine.connect() as conn:
            conn.execute(text("ANALYZE ps_reading"))
            conn.execute(text("ANALYZE ps_rollup"))
            conn.commit()
    return start, end, time.perf_counter() - t0


def run_chart(node, total: int, devices: int, runs: int = 50) -> dict[str, float]:
    """Fills ``total`` readings over 30 days for ``devices`` bench devices, then times one device's 30-day chart."""
    _, _, load_s = fill_readings(node, total, devices)
    now = utcnow()
    start = now - timedelta(days=30)
    with node.db.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Reading)).scalar_one()
        device_id = conn.execute(select(Device.id).where(Device.code == "B-00000")).scalar_one()
        own = conn.execute(select(func.count()).select_from(Reading).where(Reading.device_id == device_id)).scalar_one()
    times = []
    points = 0
    for _ in range(runs + 1):  # the first call (statement compilation, cold cache) is not counted
        with node.db.transaction() as session:
            t1 = time.perf_counter()
            s = readings.series(session, actor=ACTOR, device_id=device_id, key="v", start=start, end=now)
            times.append(time.perf_counter() - t1)
            points = len(s.points)
    times = times[1:]
    # the same chart without rollups: hourly averages computed from the raw readings (one run)
    t2 = time.perf_counter()
    with node.db.engine.connect() as conn:
        bucket = (
            func.strftime("%Y-%m-%d %H", Reading.ts)
            if node.db.dialect == "sqlite"
            else func.date_trunc("hour", Reading.ts)
        )
        raw = conn.execute(
            select(bucket, func.avg(Reading.value), func.min(Reading.value), func.max(Reading.value))
            .where(Reading.device_id == device_id, Reading.key == "v", Reading.ts >= start)
            .group_by(bucket)
        ).all()
    raw_s = time.perf_counter() - t2
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "load_s": load_s,
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": max(times) * 1000,
        "points": points,
        "raw_ms": raw_s * 1000,
        "raw_points": len(raw),
        "stored": stored,
        "own": own,
        "devices": devices,
        "runs": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument(
        "--window", type=int, default=800, help="outstanding messages per consumer (< Mosquitto's 1,000 queue)"
    )
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument(
        "--chart-readings", type=int, default=10_000_000, help="readings filled for the chart check (0: no chart check)"
    )
    ap.add_argument("--chart-devices", type=int, default=100, help="bench devices the chart readings are spread over")
    ap.add_argument("--skip-ingest", action="store_true", help="only the chart check (no throughput, no latency)")
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument(
        "--per-message", default="1", help="readings per MQTT message, comma-separated runs (1 = one reading each)"
    )
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared with other work)")
    for backend in args.backends.split(","):
        node = make_node(Path(tempfile.mkdtemp(prefix=f"zx-bench-ps-{backend}-")), backend)
        try:
            everything = setup_devices(node, args.devices + args.latency_samples)
            devices, spare = everything[: args.devices], everything[args.devices :]
            print(
                f"\n== {backend}: {args.devices} devices, {args.messages} messages × 2 values, rules: threshold/duration/repeat/rate"
            )
            for k in () if args.skip_ingest else (int(x) for x in args.per_message.split(",")):
                n = max(args.messages // k, len(devices))
                for w in (int(x) for x in args.workers.split(",")):
                    r = run_throughput(node, devices, n, w, args.window, args.batch, k)
                    print(
                        f"  {k} reading(s)/message, {n} messages, {w} ingest process(es): bare subscriber "
                        f"{r['bare']:8.0f} readings/s | ingest with rules {r['rules']:8.0f} readings/s "
                        f"({2 * r['rules']:.0f} values/s) = {r['rules'] / r['bare']:.0%} of bare"
                    )
            if not args.skip_ingest:
                lat = run_latency(node, spare, args.latency_samples)
                q = statistics.quantiles(lat, n=100, method="inclusive")
                print(
                    f"  publish→alarm committed: p50 {statistics.median(lat) * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
                    f"max {max(lat) * 1000:.0f} ms ({len(lat)} samples, batch wait 100 ms)"
                )
            if args.chart_readings:
                c = run_chart(node, args.chart_readings, min(args.chart_devices, args.devices))
                print(
                    f"  30-day chart of one device, {c['stored']:,} readings stored ({c['own']:,} its own, "
                    f"{c['devices']} devices; filled in the database in {c['load_s']:.0f} s): series p50 "
                    f"{c['p50_ms']:.1f} ms, p99 {c['p99_ms']:.1f} ms, max {c['max_ms']:.1f} ms over {c['runs']} runs, "
                    f"{c['points']} points | same chart from raw readings {c['raw_ms']:.0f} ms ({c['raw_points']} points)"
                )
        finally:
            dispose_node(node)


if __name__ == "__main__":
    main()
