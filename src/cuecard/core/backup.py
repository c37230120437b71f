"""Backing up and restoring the SQLite database (`cuecard backup`, `cuecard restore`).

A backup uses SQLite's online backup API, so it is safe while servers write: it copies one
consistent snapshot (every transaction committed before the copy began, none half-done) into a
temporary file beside the target, checks it, and only then renames it into place.

A restore refuses to overwrite a database that any process has open: it takes SQLite's exclusive
lock first (a running server's connections make that fail at once), and keeps it until the copy is
done, so a server starting meanwhile waits instead of reading a half-written file.

PostgreSQL has its own tools; `pg_commands` says which to run.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class BackupError(Exception):
    """The backup or restore did not happen; the message says why (nothing was changed)."""


class DatabaseInUse(BackupError):
    pass


@dataclass(frozen=True)
class BackupInfo:
    path: str
    bytes: int
    schema_revision: str | None


def backup(source: Path, target: Path, *, overwrite: bool = False) -> BackupInfo:
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (has `cuecard init` run?)")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; use --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup must go to another file than the database")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
            src.execute("PRAGMA busy_timeout=10000")
            src.backup(dst)  # one step: a snapshot, while writers carry on (WAL)
            # A backup is one self-contained file: no -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        info = inspect(partial)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(str(target), target.stat().st_size, info.schema_revision)


def inspect(path: Path) -> BackupInfo:
    """Checks that `path` is an intact Cuecard database; raises BackupError if not."""
    if not path.is_file():
        raise BackupError(f"there is no file at {path}")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise BackupError(f"{path} is damaged: {check[0] if check else 'no answer'}")
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a Cuecard database ({exc})") from None
    return BackupInfo(str(path), path.stat().st_size, revision[0] if revision else None)


def restore(backup_file: Path, target: Path) -> BackupInfo:
    info = inspect(backup_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(target, isolation_level=None)) as dst:
            dst.execute("PRAGMA busy_timeout=0")
            # Exclusive locking mode keeps the lock from here until the connection closes. Leaving
            # WAL needs every other connection gone: a running server makes this fail.
            dst.execute("PRAGMA locking_mode=EXCLUSIVE")
            dst.execute("PRAGMA journal_mode=DELETE")
            dst.execute("BEGIN EXCLUSIVE")
            dst.execute("COMMIT")
            with closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as src:
                src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseInUse(
                f"{target} is in use (a server or another command has it open); stop every "
                "`cuecard serve` on it first. Nothing was changed."
            ) from None
        raise BackupError(f"restore failed: {exc}") from None
    return BackupInfo(str(target), target.stat().st_size, info.schema_revision)


def pg_commands(database_url: str, path: str) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for a PostgreSQL URL (password left out: give it in
    PGPASSWORD or ~/.pgpass, never on a command line)."""
    parts = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return (
        f"pg_dump --format=custom --file={path} '{url}'",
        f"pg_restore --clean --if-exists --single-transaction --dbname='{url}' {path}",
    )
