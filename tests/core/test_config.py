from __future__ import annotations

from pathlib import Path

import pytest

from cuecard.core.config import ConfigError, Settings


class TestSettingsFromEnv:
    def test_defaults(self) -> None:
        settings = Settings.from_env({})

        assert settings.database_url == "sqlite:///./data/cuecard.db"
        assert settings.token_prefix == "talq_"
        assert settings.max_body_bytes == 2 * 1024 * 1024
        assert settings.max_instructions_chars == 100_000
        assert settings.max_trainings_per_agent == 10_000

    def test_the_trainings_limit_is_read(self) -> None:
        settings = Settings.from_env({"CUECARD_MAX_TRAININGS_PER_AGENT": "250"})

        assert settings.max_trainings_per_agent == 250

    def test_llm_settings_are_read(self) -> None:
        settings = Settings.from_env(
            {"CUECARD_LLM_BASE_URL": "http://127.0.0.1:9/v1", "CUECARD_LLM_MODEL": "m",
             "CUECARD_LLM_API_KEY": "k", "CUECARD_LLM_TIMEOUT_SECONDS": "2.5"}
        )  # fmt: skip

        assert settings.llm_base_url == "http://127.0.0.1:9/v1"
        assert (settings.llm_model, settings.llm_api_key) == ("m", "k")
        assert settings.llm_timeout_seconds == 2.5

    def test_production_refuses_a_missing_secret_key(self) -> None:
        with pytest.raises(ConfigError, match="CUECARD_SECRET_KEY"):
            Settings.from_env({"CUECARD_ENV": "production"})

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("CUECARD_DATABASE_URL", "mysql://localhost/db"),
            ("CUECARD_MAX_BODY_BYTES", "lots"),
            ("CUECARD_MAX_INSTRUCTIONS_CHARS", "0"),
            ("CUECARD_MAX_TRAININGS_PER_AGENT", "0"),
            ("CUECARD_MAX_TRAININGS_PER_AGENT", "1000001"),
            ("CUECARD_MAX_TRAININGS_PER_AGENT", "many"),
            ("CUECARD_ENV", "staging"),
            ("CUECARD_SECRET_KEY", "short"),
            ("CUECARD_LLM_TIMEOUT_SECONDS", "soon"),
            ("CUECARD_LLM_TIMEOUT_SECONDS", "0"),
        ],
    )
    def test_malformed_values_are_refused_with_their_name(self, name: str, value: str) -> None:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


class TestSecretKey:
    def test_development_key_is_generated_once_beside_the_database(self, tmp_path: Path) -> None:
        settings = Settings(database_url=f"sqlite:///{tmp_path}/db/cuecard.db")

        first = settings.resolved_secret_key()
        second = settings.resolved_secret_key()

        key_file = tmp_path / "db" / "secret.key"
        assert first == second
        assert key_file.read_text().strip().encode() == first
        assert key_file.stat().st_mode & 0o777 == 0o600

    def test_configured_key_wins(self, tmp_path: Path) -> None:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/cuecard.db", secret_key="0123456789abcdef"
        )

        assert settings.resolved_secret_key() == b"0123456789abcdef"
        assert not (tmp_path / "secret.key").exists()
