"""Settings, read once at start-up and validated before anything starts.

`Settings` is a frozen pydantic dataclass: `Settings(field=...)` builds one from keyword
arguments alone (tests do), `dataclasses.replace` works, and every value is type-checked.
`Settings.from_env()` is what the server and the CLI use; it reads, lowest precedence first,
the field defaults, a TOML file (`--config cuecard.toml` or `CUECARD_CONFIG`), a `.env` file in the
working directory, then environment variables. pydantic-settings reads each source; a variable
`CUECARD_<FIELD NAME IN CAPS>` sets the field of that name, as does the key `<field name>` in the
TOML file. An unknown `CUECARD_` variable or TOML key, or a value of the wrong type, stops start-up
with a message that names it and where it came from.

Adding a setting (see CONTRIBUTING.md, "Settings"): declare the field with its default and a
docstring, add any rule that spans values to `validated()`, then run `make settings-table` to
update README.md's table. Nothing else: the variable name and the parsing follow from the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import secrets
import typing
from collections.abc import Mapping
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite:///./data/cuecard.db"
ENV_PREFIX = "CUECARD_"
# CUECARD_ variables that are not server settings: the config file's path, the client commands'
# server and token, and the test suite's and benchmarks' own. Every other unknown CUECARD_ name
# is a typo and stops start-up.
NOT_SETTINGS = frozenset({"CUECARD_CONFIG", "CUECARD_URL", "CUECARD_TOKEN"})
NOT_SETTINGS_PREFIXES = ("CUECARD_TEST_", "CUECARD_BENCH_")
# Values shown as "***" by `cuecard config show`: secrets by name, and passwords inside URLs.
SECRET_SUFFIXES = ("_key", "_secret", "_token", "_password")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, config=ConfigDict(extra="forbid", use_attribute_docstrings=True))
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """`sqlite:///relative/or/absolute/path` (one machine) or
    `postgresql://user:pass@host:port/db` (any number of servers)."""
    env: str = "development"
    """`development`, `test`, or `production` (refuses to start without `CUECARD_SECRET_KEY`)."""
    token_prefix: str = "talq_"  # noqa: S105 (a public prefix, not a secret)
    """Prefix of new tokens; tokens without it are refused."""
    max_body_bytes: int = 2 * 1024 * 1024
    """Largest request body in bytes (2 MiB); larger ones get 413."""
    max_instructions_chars: int = 100_000
    """Longest training instructions, in characters."""
    max_trainings_per_agent: int = 10_000
    """Creating a training past this many under one agent is a 422 (TRAININGS_LIMIT_REACHED)."""
    secret_key: str | None = None
    """Key of the token hashes (16+ chars). In development it is generated once and kept in
    `secret.key` beside the SQLite file (or in `./data`)."""
    token_cache_seconds: float = 1.0
    """How long a token lookup may be answered from this process's memory. A revoked token stops
    working on every server sharing the database within this many seconds."""
    llm_base_url: str | None = None
    """An OpenAI-compatible API (`https://api.openai.com/v1`, vLLM, Ollama, llama.cpp) for test
    conversations; unset, they answer 503 `LLM_NOT_CONFIGURED` with the compiled messages."""
    llm_api_key: str | None = field(default=None, repr=False)
    """The key sent to the LLM API."""
    llm_model: str | None = None
    """The model name sent to the LLM API."""
    llm_timeout_seconds: float = 30.0
    """After this many seconds a test conversation answers 504."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """`json` (one object per line), `text` (readable lines), or `auto`: text on a terminal, JSON
    otherwise."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level logged."""
    access_log: bool = True
    """Log one line per request (method, route, status, duration, request id, token id)."""
    metrics: Literal["off", "port", "token"] = "off"
    """Prometheus metrics: `off`; `port` (open on `metrics_port`, bind it to a private network);
    or `token` (`GET /metrics` on the API port with `Authorization: Bearer <metrics_token>`)."""
    metrics_port: int = 9464
    """Port of the metrics listener when `metrics = port` (on the same interface as the API)."""
    metrics_token: str | None = field(default=None, repr=False)
    """Bearer token of `GET /metrics` when `metrics = token` (16+ characters)."""
    voice_templates: str | None = None
    """A JSON file (`{"voices": [...]}`, the shape of `src/cuecard/voice/default_voices.json`)
    that replaces the default voice catalog; checked at start."""
    allow_private_targets: bool = False
    """Let outbound calls (action invocations, webhooks) reach private and loopback addresses."""
    action_timeout_seconds: float = 10.0
    """An action's target that takes longer gives 504 `ACTION_TIMEOUT`."""
    action_max_response_bytes: int = 64 * 1024
    """A larger answer from an action's target gives 502 `ACTION_RESPONSE_TOO_LARGE`."""
    optimized_costs_required_calls: int = 700
    """Optimized costs: this many calls in `optimized_costs_threshold_days` make an agent
    eligible."""
    optimized_costs_threshold_days: int = 7
    """The window, in days, of `optimized_costs_required_calls`."""
    webhook_worker: bool = True
    """Run a webhook delivery worker in every `cuecard serve` process (off: only
    `cuecard deliveries run` delivers)."""
    webhook_poll_seconds: float = 0.2
    """How often a delivery worker looks for due deliveries."""
    webhook_retry_base_seconds: float = 30.0
    """Retry n of a failed delivery waits `base * 2**(n-1)` seconds (half of it jittered)."""
    webhook_retry_max_seconds: float = 3600.0
    """The longest wait between two attempts of a delivery."""
    webhook_log_retention_days: int = 30
    """Webhook delivery logs older than this are deleted."""
    database_connect_timeout_seconds: float = 3.0
    """A database that does not accept a connection this fast answers 503
    `DATABASE_UNAVAILABLE`."""
    database_statement_timeout_seconds: float = 5.0
    """A statement that runs longer is cancelled; the request answers 503."""
    max_header_bytes: int = 16 * 1024
    """The sum of every header's name and value; more is 431."""
    max_json_depth: int = 32
    """How deeply arrays and objects may nest in a JSON body; deeper is 422."""
    rate_limit_per_minute: int = 1000
    """Requests per minute per token, for environments that set no limit of their own."""
    redis_url: str | None = field(default=None, repr=False)
    """Shared rate-limit counters for several servers (`redis://...`); unset, the workers of one
    machine share a file under `rate_limit_dir`."""
    rate_limit_dir: str | None = None
    """Where one machine's rate-limit counters live (default: beside the SQLite file, or the
    temporary directory)."""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        config_file: Path | str | None = None,
        env_file: Path | str | None = None,
    ) -> Settings:
        """The effective settings: defaults < TOML file < `.env` < environment variables.

        With no arguments, reads `os.environ`, the file named by CUECARD_CONFIG (if any) and
        `./.env` (if it exists). An explicit `environ` reads only what it is given.
        """
        return load(environ, config_file=config_file, env_file=env_file)[0]

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def metrics_on(self) -> bool:
        """Whether metrics are recorded: only where something can scrape them (`port`, `token`)."""
        return self.metrics != "off"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for a `sqlite:///` URL, else None (PostgreSQL)."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    def validated(self) -> Settings:
        if not (self.database_url.startswith("sqlite:///") or _is_postgres(self.database_url)):
            raise ConfigError(
                "CUECARD_DATABASE_URL must start with sqlite:/// or postgresql://, "
                f"got {self.database_url.split(':', 1)[0]!r}"
            )
        if self.env not in ("development", "production", "test"):
            raise ConfigError("CUECARD_ENV must be development, production or test")
        if self.max_body_bytes < 1024:
            raise ConfigError("CUECARD_MAX_BODY_BYTES must be at least 1024")
        if self.max_instructions_chars < 1:
            raise ConfigError("CUECARD_MAX_INSTRUCTIONS_CHARS must be at least 1")
        if not 1 <= self.max_trainings_per_agent <= 1_000_000:
            raise ConfigError("CUECARD_MAX_TRAININGS_PER_AGENT must be between 1 and 1000000")
        if not self.token_prefix.isascii() or not self.token_prefix:
            raise ConfigError("CUECARD_TOKEN_PREFIX must be a non-empty ASCII string")
        if self.production and not self.secret_key:
            raise ConfigError("CUECARD_SECRET_KEY must be set when CUECARD_ENV=production")
        if self.llm_timeout_seconds <= 0:
            raise ConfigError("CUECARD_LLM_TIMEOUT_SECONDS must be a positive number")
        if not 0 < self.webhook_poll_seconds <= 60:
            raise ConfigError("CUECARD_WEBHOOK_POLL_SECONDS must be more than 0 and at most 60")
        if not 0 < self.webhook_retry_base_seconds <= self.webhook_retry_max_seconds:
            raise ConfigError(
                "CUECARD_WEBHOOK_RETRY_BASE_SECONDS must be positive and at most "
                "CUECARD_WEBHOOK_RETRY_MAX_SECONDS"
            )
        if self.webhook_log_retention_days < 1:
            raise ConfigError("CUECARD_WEBHOOK_LOG_RETENTION_DAYS must be at least 1")
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ConfigError("CUECARD_SECRET_KEY must be at least 16 characters")
        if not 1 <= self.metrics_port <= 65535:
            raise ConfigError("CUECARD_METRICS_PORT must be a port number (1 to 65535)")
        if self.metrics == "token" and len(self.metrics_token or "") < 16:
            raise ConfigError(
                "CUECARD_METRICS_TOKEN must be set (16+ characters) when CUECARD_METRICS=token"
            )
        if self.action_timeout_seconds <= 0:
            raise ConfigError("CUECARD_ACTION_TIMEOUT_SECONDS must be a positive number")
        if self.action_max_response_bytes < 1:
            raise ConfigError("CUECARD_ACTION_MAX_RESPONSE_BYTES must be at least 1")
        if self.optimized_costs_required_calls < 0:
            raise ConfigError("CUECARD_OPTIMIZED_COSTS_REQUIRED_CALLS must be 0 or more")
        if self.optimized_costs_threshold_days < 1:
            raise ConfigError("CUECARD_OPTIMIZED_COSTS_THRESHOLD_DAYS must be at least 1")
        if not 0 < self.webhook_poll_seconds <= 60:
            raise ConfigError("CUECARD_WEBHOOK_POLL_SECONDS must be more than 0 and at most 60")
        if not 0 < self.webhook_retry_base_seconds <= self.webhook_retry_max_seconds:
            raise ConfigError(
                "CUECARD_WEBHOOK_RETRY_BASE_SECONDS must be positive and at most "
                "CUECARD_WEBHOOK_RETRY_MAX_SECONDS"
            )
        if self.webhook_log_retention_days < 1:
            raise ConfigError("CUECARD_WEBHOOK_LOG_RETENTION_DAYS must be at least 1")
        for name in ("database_connect_timeout_seconds", "database_statement_timeout_seconds"):
            if not 0 < getattr(self, name) <= 300:
                raise ConfigError(f"CUECARD_{name.upper()} must be a number from 0 to 300")
        if self.max_header_bytes < 1024:
            raise ConfigError("CUECARD_MAX_HEADER_BYTES must be at least 1024")
        if not 2 <= self.max_json_depth <= 200:
            raise ConfigError("CUECARD_MAX_JSON_DEPTH must be from 2 to 200")
        if self.rate_limit_per_minute < 1:
            raise ConfigError("CUECARD_RATE_LIMIT_PER_MINUTE must be at least 1")
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError("CUECARD_REDIS_URL must start with redis://, rediss:// or unix://")
        return self

    def resolved_secret_key(self) -> bytes:
        """The key of the token hashes.

        In development an unset key is generated once and kept beside the SQLite file (or in
        ./data for PostgreSQL), so tokens keep working across restarts.
        """
        if self.secret_key:
            return self.secret_key.encode()
        if self.production:
            raise ConfigError("CUECARD_SECRET_KEY must be set when CUECARD_ENV=production")
        sqlite_path = self.sqlite_path
        folder = sqlite_path.parent if sqlite_path else Path("data")
        key_file = folder / "secret.key"
        if not key_file.exists():
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return key_file.read_text().strip().encode()

    def __repr__(self) -> str:
        # Settings end up in tracebacks and debug logs: never with a secret in them.
        shown = ", ".join(f"{name}={value!r}" for name, value in self.masked().items())
        return f"Settings({shown})"

    def masked(self) -> dict[str, Any]:
        """Every setting with secrets replaced by "***" (unset ones stay None)."""
        shown: dict[str, Any] = {}
        for name, value in dataclasses.asdict(self).items():
            if value is not None and is_secret(name):
                value = "***"
            elif isinstance(value, str) and "://" in value:
                value = _mask_url_password(value)
            shown[name] = value
        return shown


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def description(field_name: str) -> str:
    """The field's docstring (pydantic keeps it as the field's description)."""
    fields = Settings.__pydantic_fields__  # type: ignore[attr-defined]
    return str(fields[field_name].description or "")


