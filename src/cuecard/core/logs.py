"""Log lines: one JSON object per line for machines, readable lines for people.

Every line a request causes carries that request's id (the one in its X-Request-ID header) and,
once the token is known, its environment id and token id (never the secret): the middleware in
`cuecard.core.observability` puts a `RequestContext` in a context variable and the formatters read
it. The access log is one line per request on the `cuecard.access` logger.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec

from cuecard.core.config import Settings
from cuecard.core.redaction import RedactingFormatter


@dataclass(slots=True)
class RequestContext:
    request_id: str
    method: str
    route: str | None = None
    environment_id: str | None = None
    token_id: str | None = None


request_context: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)

# Attributes every LogRecord has; anything else came in through `extra=` and is logged as a field.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message"}  # uvicorn's copy of the message, with ANSI colours
)


def _timestamp(record: logging.LogRecord) -> str:
    # Runs for every line; the second is formatted once per second (it is the slow part).
    second = int(record.created)
    prefix = _second_cache.get(second)
    if prefix is None:
        _second_cache.clear()
        prefix = _second_cache[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{prefix}.{int((record.created - second) * 1000):03d}Z"


_second_cache: dict[int, str] = {}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    context = request_context.get()
    if context is not None:
        fields["request_id"] = context.request_id
        if context.environment_id is not None:
            fields["environment_id"] = context.environment_id
        if context.token_id is not None:
            fields["token_id"] = context.token_id
    for key, value in record.__dict__.items():  # in order: what came in through `extra=`
        if key not in _STANDARD and not key.startswith("_"):
            fields[key] = value
    return fields


# Anything msgspec cannot encode itself is written as its str(); non-ASCII stays as it is.
# A fifth of the cost of json.dumps, and every request writes a line (bench/README.md).
_encode_line = msgspec.json.Encoder(enc_hook=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process or os.getpid(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode_line(line).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            text = f"{text}  {fields}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def formatter_for(log_format: str, stream: TextIO) -> logging.Formatter:
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every log line (ours, uvicorn's, libraries') to stderr in the configured format."""
    stream = stream or sys.stderr
    # Nothing logged uses the caller's file and line, the thread or the process name: skipping
    # them is the logging HOWTO's "Optimization" advice and halves the cost of an access line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream)
    formatter = formatter_for(settings.log_format, stream)
    handler.setFormatter(RedactingFormatter(formatter, settings.token_prefix))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # uvicorn's loggers keep their own handlers unless told otherwise; its access log is replaced
    # by ours (which knows the route template and the token).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def identify_caller(environment_id: str, token_id: str) -> None:
    """Adds who is calling to the current request's log lines (called once the token is known)."""
    context = request_context.get()
    if context is not None:
        context.environment_id = environment_id
        context.token_id = token_id
