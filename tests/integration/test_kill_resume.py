"""A real kill: `zhixian integration run` is SIGKILLed mid-run, then resumed; counts match a reference."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tests.conftest import dispose_node, make_node
from zhixian.catalog.models import Resource
from zhixian.integration import demo, file_sources, holding, load_context, pipeline, service
from zhixian.integration.models import Person, QuarantineRow, Run
from zhixian.integration.schemas import MappingIn
from zhixian.platform.models import User
from zhixian.platform.service import actor_for

ROWS = 24_000


def _reference(session, node, path: Path, resource: Resource) -> dict[str, int]:
    """What an uninterrupted run must report, computed independently row by row: a bad row met before
    in the file and a row identical (once normalised) to one met before are duplicates; a row repeating
    an ID number with other values is held as a same-key conflict."""
    checker = pipeline.make_checker(session, resource, demo.PEOPLE_MAPPING, "330421")
    existing = set(session.execute(select(Person.id_index)).scalars())
    first: dict[str, str] = {}
    bad: set[str] = set()
    held: set[tuple[str, str]] = set()
    out = dict.fromkeys(("read", "loaded", "quarantined", "duplicates", "key_conflicts", "existing"), 0)
    opened = pipeline.files.open_csv(path, "utf-8-sig", ",")
    for _, raw in opened.rows:
        out["read"] += 1
        clean, errors = checker.check(raw)
        if errors:
            fingerprint = holding.fingerprint(resource.id, raw)
            out["duplicates" if fingerprint in bad else "quarantined"] += 1
            bad.add(fingerprint)
            continue
        key = node.cipher.blind_index(clean["id_number"])
        digest = load_context.content_hash(clean)
        if key in first:
            if first[key] == digest or (key, digest) in held:
                out["duplicates"] += 1
            else:
                out["key_conflicts"] += 1
                held.add((key, digest))
            continue
        first[key] = digest
        out["existing" if key in existing else "loaded"] += 1
    return out


def test_sigkilled_run_resumes_to_the_reference_counts(tmp_path: Path) -> None:
    node = make_node(tmp_path / "node", "sqlite")
    try:
        villages = [(c, n) for c, n in demo.villages_from(node)]
        path = demo.write_file(
            tmp_path / "people.csv", demo.PEOPLE_COLUMNS, demo.people_rows(random.Random(11), ROWS, villages, "330421")
        )
        with node.db.transaction() as session:
            officer = session.execute(select(User).where(User.username == "gaj_officer")).scalar_one()
            actor = actor_for(officer, ip="127.0.0.1")
            resource = session.execute(select(Resource).where(Resource.base_library == "人口")).scalar_one()
            with path.open("rb") as stream:
                source = file_sources.create_file_source(
                    session,
                    actor=actor,
                    settings=node.settings,
                    name="kill",
                    resource_id=resource.id,
                    filename="people.csv",
                    stream=stream,
                )
            service.set_mapping(session, actor=actor, source_id=source.id, data=MappingIn(columns=demo.PEOPLE_MAPPING))
            sid = source.id
            expected = _reference(session, node, path, resource)
            persons_before = session.execute(select(func.count()).select_from(Person)).scalar_one()
        node.db.engine.dispose()

        env = {**os.environ, "ZHIXIAN_DATA_DIR": str(node.settings.data_dir)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "zhixian.cli", "integration", "run", str(sid)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        watcher = create_engine(node.settings.effective_database_url)
        deadline = time.monotonic() + 120
        checkpoint = 0
        while time.monotonic() < deadline and proc.poll() is None:
            with watcher.connect() as conn:
                checkpoint = conn.execute(text("SELECT max(checkpoint) FROM integration_run")).scalar() or 0
            if checkpoint >= 6000:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        proc.wait(timeout=30)
        watcher.dispose()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode() if proc.stderr else ""
        assert 6000 <= checkpoint < ROWS

        with node.db.transaction() as session:
            run = session.execute(select(Run).where(Run.source_id == sid)).scalar_one()
            assert run.status == "running"
            assert run.checkpoint % 2000 == 0  # only whole batches were committed
            run_id = run.id
        pipeline.execute(node.db, node.cipher, run_id, county_code="330421", data_dir=node.settings.data_dir)
        with node.db.transaction() as session:
            run = session.get(Run, run_id)
            assert run is not None
            assert run.status == "succeeded"
            assert run.read == expected["read"] == ROWS
            assert run.loaded == expected["loaded"]
            assert run.quarantined == expected["quarantined"]
            assert run.duplicates == expected["duplicates"]
            assert run.key_conflicts == expected["key_conflicts"]
            assert run.updated + run.unchanged == expected["existing"]
            persons = session.execute(select(func.count()).select_from(Person)).scalar_one()
            assert persons == persons_before + expected["loaded"]
            n_quarantine = session.execute(
                select(func.count()).select_from(QuarantineRow).where(QuarantineRow.source_id == sid)
            ).scalar_one()
            assert n_quarantine == expected["quarantined"] + expected["key_conflicts"]
    finally:
        dispose_node(node)
