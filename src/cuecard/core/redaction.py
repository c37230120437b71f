"""No secret reaches a log: anything in a log line that looks like one of our tokens is replaced
before the line is written, whoever logged it (our code, uvicorn, a library, a traceback).

The access log never writes query strings (it logs the route template), so a token sent as
`?token=...` cannot reach it in the first place; this is the net under everything else."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"


def redact_text(text: str, token_prefix: str) -> str:
    if token_prefix and token_prefix in text:
        return re.sub(re.escape(token_prefix) + r"[A-Za-z0-9_\-]+", token_prefix + REDACTED, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Wraps the configured formatter and redacts its whole output."""

    def __init__(self, inner: logging.Formatter, token_prefix: str) -> None:
        super().__init__()
        self.inner = inner
        self.token_prefix = token_prefix

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(self.inner.format(record), self.token_prefix)
