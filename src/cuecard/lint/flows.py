"""Reachability in an agent flow, as Talkover documents it (endpoints/update-agent-flow.mdx):

    {"initial_node_id": "greet",
     "nodes": [{"id": "greet", "type": "say", "next": "ask"},
               {"id": "ask", "type": "decision", "branches": [{"next": "a"}, {"next": "b"}]}]}

A node's successors are its `next` and every branch's `next` (a branch may also say
`next_node_id` or `target`, which some pages use). Pure functions over plain dicts, so the linter
needs nothing but the stored flow document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_EDGE_KEYS = ("next", "next_node_id", "target")


def _successors(node: Mapping[str, Any]) -> Iterator[str]:
    for key in _EDGE_KEYS:
        value = node.get(key)
        if isinstance(value, str) and value:
            yield value
    for branch in node.get("branches") or ():
        if isinstance(branch, Mapping):
            for key in _EDGE_KEYS:
                value = branch.get(key)
                if isinstance(value, str) and value:
                    yield value


def node_ids(flow: Mapping[str, Any]) -> set[str]:
    return {
        str(node["id"])
        for node in flow.get("nodes") or ()
        if isinstance(node, Mapping) and node.get("id") is not None
    }


def reachable_nodes(flow: Mapping[str, Any]) -> set[str]:
    """Every node a call can get to from `initial_node_id` (the first node when it is unset)."""
    nodes = {
        str(node["id"]): node
        for node in flow.get("nodes") or ()
        if isinstance(node, Mapping) and node.get("id") is not None
    }
    start = flow.get("initial_node_id")
    if start is None and nodes:
        start = next(iter(nodes))
    if start is None or str(start) not in nodes:
        return set()
    seen = {str(start)}
    stack = [str(start)]
    while stack:
        for successor in _successors(nodes[stack.pop()]):
            if successor in nodes and successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return seen


def unreachable_nodes(flow: Mapping[str, Any]) -> set[str]:
    return node_ids(flow) - reachable_nodes(flow)
