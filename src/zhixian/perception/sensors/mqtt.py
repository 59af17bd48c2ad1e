"""The MQTT ingest worker: a shared subscription on the broker, batches written in one transaction each.

Each worker subscribes to ``$share/<group>/<root>/+/telemetry``; the broker hands every message to one
member of the group, so a county that needs more throughput starts another ``zhixian perception
ingest`` process (on this or another server) and changes nothing else. Rule state is in the database,
so it does not matter which worker gets which reading.

Messages are acknowledged (QoS 1 PUBACK) only after their batch is committed: a worker that dies
mid-batch leaves them unacknowledged and the broker delivers them again; the readings' primary key
makes the redelivery harmless. The MQTT 5 Receive Maximum lets enough messages be in flight to fill a
batch while the previous one is written.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from zhixian.clock import utcnow
from zhixian.db import Database
from zhixian.perception import settings as conf
from zhixian.perception.sensors import ingest
from zhixian.settings import Settings

log = logging.getLogger("zhixian.perception")
_SERIAL = itertools.count(1)


def telemetry_topic(settings: Settings, device_code: str) -> str:
    return f"{settings.declared(conf.MQTT_TOPIC_ROOT).rstrip('/')}/{device_code}/telemetry"


def subscription(settings: Settings) -> str:
    root = settings.declared(conf.MQTT_TOPIC_ROOT).rstrip("/")
    return f"$share/{settings.declared(conf.MQTT_SHARE_GROUP)}/{root}/+/telemetry"


def client(settings: Settings, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    user = settings.declared(conf.MQTT_USERNAME)
    if user:
        c.username_pw_set(user, settings.declared(conf.MQTT_PASSWORD))
    return c


@dataclass
class Stats:
    messages: int = 0
    accepted: int = 0
    refused: int = 0
    batches: int = 0
    failures: int = 0
    alarms: int = 0
    started: float = field(default_factory=time.monotonic)


class IngestWorker:
    """One member of the shared subscription: a paho network thread feeding a batch-writing thread."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        client_id: str | None = None,
        session_expiry: int = 300,
    ) -> None:
        self.db, self.settings = db, settings
        self.client_id = client_id or f"zhixian-ingest-{socket.gethostname()}-{os.getpid()}-{next(_SERIAL)}"
        self.session_expiry = session_expiry
        self.batch_size = settings.declared(conf.BATCH_SIZE)
        self.batch_wait = settings.declared(conf.BATCH_MS) / 1000
        self.qos = settings.declared(conf.MQTT_QOS)
        self.limits = ingest.Limits.from_settings(settings)
        self.cache = ingest.DeviceCache()
        self.stats = Stats()
        self.connected = threading.Event()
        self._queue: collections.deque[ingest.Message] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._prefix = settings.declared(conf.MQTT_TOPIC_ROOT).rstrip("/") + "/"
        self._client = client(settings, self.client_id, manual_ack=self.qos > 0)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._thread = threading.Thread(target=self._run, name=f"ingest-{self.client_id}", daemon=True)

    # --- network thread

    def _on_connect(self, c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT 连接被拒绝：%s", reason)
            return
        c.subscribe(subscription(self.settings), qos=self.qos)
        self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        code = topic[len(self._prefix) : -len("/telemetry")] if topic.startswith(self._prefix) else ""
        self._queue.append(
            ingest.Message(
                device_code=code,
                payload=bytes(msg.payload),
                channel="mqtt",
                received=utcnow(),
                ack=(msg.mid, msg.qos),
                arrived=time.monotonic(),
            )
        )
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    # --- lifecycle

    def start(self, *, wait: float = 10.0) -> IngestWorker:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho is untyped here
        props.ReceiveMaximum = min(65_535, max(100, self.batch_size * 4))
        props.SessionExpiryInterval = self.session_expiry
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(
            self.settings.declared(conf.MQTT_HOST),
            self.settings.declared(conf.MQTT_PORT),
            keepalive=30,
            clean_start=self.session_expiry == 0,
            properties=props,
        )
        self._client.loop_start()
        self._thread.start()
        if wait and not self.connected.wait(wait):
            log.warning("MQTT 代理 %s 暂不可达，将自动重连", self.settings.declared(conf.MQTT_HOST))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops taking messages, writes what is queued, then disconnects."""
        self._client.unsubscribe(subscription(self.settings))
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- batch thread

    def _take(self) -> list[ingest.Message]:
        """Up to a batch: at once when the queue holds one or its oldest message has waited the batch wait
        (behind a long batch it already has), else what arrives until then."""
        if len(self._queue) < self.batch_size and not self._stop.is_set():
            wait = self.batch_wait
            if self._queue:
                wait -= time.monotonic() - self._queue[0].arrived
            if wait > 0:
                self._wake.wait(wait)
        self._wake.clear()
        batch: list[ingest.Message] = []
        while self._queue and len(batch) < self.batch_size:
            batch.append(self._queue.popleft())
        return batch

    def _run(self) -> None:
        while not (self._stop.is_set() and not self._queue):
            batch = self._take()
            if batch:
                self.process(batch)

    def process(self, batch: list[ingest.Message]) -> None:
        for attempt in range(5):
            try:
                with self.db.transaction() as session:
                    result = ingest.process(session, batch, cache=self.cache, limits=self.limits)
                break
            except Exception:  # the database went away, a deadlock: wait and try the same batch again
                self.stats.failures += 1
                log.exception("写入批次失败（第 %d 次），稍后重试", attempt + 1)
                self.cache = ingest.DeviceCache()
                time.sleep(min(5.0, 0.2 * 2**attempt))
        else:
            log.error("批次 %d 条消息五次写入失败，未确认，代理将重新投递", len(batch))
            return
        for msg in batch:
            if msg.ack and msg.ack[1] > 0:
                self._client.ack(*msg.ack)
        self.stats.messages += len(batch)
        self.stats.accepted += result.accepted
        self.stats.refused += result.refused
        self.stats.alarms += result.effects
        self.stats.batches += 1


_IN_PROCESS: dict[int, IngestWorker] = {}
_LOCK = threading.Lock()


def ensure_in_process(db: Database, settings: Settings) -> IngestWorker | None:
    """For the one-server default: one worker thread in this process, restarted if it died."""
    if not settings.declared(conf.INGEST_IN_PROCESS):
        return None
    with _LOCK:
        worker = _IN_PROCESS.get(id(db))
        if worker is None or not worker.alive:
            worker = IngestWorker(db, settings, client_id=f"zhixian-web-{socket.gethostname()}-{os.getpid()}").start(
                wait=0
            )
            _IN_PROCESS[id(db)] = worker
        return worker
