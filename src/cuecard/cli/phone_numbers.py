"""`cuecard phone-numbers`: the operator registers the numbers an environment may use."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from cuecard.cli._common import ADMIN_PANEL, needs_server

phone_numbers = typer.Typer(
    help="Register phone numbers for an environment (agents pick them with PUT .../calling).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(phone_numbers, name="phone-numbers", rich_help_panel=ADMIN_PANEL)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


@phone_numbers.command("add")
@needs_server
def add(
    number: Annotated[str, typer.Argument(help="E.164, e.g. +15551234567.", show_default=False)],
    environment: Annotated[str, typer.Option("--environment", help="Environment name.")],
    direction: Annotated[
        Direction, typer.Option(help="Which calls the number carries.")
    ] = Direction.BOTH,
    label: Annotated[str | None, typer.Option(help="A note for humans.")] = None,
    country: Annotated[
        str | None, typer.Option(help="ISO country code (guessed from the number if left out).")
    ] = None,
) -> None:
    """Register a number and print its id."""
    from cuecard.calling import service
    from cuecard.cli import _server

    added = _server.run(
        _server.settings(),
        lambda uow: service.add_number(uow, environment, number, direction.value, label, country),
    )
    typer.echo(f"Registered {added.number} for environment {environment!r}.", err=True)
    typer.echo(added.id)


@phone_numbers.command("list")
@needs_server
def list_(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List numbers, the environment they belong to and the agents using them."""
    from cuecard.calling import service
    from cuecard.cli import _server

    found = _server.run(_server.settings(), lambda uow: service.list_numbers(uow, environment))
    if as_json:
        rows = [{"environment": env, **n.model_dump(mode="json")} for env, n in found]
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo("id\tnumber\tenvironment\tdirection\tlabel\tagents")
    for env, n in found:
        typer.echo(
            f"{n.id}\t{n.number}\t{env}\t{n.direction}\t{n.label or ''}\t{','.join(n.agent_ids)}"
        )


@phone_numbers.command("remove")
@needs_server
def remove(
    number: Annotated[str, typer.Argument(help="The number or its id.", show_default=False)],
) -> None:
    """Remove a number. Agents that used it lose it and go back to draft."""
    from cuecard.calling import service
    from cuecard.cli import _server

    removed = _server.run(_server.settings(), lambda uow: service.remove_number(uow, number))
    typer.echo(f"Removed {removed}.", err=True)
