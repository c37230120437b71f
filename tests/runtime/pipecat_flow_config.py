"""pipecat-flows' declarative FlowConfig, mirrored for the tests `make test` runs.

pipecat-ai (which ships Flows since 1.5 as `pipecat.flows`) pulls numba, onnxruntime and audio
libraries, so it is in the `runtimes` extra, not in `dev`: tests/runtimes runs the real
FlowManager on Cuecard's config when it is installed (`make test-runtimes`). This is a copy of the
shape of `pipecat/flows/config.py` in pipecat-ai 1.14.0 (BSD 2-Clause, Daily), so the light suite
checks the same structure: the same fields and `extra="forbid"`, transition functions and their
targets, plus the `{{ key }}` placeholder rendering of `pipecat/flows/manager.py`
(`FlowManager._render_node`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    content: str


class Action(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    handler: str | None = None


class Function(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    transition_only: bool = False
    description: str | None = None
    transition_to: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Function:
        if self.transition_only and not (self.description and self.transition_to):
            raise ValueError(f"function '{self.name}' needs a description and transition_to")
        if not self.transition_only and self.description is not None:
            raise ValueError(f"function '{self.name}' is not transition_only: no description")
        return self


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_messages: list[Message]
    role_message: str | None = None
    functions: list[Function] = Field(default_factory=list)
    pre_actions: list[Action] = Field(default_factory=list)
    post_actions: list[Action] = Field(default_factory=list)
    context_strategy: Literal["append", "reset"] | None = None
    respond_immediately: bool = True


class FlowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initial_node: str
    nodes: dict[str, Node] = Field(min_length=1)
    global_functions: list[Function] = Field(default_factory=list)

    @model_validator(mode="after")
    def _initial_node_exists(self) -> FlowConfig:
        if self.initial_node not in self.nodes:
            raise ValueError(f"initial_node '{self.initial_node}' is not a defined node")
        global_names = {f.name for f in self.global_functions}
        for name, node in self.nodes.items():
            names = [f.name for f in node.functions]
            if len(set(names)) != len(names) or global_names & set(names):
                raise ValueError(f"node '{name}' repeats a function name")
            for function in [*node.functions, *self.global_functions]:
                if function.transition_to is not None and function.transition_to not in self.nodes:
                    raise ValueError(f"'{function.name}' transitions to an unknown node")
        return self


_PLACEHOLDER = re.compile(
    r"(\\?)\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}"
)


class MissingState(Exception):
    pass


def render(text: str, state: dict[str, Any]) -> str:
    """What FlowManager does to prompt text on entering a node."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        if match.group(2) not in state:
            raise MissingState(match.group(2))
        return str(state[match.group(2)])

    return _PLACEHOLDER.sub(substitute, text)
