"""The `cuecard` command.

Two kinds of commands, shown apart in `cuecard --help`:
- server administration (init, serve, environments, tokens, config, backup, restore) works on the
  local database named by CUECARD_DATABASE_URL and calls the same service functions as the API;
- client commands talk to a running server over HTTP (see `cuecard.cli.remote`).
"""

from __future__ import annotations

from cuecard.cli import operations, remote
from cuecard.cli.admin import app

operations.register(app)
remote.register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