def is_secret(field_name: str) -> bool:
    return field_name.endswith(SECRET_SUFFIXES) or not _fields()[field_name].repr


def load(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | str | None = None,
    env_file: Path | str | None = None,
) -> tuple[Settings, dict[str, str]]:
    """The effective settings and, for each value not left at its default, where it came from
    (`CUECARD_X`, `CUECARD_X in .env`, `x in cuecard.toml`)."""
    if environ is None:
        environ = os.environ
        env_file = ".env" if env_file is None else env_file
    if config_file is None:
        config_file = environ.get("CUECARD_CONFIG") or None

    loader = _loader()
    layers: list[tuple[dict[str, Any], dict[str, str]]] = []
    if config_file is not None:
        layers.append(_from_toml(loader, Path(config_file)))
    if env_file is not None and Path(env_file).is_file():
        dotenv = DotEnvSettingsSource(loader, env_file=env_file)
        _refuse_unknown(dotenv.env_vars, f" in {env_file}")
        where = f" in {env_file}"
        layers.append((dotenv(), {name: env_name(name) + where for name in _fields()}))
    environment = _MappingEnvSource(loader, environ)
    _refuse_unknown(environment.env_vars, "")
    layers.append((environment(), {name: env_name(name) for name in _fields()}))

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for found, labels in layers:
        for name, value in found.items():
            if name in labels:  # a .env file may hold other tools' variables too
                values[name] = value
                origins[name] = labels[name]
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, values, origins)) from None
    return settings.validated(), origins


