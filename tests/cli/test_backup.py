"""`cuecard backup` and `cuecard restore`, run as an operator would, next to a running server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET, bearer
from tests.core.serving import CUECARD, cuecard_serve


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "data" / "cuecard.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    return path


def environ(database: Path | str) -> dict[str, str]:
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    return {**os.environ, "CUECARD_DATABASE_URL": url, "CUECARD_SECRET_KEY": SECRET}


def cuecard(database: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CUECARD, *args], env=environ(database), capture_output=True, text=True, timeout=120
    )


def first_token(database: Path) -> str:
    assert cuecard(database, "init").returncode == 0
    created = cuecard(database, "tokens", "create", "--environment", "default", "--json")
    assert created.returncode == 0, created.stderr
    token: str = json.loads(created.stdout)["token"]
    return token


def node_ids(base: str, token: str, agent_id: str) -> set[str]:
    url = f"{base}/api/v1/agents/{agent_id}/trainings"
    found = httpx.get(url, headers=bearer(token), timeout=30).json()["data"]
    return {t["node_id"] for t in found}


class TestBackupUnderLoad:
    async def test_restore_brings_back_every_write_acknowledged_before_the_backup(
        self, sqlite_db: Path, tmp_path: Path
    ) -> None:
        token = first_token(sqlite_db)
        backup_file = tmp_path / "backups" / "cuecard.db"
        acknowledged: list[str] = []
        attempted: set[str] = set()
        stop = asyncio.Event()

        with cuecard_serve(f"sqlite:///{sqlite_db}", tmp_path / "serve.log", workers=2) as base:
            async with httpx.AsyncClient(base_url=base, headers=bearer(token), timeout=30) as c:
                agent = (await c.post("/api/v1/agents", json={"name": "Busy"})).json()["data"]
                url = f"/api/v1/agents/{agent['id']}/trainings"

                async def writer(n: int) -> None:
                    i = 0
                    while not stop.is_set():
                        node_id = f"w{n}-{i}"
                        i += 1
                        attempted.add(node_id)
                        body = {"node_id": node_id, "subject": node_id, "instructions": "x" * 500}
                        response = await c.post(url, json=body)
                        if response.status_code == 200:
                            acknowledged.append(node_id)

                writers = [asyncio.create_task(writer(n)) for n in range(4)]
                while len(acknowledged) < 100:
                    await asyncio.sleep(0.02)
                before_backup = set(acknowledged)
                process = await asyncio.create_subprocess_exec(
                    CUECARD, "backup", str(backup_file), "--json",
                    env=environ(sqlite_db), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
                out, err = await process.communicate()
                after_backup = set(acknowledged)
                while len(acknowledged) < len(after_backup) + 50:
                    await asyncio.sleep(0.02)
                stop.set()
                await asyncio.gather(*writers)

            assert process.returncode == 0, err
            report = json.loads(out)
            assert report["path"] == str(backup_file) and report["bytes"] > 0
            assert report["schema_revision"]
            assert len(after_backup) > len(before_backup), "writes went on during the backup"
            refused = cuecard(sqlite_db, "restore", str(backup_file))

        assert refused.returncode == 1 and "in use" in refused.stderr
        restored = cuecard(sqlite_db, "restore", str(backup_file), "--json")
        assert restored.returncode == 0, restored.stderr
        with cuecard_serve(f"sqlite:///{sqlite_db}", tmp_path / "again.log") as base:
            found = node_ids(base, token, agent["id"])

        assert before_backup <= found  # every write acknowledged before the backup is back
        assert found <= attempted  # nothing that was never sent
        later = set(acknowledged) - after_backup
        assert later and not (later & found)  # the restore really replaced the database


class TestRefusals:
    def test_restore_refuses_a_file_that_is_not_a_database(
        self, sqlite_db: Path, tmp_path: Path
    ) -> None:
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"not sqlite at all" * 100)
        before = sqlite_db.read_bytes()

        result = cuecard(sqlite_db, "restore", str(junk))

        assert result.returncode == 2
        assert "is not a Cuecard database" in result.stderr
        assert sqlite_db.read_bytes() == before

    def test_backup_will_not_replace_a_file_without_force(
        self, sqlite_db: Path, tmp_path: Path
    ) -> None:
        target = tmp_path / "taken.db"
        target.write_text("keep me")

        refused = cuecard(sqlite_db, "backup", str(target))
        forced = cuecard(sqlite_db, "backup", str(target), "--force")

        assert refused.returncode == 2 and "--force" in refused.stderr
        assert forced.returncode == 0, forced.stderr
        assert target.read_bytes()[:15] == b"SQLite format 3"

    def test_postgres_gets_pg_dump_guidance_without_the_password(self, tmp_path: Path) -> None:
        url = "postgresql://app:s3cret-pass@db.internal:5433/cuecard"

        backup: Any = cuecard(url, "backup", str(tmp_path / "x.dump"))
        restore: Any = cuecard(url, "restore", str(tmp_path / "x.dump"))

        assert backup.returncode == 2 and restore.returncode == 2
        assert "pg_dump --format=custom" in backup.stderr
        assert "'postgresql://app@db.internal:5433/cuecard'" in backup.stderr
        assert "pg_restore" in restore.stderr
        assert "s3cret" not in backup.stderr + restore.stderr
