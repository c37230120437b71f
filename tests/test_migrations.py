"""Migrations are the schema: up, down and up again on both databases, and no drift."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cuecard.core.migrate import check, downgrade, upgrade
from tests.conftest import _admin, _run_async


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    session_url: str = request.getfixturevalue("postgres_url")
    base, _, _ = session_url.rpartition("/")
    name = f"cuecard_migrations_{os.getpid()}"
    _run_async(_admin(session_url, f"DROP DATABASE IF EXISTS {name}"))
    _run_async(_admin(session_url, f"CREATE DATABASE {name}"))
    yield f"{base}/{name}"
    _run_async(_admin(session_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


class TestMigrations:
    def test_upgrade_downgrade_upgrade(self, scratch_url: str) -> None:
        upgrade(scratch_url)
        downgrade(scratch_url, "base")
        upgrade(scratch_url)

        check(scratch_url)  # raises if models and the migrated schema disagree

    def test_models_match_the_migrations(self, scratch_url: str) -> None:
        upgrade(scratch_url)

        check(scratch_url)
