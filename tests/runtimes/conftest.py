"""The real voice runtimes (pipecat-ai, livekit-agents): the `runtimes` extra.

They are heavy (~700 MB with numba, onnxruntime and audio libraries), so `make test` collects
these tests only when they are installed; `make test-runtimes` installs them and runs them with
CUECARD_TEST_REQUIRE_RUNTIMES=1, which turns a missing runtime into an error instead of a skip (CI
runs it that way).
"""

from __future__ import annotations

import importlib.util
import os

import pytest


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


MISSING = [name for name in ("pipecat.flows", "livekit.agents") if not _installed(name)]
if MISSING and os.environ.get("CUECARD_TEST_REQUIRE_RUNTIMES") != "1":
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header(config: pytest.Config) -> str | None:
    if MISSING:
        return f"tests/runtimes not collected: {', '.join(MISSING)} not installed"
    return None


# The action tests' real HTTP receiver, for the FlowManager test whose action Cuecard invokes.
from tests.actions.conftest import receiver  # noqa: E402, F401
from tests.calls.conftest import make_runtime_token, runtime_headers  # noqa: E402, F401
