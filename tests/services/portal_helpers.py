"""Signing a person in to the citizen portal over HTTP, reading the code from the file sender's outbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Client, LiveServer
from zhixian.integration.models import Person

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHALLENGE = re.compile(r'name="challenge" value="([^"]+)"')
CODE = re.compile(r"验证码 (\d{6})")
HTML = {"Accept": "text/html"}


def outbox(node) -> Path:
    return Path(node.settings.data_dir) / "outbox" / "sms.log"


def sent_lines(node) -> list[dict]:
    path = outbox(node)
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def start(client: Client, name: str, key: str, phone: str = "13800138000"):
    page = client.get("/portal/login", headers=HTML)
    token = CSRF.search(page.text).group(1)
    return client.post(
        "/portal/login",
        data={"csrf_token": token, "name": name, "id_number": key, "phone": phone},
        headers=HTML,
    )


def last_code(node) -> str:
    return CODE.search(sent_lines(node)[-1]["text"]).group(1)


def send_code(client: Client, resp, code: str):
    token = CSRF.search(resp.text).group(1)
    challenge = CHALLENGE.search(resp.text).group(1)
    return client.post(
        "/portal/login/code",
        data={"csrf_token": token, "challenge": challenge, "code": code},
        headers=HTML,
        follow_redirects=False,
    )


def citizen(server: LiveServer, node, name: str, key: str, phone: str = "13800138000") -> Client:
    """A client signed in to the portal as this person, its CSRF header set from the session's pages."""
    client = Client(base_url=server.url, timeout=30)
    resp = start(client, name, key, phone)
    assert resp.status_code == 200, resp.text
    done = send_code(client, resp, last_code(node))
    assert done.status_code == 303, done.text
    me = client.get("/portal/me", headers=HTML)
    assert me.status_code == 200, me.text
    client.headers["X-CSRF-Token"] = CSRF.search(me.text).group(1)
    return client


def people(db: Session, cipher, n: int = 2) -> list[tuple[str, str, Person]]:
    """Demo people with a valid ID number, a name and an address: (ID number, name, row)."""
    from zhixian.services.licences import service as licences

    out = []
    for p in db.execute(select(Person).where(Person.name != "", Person.address != "").order_by(Person.id)).scalars():
        key = cipher.decrypt(p.id_enc, index=p.id_index)
        try:
            licences.holder_key("person", key, "k")
        except Exception:  # noqa: BLE001 - the demo population holds a few invalid numbers on purpose
            continue
        out.append((key, p.name, p))
        if len(out) == n:
            return out
    raise AssertionError("not enough people in the demo county")
