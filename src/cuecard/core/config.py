"""Settings, read once from the environment and validated before anything starts."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./data/cuecard.db"


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    env: str = "development"
    token_prefix: str = "talq_"  # noqa: S105 (a public prefix, not a secret)
    max_body_bytes: int = 2 * 1024 * 1024
    max_instructions_chars: int = 100_000
    secret_key: str | None = None
    # How long a token lookup may be answered from this process's memory. A revoked token stops
    # working on every server sharing the database within this many seconds.
    token_cache_seconds: float = 1.0
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    llm_timeout_seconds: float = 30.0
    # Hardening (issue 12): a database that does not answer costs a request this long at most.
    database_connect_timeout_seconds: float = 3.0
    database_statement_timeout_seconds: float = 5.0
    # The sum of every header's name and value; more is 431.
    max_header_bytes: int = 16 * 1024
    # How deeply arrays and objects may nest in a JSON body; deeper is 422.
    max_json_depth: int = 32
    # Requests per minute per token, for environments that set no limit of their own.
    rate_limit_per_minute: int = 1000
    # Shared rate-limit counters for several servers; unset, the workers of one machine share a
    # file under rate_limit_dir (default: beside the SQLite file, or the temporary directory).
    redis_url: str | None = field(default=None, repr=False)
    rate_limit_dir: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("CUECARD_DATABASE_URL") or DEFAULT_DATABASE_URL,
            env=env.get("CUECARD_ENV", "development"),
            token_prefix=env.get("CUECARD_TOKEN_PREFIX") or "talq_",
            max_body_bytes=_int(env, "CUECARD_MAX_BODY_BYTES", 2 * 1024 * 1024),
            max_instructions_chars=_int(env, "CUECARD_MAX_INSTRUCTIONS_CHARS", 100_000),
            secret_key=env.get("CUECARD_SECRET_KEY") or None,
            llm_base_url=env.get("CUECARD_LLM_BASE_URL") or None,
            llm_api_key=env.get("CUECARD_LLM_API_KEY") or None,
            llm_model=env.get("CUECARD_LLM_MODEL") or None,
            llm_timeout_seconds=_float(env, "CUECARD_LLM_TIMEOUT_SECONDS", 30.0),
            database_connect_timeout_seconds=_float(
                env, "CUECARD_DATABASE_CONNECT_TIMEOUT_SECONDS", 3.0
            ),
            database_statement_timeout_seconds=_float(
                env, "CUECARD_DATABASE_STATEMENT_TIMEOUT_SECONDS", 5.0
            ),
            max_header_bytes=_int(env, "CUECARD_MAX_HEADER_BYTES", 16 * 1024),
            max_json_depth=_int(env, "CUECARD_MAX_JSON_DEPTH", 32),
            rate_limit_per_minute=_int(env, "CUECARD_RATE_LIMIT_PER_MINUTE", 1000),
            redis_url=env.get("CUECARD_REDIS_URL") or None,
            rate_limit_dir=env.get("CUECARD_RATE_LIMIT_DIR") or None,
        ).validated()

    @property
    def production(self) -> bool:
        return self.env == "production"

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
        if not self.token_prefix.isascii() or not self.token_prefix:
            raise ConfigError("CUECARD_TOKEN_PREFIX must be a non-empty ASCII string")
        if self.production and not self.secret_key:
            raise ConfigError("CUECARD_SECRET_KEY must be set when CUECARD_ENV=production")
        if self.llm_timeout_seconds <= 0:
            raise ConfigError("CUECARD_LLM_TIMEOUT_SECONDS must be a positive number")
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
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ConfigError("CUECARD_SECRET_KEY must be at least 16 characters")
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


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _int(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
