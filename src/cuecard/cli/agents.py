"""`cuecard agents`: agents on a running server, over HTTP through `cuecard.client`.

Client commands: they never import the server. The client (and pydantic) is imported when a
command runs, not when the command line is built, so `--help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cuecard.cli._common import (
    AgentArg,
    AgentStatus,
    Json,
    Token,
    Url,
    client,
    fail,
    note,
    print_json,
)

if TYPE_CHECKING:
    from cuecard.client import Agent

app = typer.Typer(help="Agents on a running server.", no_args_is_help=True)


@app.command("list")
def agents_list(
    status: Annotated[AgentStatus | None, typer.Option(help="draft or published.")] = None,
    search: Annotated[str | None, typer.Option(help="Part of the name or label.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List agents (every page)."""
    with client(url, token) as api:
        found = list(api.agents.list(status=status, search=search))
    if as_json:
        print_json([a.model_dump(mode="json") for a in found])
        return
    typer.echo("id\tname\tstatus\ttrainings\tupdated_at")
    for a in found:
        typer.echo(f"{a.id}\t{a.name}\t{a.current_status}\t{_count(a)}\t{a.updated_at.isoformat()}")


def _count(agent: Agent) -> int:
    """All of its trainings; a Cuecard server embeds only the first ones."""
    return len(agent.trainings) if agent.trainings_count is None else agent.trainings_count


@app.command("get")
def agents_get(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Show one agent and its trainings."""
    with client(url, token) as api:
        agent = api.agents.get(agent_id)
    if as_json:
        print_json(agent.model_dump(mode="json"))
        return
    _print_agent(agent)


def _print_agent(agent: Agent) -> None:
    for name in ("id", "name", "label", "current_status", "is_ready_to_publish"):
        typer.echo(f"{name}: {getattr(agent, name)}")
    if agent.published_version is not None:
        typer.echo(f"published_version: {agent.published_version}")
    typer.echo(f"language: {agent.language}")
    typer.echo(f"description: {agent.description or ''}")
    typer.echo(f"trainings: {_count(agent)}")
    for t in agent.trainings:
        typer.echo(f"  {t.id}\t{t.node_id or '-'}\t{t.current_status}\t{t.subject}")
    if _count(agent) > len(agent.trainings):
        typer.echo(f"  … and {_count(agent) - len(agent.trainings)} more (cuecard trainings list)")
    voice = agent.voice or {}
    typer.echo(f"voice: {voice.get('label') or '-'}")
    numbers = ", ".join(str(n.get("number")) for n in agent.phone_numbers) or "-"
    typer.echo(f"calling: {agent.direction}, {numbers}")
    typer.echo(f"actions: {len(agent.actions)}")
    for a in agent.actions:
        typer.echo(f"  {a.get('id')}\t{a.get('node_id') or '-'}\t{a.get('current_status')}\t"
                   f"{a.get('type')}\t{a.get('name')}")  # fmt: skip


@app.command("create")
def agents_create(
    name: Annotated[str, typer.Option(help="The agent's name.", show_default=False)],
    description: Annotated[str | None, typer.Option(help="Its base prompt.")] = None,
    language: Annotated[str | None, typer.Option(help="e.g. en-US.")] = None,
    initial_message: Annotated[str | None, typer.Option(help="What it says first.")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any other setting as KEY=VALUE (YAML value), e.g. --set llm_temperature=0.3.",
            show_default=False,
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Create an agent (as a draft) and print its id."""
    import yaml

    settings: dict[str, Any] = {}
    for item in setting or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set takes KEY=VALUE, got {item!r}", 2)
        try:
            settings[key.strip()] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            settings[key.strip()] = raw
    for key, value in (
        ("description", description),
        ("language", language),
        ("initial_message", initial_message),
    ):
        if value is not None:
            settings[key] = value
    with client(url, token) as api:
        agent = api.agents.create(name, **settings)
    if as_json:
        print_json(agent.model_dump(mode="json"))
        return
    note(f"Created agent {agent.name!r} as a draft.")
    typer.echo(agent.id)


@app.command("publish")
def agents_publish(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Publish the agent's draft as its next version."""
    with client(url, token) as api:
        state = api.agents.publish(agent_id)
    if as_json:
        print_json(state.model_dump(mode="json"))
        return
    version = f" (version {state.version})" if state.version is not None else ""
    typer.echo(f"Agent {state.id} is {state.current_status}{version}.")


@app.command("unpublish")
def agents_unpublish(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Take the agent offline (back to draft); nothing is deleted."""
    with client(url, token) as api:
        state = api.agents.unpublish(agent_id)
    if as_json:
        print_json(state.model_dump(mode="json"))
        return
    typer.echo(f"Agent {state.id} is {state.current_status}.")