@cache
def _fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Settings)}


class _LoaderBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, case_sensitive=False, extra="ignore"
    )


@cache
def _loader() -> type[BaseSettings]:
    """A pydantic-settings class with Settings' fields, for its sources to know what to read.

    Values are taken raw from the sources and validated by `Settings` itself, so there is one
    definition of every setting.
    """
    from pydantic import create_model

    hints = typing.get_type_hints(Settings)
    fields: dict[str, Any] = {name: (hints[name], None) for name in _fields()}
    model: type[BaseSettings] = create_model(
        "CuecardSettingsSources", __base__=_LoaderBase, **fields
    )
    return model


class _MappingEnvSource(EnvSettingsSource):
    """EnvSettingsSource over a given mapping instead of `os.environ` (for `from_env(environ)`)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items() if v != ""}


def _from_toml(loader: type[BaseSettings], path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (from --config or CUECARD_CONFIG)")
    try:
        source = TomlConfigSettingsSource(loader, toml_file=path)
    except Exception as exc:  # tomllib.TOMLDecodeError, or an unreadable file
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = _fields()
    for key in source.toml_data:
        if key not in known:
            raise ConfigError(f"unknown setting {key!r} in {path}{_suggest(key, list(known))}")
    data = {key: value for key, value in source.toml_data.items()}
    return data, {name: f"{name} in {path}" for name in known}


def _refuse_unknown(variables: Mapping[str, str | None], where: str) -> None:
    """Raises for a CUECARD_ variable that names no setting (names arrive lower-cased)."""
    known = {env_name(name) for name in _fields()}
    for lowered in variables:
        name = lowered.upper()
        if not name.startswith(ENV_PREFIX) or name in known or name in NOT_SETTINGS:
            continue
        if name.startswith(NOT_SETTINGS_PREFIXES):
            continue
        raise ConfigError(f"unknown setting {name}{where}{_suggest(name, sorted(known))}")


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _describe(exc: ValidationError, values: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    origin = origins.get(name, env_name(name))
    shown = "***" if is_secret(name) else repr(values.get(name))
    return f"{origin}: {error['msg']}, got {shown}"


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))
