"""Loads the demo county into a node, then lets every enabled subsystem add its own demo data."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.demo.county import DemoCounty, generate
from zhixian.platform import auth, org
from zhixian.platform.actor import system_actor
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.platform.models import Role, User
from zhixian.platform.schemas import DepartmentIn, DivisionIn, OrgBundle
from zhixian.settings import Settings

if TYPE_CHECKING:
    from zhixian.app import Node


@dataclass
class DemoContext:
    """What a subsystem's seed hook gets: the generated county and a seeded random source of its own."""

    county: DemoCounty
    seed: int
    settings: Settings
    cipher: FieldCipher
    password: str
    notes: list[str] = field(default_factory=list)

    def rng(self, purpose: str) -> random.Random:
        """Independent streams per purpose, so adding data to one subsystem leaves others unchanged."""
        return random.Random(f"{self.seed}:{purpose}")


def load_platform(session: Session, ctx: DemoContext) -> list[tuple[str, str, str]]:
    county = ctx.county
    actor = system_actor(frozenset({"platform.org.manage", "platform.scope.county"}))
    bundle = OrgBundle(
        divisions=[
            DivisionIn(
                code=d.code,
                name=d.name,
                level=d.level,
                kind=d.kind,
                parent_code=d.parent_code,
            )
            for d in county.divisions
        ],
        departments=[
            DepartmentIn(
                code=d.code,
                name=d.name,
                short_name=d.short_name,
                kind=d.kind,
                parent_code=d.parent_code,
                division_code=d.division_code,
            )
            for d in county.departments
        ],
    )
    org.import_bundle(session, bundle=bundle, actor=actor)
    depts = {d.code: d for d in org.list_departments(session, include_inactive=True)}
    roles = {r.code: r for r in session.execute(select(Role)).scalars()}
    existing = {u.username: u for u in session.execute(select(User)).scalars()}
    # one argon2 hash shared by all demo accounts: they share the password anyway, and 100 hashes cost seconds
    password_hash = auth.hash_password(ctx.password)
    accounts = []
    for row in county.users:
        user = existing.get(row.username)
        if user is None:
            user = User(
                username=row.username,
                full_name=row.full_name,
                department_id=depts[row.department_code].id,
                password_hash=password_hash,
            )
            session.add(user)
        user.full_name = row.full_name
        user.department_id = depts[row.department_code].id
        user.password_hash = password_hash
        user.must_change_password = False  # demo accounts are for trying the platform at once
        user.failed_logins, user.locked_until, user.active = 0, None, True
        user.phone_enc = ctx.cipher.encrypt(row.phone)
        user.phone_masked = mask_phone(row.phone)
        user.roles = [roles[c] for c in row.roles if c in roles]
        accounts.append((row.username, ",".join(row.roles), depts[row.department_code].name))
    session.flush()
    return accounts


def run(node: Node, *, seed: int, password: str) -> list[tuple[str, str, str]]:
    auth.check_password(password, settings=node.settings)
    ctx = DemoContext(
        county=generate(seed=seed, county_code=node.settings.county_code, county_name=node.settings.county_name),
        seed=seed,
        settings=node.settings,
        cipher=node.cipher,
        password=password,
    )
    with node.db.transaction() as session:
        accounts = load_platform(session, ctx)
    for sub in node.registry.enabled.values():
        if sub.seed is not None:
            with node.db.transaction() as session:
                sub.seed(session, ctx)
    return accounts
