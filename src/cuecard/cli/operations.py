"""Operating a server: its effective settings, and backups of its database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from cuecard.cli._common import ADMIN_PANEL, CONFIG_FILE, Json, fail, needs_server, print_json

config = typer.Typer(help="Inspect the server's settings.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config, name="config", rich_help_panel=ADMIN_PANEL)
    app.command("backup", rich_help_panel=ADMIN_PANEL)(backup)
    app.command("restore", rich_help_panel=ADMIN_PANEL)(restore)


@config.command("show")
@needs_server
def config_show(as_json: Json = False) -> None:
    """Print the effective settings (secrets as ***) and where each one came from."""
    from cuecard.core.config import ConfigError, env_name, load

    try:
        settings, origins = load(config_file=CONFIG_FILE[0] if CONFIG_FILE else None)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    shown = settings.masked()
    if as_json:
        print_json(shown)
        return
    for name, value in shown.items():
        origin = origins.get(name, f"default; set with {env_name(name)}")
        typer.echo(f"{name} = {_toml(value)}  # {origin}")


def _toml(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


Target = Annotated[Path, typer.Argument(help="The backup file.", show_default=False)]


@needs_server
def backup(
    path: Target,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    as_json: Json = False,
) -> None:
    """Copy the SQLite database to PATH while servers keep running (PostgreSQL: pg_dump)."""
    from cuecard.cli import _server
    from cuecard.core import backup as backups

    settings = _server.settings()
    source = settings.sqlite_path
    if source is None:
        dump, _ = backups.pg_commands(settings.database_url, str(path))
        raise fail(f"on PostgreSQL, back up with pg_dump (see docs/deploy.md):\n    {dump}", 2)
    try:
        info = backups.backup(source, path, overwrite=force)
    except backups.BackupError as exc:
        raise fail(str(exc), 2 if path.exists() and not force else 1) from None
    if as_json:
        print_json(dataclasses.asdict(info))
        return
    typer.echo(f"Backed up {source} to {info.path} ({info.bytes:,} bytes).", err=True)


@needs_server
def restore(path: Target, as_json: Json = False) -> None:
    """Replace the SQLite database with the backup at PATH. Refuses while a server has it open."""
    from cuecard.cli import _server
    from cuecard.core import backup as backups

    settings = _server.settings()
    target = settings.sqlite_path
    if target is None:
        _, load_back = backups.pg_commands(settings.database_url, str(path))
        raise fail(
            f"on PostgreSQL, restore with pg_restore (see docs/deploy.md):\n    {load_back}", 2
        )
    try:
        info = backups.restore(path, target)
    except backups.DatabaseInUse as exc:
        raise fail(str(exc), 1) from None
    except backups.BackupError as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        print_json(dataclasses.asdict(info))
        return
    typer.echo(
        f"Restored {target} from {path} (schema {info.schema_revision}). "
        "Run `cuecard init` if this backup is older than the installed version.",
        err=True,
    )
