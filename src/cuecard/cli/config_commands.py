"""Client commands for an agent's configuration: `cuecard agents knowledge|voice|calling|
advanced|eligibility|voice-templates|numbers` and `cuecard actions ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cuecard.cli._common import (
    CLIENT_PANEL,
    AgentArg,
    AgentOption,
    Json,
    Token,
    Url,
)
from cuecard.cli._common import client as _client
from cuecard.cli._common import fail as _fail
from cuecard.cli._common import note as _note
from cuecard.cli._common import print_json as _print_json
from cuecard.cli.agents import app as agents

actions = typer.Typer(help="An agent's actions (webhooks, transfers, holds).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(actions, name="actions", rich_help_panel=CLIENT_PANEL)


def _dump(value: Any, as_json: bool) -> None:
    if as_json:
        _print_json(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)


@agents.command("knowledge")
def agents_knowledge(
    agent_id: AgentArg,
    description: Annotated[str | None, typer.Option(help="The base prompt (min 5).")] = None,
    initial_message: Annotated[str | None, typer.Option(help="What it says first.")] = None,
    interrupt_sensitivity: Annotated[str | None, typer.Option(help="low, medium, high.")] = None,
    ask_if_human_present: Annotated[
        bool | None, typer.Option("--ask-if-human-present/--no-ask-if-human-present")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="LLM temperature, 0-2.")] = None,
    initial_message_delay: Annotated[int | None, typer.Option(help="Seconds, 0-60.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Update knowledge (PUT); options left out keep the agent's current values."""
    with _client(url, token) as client:
        current = client.agents.get(agent_id)
        fields = {
            "description": description if description is not None else current.description,
            "initial_message": initial_message,
            "interrupt_sensitivity": interrupt_sensitivity or current.interrupt_sensitivity,
            "ask_if_human_present_on_idle": current.ask_if_human_present_on_idle
            if ask_if_human_present is None
            else ask_if_human_present,
            "llm_temperature": current.llm_temperature if temperature is None else temperature,
            "initial_message_delay": current.initial_message_delay
            if initial_message_delay is None
            else initial_message_delay,
        }
        agent = client.agent_config.update_knowledge(agent_id, **fields)
    _dump(agent, as_json)
    if not as_json:
        typer.echo(f"Agent {agent.id} knowledge updated; it is {agent.current_status}.")


