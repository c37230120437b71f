"""No secret reaches a log: tokens and secrets in query strings, or anywhere in a message that
looks like one of our tokens, are replaced before the record is written.

Installed on uvicorn's access log (which writes the path with its query string) and on every
cuecard logger."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

_SECRET_NAMES = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|apikey|auth|signature|sig|key|credential)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact_target(target: str, token_prefix: str) -> str:
    """A request target with the values of secret-looking query parameters replaced."""
    path, sep, query = target.partition("?")
    if not sep:
        return redact_text(target, token_prefix)
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [
        (name, REDACTED if _SECRET_NAMES.search(name) else redact_text(value, token_prefix))
        for name, value in pairs
    ]
    return f"{redact_text(path, token_prefix)}?{urlencode(cleaned, safe='[]')}"


def redact_text(text: str, token_prefix: str) -> str:
    if token_prefix and token_prefix in text:
        return re.sub(re.escape(token_prefix) + r"[A-Za-z0-9_\-]+", token_prefix + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, token_prefix: str) -> None:
        super().__init__()
        self.token_prefix = token_prefix

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # uvicorn: (client, method, target, http_version, status)
            record.args = tuple(
                redact_target(arg, self.token_prefix) if i == 2 and isinstance(arg, str) else arg
                for i, arg in enumerate(record.args)
            )
        elif isinstance(record.msg, str):
            message = record.getMessage()
            redacted = redact_text(message, self.token_prefix)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


def install(token_prefix: str) -> None:
    """Idempotent: one filter per logger, whatever number of apps a process creates."""
    for name in ("uvicorn.access", "uvicorn.error", "cuecard.errors", "cuecard.ratelimit"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter(token_prefix))
