"""城市感知 tests: devices of their own on the session's demo county, MQTT through the real local Mosquitto.

MQTT tests commit for real (ingest workers run in threads with their own sessions), so each test makes
its own profile and devices under fresh codes, and its own topic root and share group, so parallel test
processes sharing the broker never see each other's messages.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from zhixian.app import Node
from zhixian.clock import utcnow
from zhixian.perception.sensors import devices
from zhixian.perception.sensors.models import Device, Profile, Rule
from zhixian.perception.sensors.mqtt import IngestWorker, telemetry_topic
from zhixian.perception.sensors.schemas import DeviceIn
from zhixian.platform.actor import COUNTY_SCOPE, system_actor
from zhixian.settings import Settings

MANAGER = system_actor(
    frozenset({COUNTY_SCOPE, "perception.view", "perception.device.manage", "perception.profile.manage"})
)


def broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def mqtt_settings(node: Node) -> Settings:
    """The node's settings with a topic root and share group of this test's own."""
    if not broker_up():
        pytest.fail("本地 Mosquitto（127.0.0.1:1883）未运行：城市感知的接入测试必须经过真实的 MQTT 代理")
    tag = uuid.uuid4().hex[:10]
    tables = {
        **node.settings.subsystems,
        "perception": {"mqtt_topic_root": f"zx-test/{tag}", "mqtt_share_group": f"g{tag}", "batch_ms": 50},
    }
    return node.settings.model_copy(update={"subsystems": tables})


@pytest.fixture
def workers(node: Node, mqtt_settings: Settings) -> Iterator[Callable[[int], list[IngestWorker]]]:
    started: list[IngestWorker] = []

    def start(n: int = 1) -> list[IngestWorker]:
        new = [
            IngestWorker(node.db, mqtt_settings, client_id=f"zx-test-{uuid.uuid4().hex[:8]}", session_expiry=0).start()
            for _ in range(n)
        ]
        started.extend(new)
        time.sleep(0.3)  # the subscription is in place before anyone publishes
        return new

    yield start
    for w in started:
        w.stop()


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"zx-test-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def send(self, code: str, payload: dict[str, Any] | bytes, *, qos: int = 1) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        self.client.publish(telemetry_topic(self.settings, code), body, qos=qos).wait_for_publish(10)

    def reading(self, device: Any, values: dict[str, Any], ts: datetime | None = None) -> None:
        when = ts or utcnow()
        self.send(device.code, {"token": device.secret, "ts": int(when.timestamp() * 1000), "values": values})

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def publisher(mqtt_settings: Settings) -> Iterator[Publisher]:
    pub = Publisher(mqtt_settings)
    yield pub
    pub.close()


class TestDevice:
    __test__ = False

    def __init__(self, id: int, code: str, secret: str, grid_code: str | None, profile_id: int) -> None:
        self.id, self.code, self.secret, self.grid_code, self.profile_id = id, code, secret, grid_code, profile_id


@pytest.fixture
def make_device(node: Node) -> Callable[..., TestDevice]:
    """A device of a fresh profile with the given rules (each test its own, committed)."""

    def make(
        rules: list[dict[str, Any]],
        *,
        telemetry: list[dict[str, Any]] | None = None,
        case_class_code: str = "",
        component_code: str | None = None,
        where: tuple[float, float] | None = None,
        dept: str = "zjj",
        profile_extra: dict[str, Any] | None = None,
    ) -> TestDevice:
        tag = uuid.uuid4().hex[:8]
        with node.db.transaction() as session:
            profile = Profile(
                code=f"t{tag}",
                name=f"测试类型{tag}",
                telemetry=telemetry or [{"key": "v", "name": "读数", "unit": "m", "min": -100, "max": 100}],
                offline_minutes=30,
                case_class_code=case_class_code,
                maintenance_class_code="B0801",
                **(profile_extra or {}),
            )
            session.add(profile)
            session.flush()
            for r in rules:
                session.add(Rule(profile_id=profile.id, **r))
            from zhixian.platform import service as platform

            dept_row = platform.department_by_code(session, dept)
            assert dept_row is not None
            if where is None:
                import shapely

                from zhixian.citymgmt import service as citymgmt

                _code, wkt = citymgmt.grid_outlines(session)[7]
                p = shapely.from_wkt(wkt).representative_point()
                where = (p.x, p.y)
            device, secret = devices.create_device(
                session,
                actor=MANAGER,
                data=DeviceIn(
                    code=f"T-{tag}",
                    name=f"测试设备{tag}",
                    profile_id=profile.id,
                    department_id=dept_row.id,
                    lon=where[0],
                    lat=where[1],
                    component_code=component_code,
                ),
            )
            return TestDevice(device.id, device.code, secret, device.grid_code, profile.id)

    return make


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "条件") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{timeout} 秒内未满足：{what}")


def stored(node: Node, device_id: int) -> int:
    """How many readings the platform has evaluated for a device (its state's counter)."""
    from zhixian.perception.sensors.models import DeviceState

    with node.db.transaction() as session:
        return int(
            session.execute(select(DeviceState.readings).where(DeviceState.device_id == device_id)).scalar() or 0
        )


def device_row(node: Node, device_id: int) -> Device:
    with node.db.transaction() as session:
        row = session.get(Device, device_id)
        assert row is not None
        return row