@agents.command("voice")
def agents_voice(
    agent_id: AgentArg,
    voice_id: Annotated[str, typer.Option(help="A voice template id (see voice-templates).")],
    speed: Annotated[float, typer.Option(help="Conversation speed, >1 and <2.")],
    who_speaks_first: Annotated[str, typer.Option(help="agent or user.")] = "agent",
    language: Annotated[str | None, typer.Option(help="e.g. pt-BR.")] = None,
    stability: Annotated[float | None, typer.Option(help="0.5-1 (pro/ultra voices).")] = None,
    similarity: Annotated[float | None, typer.Option(help="0.5-1 (pro/ultra voices).")] = None,
    ambient_background: Annotated[str | None, typer.Option(help="e.g. office.")] = None,
    ambient_volume: Annotated[float | None, typer.Option(help="0-2.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Set the agent's voice (PUT .../voice)."""
    with _client(url, token) as client:
        agent = client.agent_config.update_voice(
            agent_id, voice_id=voice_id, conversation_speed=speed,
            who_speaks_first=who_speaks_first, language=language, stability=stability,
            similarity=similarity, ambient_background=ambient_background,
            ambient_volume=ambient_volume,
        )  # fmt: skip
    _dump(agent, as_json)
    if not as_json:
        typer.echo(f"Agent {agent.id} speaks with {(agent.voice or {}).get('label')}.")


@agents.command("calling")
def agents_calling(
    agent_id: AgentArg,
    direction: Annotated[str, typer.Option(help="inbound or outbound.")],
    phone_number: Annotated[
        list[str] | None, typer.Option("--phone-number", help="A number id (repeat for more).")
    ] = None,
    keep_numbers: Annotated[
        bool, typer.Option("--keep-numbers", help="Keep the agent's numbers.")
    ] = False,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Set the direction and the numbers (PUT .../calling); no --phone-number clears them."""
    ids = None if keep_numbers else list(phone_number or [])
    with _client(url, token) as client:
        state = client.agent_config.update_calling(agent_id, direction, ids)
    _dump(state, as_json)
    if not as_json:
        numbers = ", ".join(n["number"] for n in state.phone_numbers) or "no numbers"
        typer.echo(f"Agent {state.id}: {state.direction}, {numbers}.")


@agents.command("advanced")
def agents_advanced(
    agent_id: AgentArg,
    cache: Annotated[bool, typer.Option("--initial-message-cache/--no-initial-message-cache")],
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Turn the initial-message cache (optimized costs) on or off."""
    with _client(url, token) as client:
        state = client.agent_config.update_advanced_settings(
            agent_id, enable_initial_message_cache=cache
        )
    _dump(state, as_json)
    if not as_json:
        typer.echo(f"Agent {state.id}: {state.advanced_settings}.")


@agents.command("eligibility")
def agents_eligibility(agent_id: AgentArg, url: Url = None, token: Token = None,
                       as_json: Json = False) -> None:  # fmt: skip
    """Whether the agent qualifies for optimized costs."""
    with _client(url, token) as client:
        found = client.agent_config.optimized_costs_eligibility(agent_id)
    _dump(found, as_json)
    if not as_json:
        typer.echo(
            f"eligible: {found.eligible} ({found.current_calls} of {found.required_calls} calls "
            f"in {found.threshold_days} days)"
        )


@agents.command("voice-templates")
def agents_voice_templates(
    language: Annotated[str | None, typer.Option()] = None,
    quality_tier: Annotated[str | None, typer.Option(help="basic, pro, ultra, beta.")] = None,
    gender: Annotated[str | None, typer.Option(help="male or female.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List the server's voice templates."""
    with _client(url, token) as client:
        groups = client.agent_config.voice_templates(
            language=language, quality_tier=quality_tier, gender=gender
        )
    if as_json:
        _print_json([g.model_dump(mode="json") for g in groups])
        return
    typer.echo("id\tname\tgender\tlanguage\ttier\tprovider\tprovider_voice_id")
    for group in groups:
        for v in group.voices:
            typer.echo(f"{v.id}\t{v.name}\t{v.gender}\t{v.language}\t{v.quality_tier}\t"
                       f"{v.provider}\t{v.provider_voice_id}")  # fmt: skip


@agents.command("numbers")
def agents_numbers(
    search: Annotated[str | None, typer.Option()] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List the environment's phone numbers (GET /phone-numbers)."""
    with _client(url, token) as client:
        found = client.agent_config.phone_numbers(search=search)
    if as_json:
        _print_json([n.model_dump(mode="json") for n in found])
        return
    typer.echo("id\tnumber\tdirection\tagents")
    for n in found:
        typer.echo(f"{n.id}\t{n.number}\t{n.direction}\t{','.join(n.agent_ids)}")


# Actions


@actions.command("list")
def actions_list(agent: AgentOption, url: Url = None, token: Token = None,
                 as_json: Json = False) -> None:  # fmt: skip
    """List an agent's actions."""
    with _client(url, token) as client:
        found = client.actions.list(agent)
    if as_json:
        _print_json([a.model_dump(mode="json") for a in found])
        return
    typer.echo("id\tnode_id\ttype\tstatus\tname")
    for a in found:
        typer.echo(f"{a.id}\t{a.node_id}\t{a.type}\t{a.current_status}\t{a.name}")


@actions.command("upsert")
def actions_upsert(
    agent: AgentOption,
    file: Annotated[
        Path, typer.Option("--file", help="The action as YAML or JSON (the API's fields).")
    ],
    authorization_token: Annotated[
        str | None,
        typer.Option(
            envvar="CUECARD_ACTION_AUTHORIZATION_TOKEN",
            help="The credential of the scheme; stored encrypted.",
            show_default=False,
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", help="A custom header NAME=VALUE (stored encrypted).", show_default=False
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Create an action, or update the one with the file's node_id. Prints its id."""
    try:
        body = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _fail(f"cannot read {file}: {exc}", 2) from None
    if not isinstance(body, dict):
        raise _fail(f"{file} must hold one action (`key: value` lines)", 2)
    if authorization_token is not None:
        body["authorization_token"] = authorization_token
    if header:
        pairs = [h.partition("=") for h in header]
        if any(not sep or not name for name, sep, _ in pairs):
            raise _fail("--header takes NAME=VALUE", 2)
        body["custom_headers"] = [{"key": name, "value": value} for name, _, value in pairs]
    missing = [k for k in ("node_id", "name", "description", "type") if not body.get(k)]
    if missing:
        raise _fail(f"{file} needs {', '.join(missing)}", 2)
    with _client(url, token) as client:
        action = client.actions.upsert(agent, **body)
    _dump(action, as_json)
    if not as_json:
        typer.echo(action.id)


@actions.command("delete")
def actions_delete(
    action_id: Annotated[str, typer.Argument(help="The action's id.", show_default=False)],
    agent: AgentOption,
    url: Url = None,
    token: Token = None,
) -> None:
    """Delete an action. The agent goes back to draft."""
    with _client(url, token) as client:
        client.actions.delete(agent, action_id)
    _note(f"Deleted action {action_id}.")


@actions.command("integrations")
def actions_integrations(url: Url = None, token: Token = None, as_json: Json = False) -> None:
    """List the integrations an action may name."""
    with _client(url, token) as client:
        found = client.actions.integrations()
    if as_json:
        _print_json([i.model_dump(mode="json") for i in found])
        return
    for i in found:
        typer.echo(f"{i.identifier}\t{i.category or ''}\t{i.display_name}")


@actions.command("invoke")
def actions_invoke(
    action_id: Annotated[str, typer.Argument(help="The action's id.", show_default=False)],
    agent: AgentOption,
    arguments: Annotated[str, typer.Option(help="The arguments as a JSON object.")] = "{}",
    url: Url = None,
    token: Token = None,
) -> None:
    """Run a webhook action as a runtime would, and print what came back."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        raise _fail("--arguments must be a JSON object", 2) from None
    if not isinstance(parsed, dict):
        raise _fail("--arguments must be a JSON object", 2)
    with _client(url, token) as client:
        result = client.actions.invoke(agent, action_id, parsed)
    _print_json(result.model_dump(mode="json"))
