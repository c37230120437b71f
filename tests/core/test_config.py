from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import ValidationError

from cuecard.core.config import ConfigError, Settings, load


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


class TestSources:
    def test_toml_file_then_dotenv_then_environment(self, tmp_path: Path) -> None:
        toml = tmp_path / "cuecard.toml"
        toml.write_text('max_body_bytes = 4096\nlog_format = "text"\naccess_log = false\n')
        dotenv = tmp_path / ".env"
        dotenv.write_text("CUECARD_LOG_FORMAT=json\nCUECARD_LLM_MODEL=from-dotenv\nOTHER_TOOL=x\n")

        settings, origins = load(
            {"CUECARD_LLM_MODEL": "from-env"}, config_file=toml, env_file=dotenv
        )

        assert settings.max_body_bytes == 4096 and settings.access_log is False
        assert settings.log_format == "json"
        assert settings.llm_model == "from-env"
        assert origins["max_body_bytes"] == f"max_body_bytes in {toml}"
        assert origins["log_format"] == f"CUECARD_LOG_FORMAT in {dotenv}"
        assert origins["llm_model"] == "CUECARD_LLM_MODEL"

    def test_the_config_file_can_be_named_by_cuecard_config(self, tmp_path: Path) -> None:
        toml = tmp_path / "cuecard.toml"
        toml.write_text("max_instructions_chars = 500\n")

        settings = Settings.from_env({"CUECARD_CONFIG": str(toml)})

        assert settings.max_instructions_chars == 500

    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            ({"CUECARD_MAX_BODYBYTES": "1"}, "unknown setting CUECARD_MAX_BODYBYTES "
             "(did you mean CUECARD_MAX_BODY_BYTES?)"),
            ({"CUECARD_ACCESS_LOG": "maybe"}, "CUECARD_ACCESS_LOG: Input should be a valid "
             "boolean"),
            ({"CUECARD_LOG_FORMAT": "xml"}, "CUECARD_LOG_FORMAT: Input should be 'auto', 'json' "
             "or 'text', got 'xml'"),
            ({"CUECARD_METRICS_PORT": "99999"}, "CUECARD_METRICS_PORT must be a port number"),
        ],
    )  # fmt: skip
    def test_unknown_or_invalid_variables_stop_start_up(
        self, environ: dict[str, str], message: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(environ)

        assert message in str(caught.value)

    def test_variables_of_the_client_and_the_tests_are_not_settings(self) -> None:
        environ = {
            "CUECARD_URL": "http://x",
            "CUECARD_TOKEN": "t",
            "CUECARD_TEST_POSTGRES_URL": "p",
        }

        assert Settings.from_env(environ) == Settings()

    def test_an_unknown_key_in_the_toml_file_names_the_file(self, tmp_path: Path) -> None:
        toml = tmp_path / "cuecard.toml"
        toml.write_text("database_urll = 'sqlite:///x.db'\n")

        with pytest.raises(ConfigError, match=r"unknown setting 'database_urll' in .*cuecard.toml"):
            Settings.from_env({}, config_file=toml)

    def test_a_bad_value_in_the_toml_file_names_the_key_and_file(self, tmp_path: Path) -> None:
        toml = tmp_path / "cuecard.toml"
        toml.write_text("max_body_bytes = 'big'\n")

        with pytest.raises(ConfigError, match=r"^max_body_bytes in .*cuecard.toml: Input should"):
            Settings.from_env({}, config_file=toml)

    def test_an_unknown_variable_in_dotenv_names_the_file(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text("CUECARD_SECRETKEY=abc\n")

        with pytest.raises(ConfigError, match=r"unknown setting CUECARD_SECRETKEY in .*\.env"):
            Settings.from_env({}, env_file=dotenv)

    def test_a_missing_or_broken_config_file_is_an_error(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.toml"
        broken.write_text("this is = = not toml")

        with pytest.raises(ConfigError, match="does not exist"):
            Settings.from_env({}, config_file=tmp_path / "nope.toml")
        with pytest.raises(ConfigError, match="is not valid TOML"):
            Settings.from_env({}, config_file=broken)

    def test_a_bad_secret_is_never_echoed(self, tmp_path: Path) -> None:
        toml = tmp_path / "cuecard.toml"
        toml.write_text("metrics_token = 8675309867530986\n")  # a number, not a string

        with pytest.raises(ConfigError) as typed:
            Settings.from_env({}, config_file=toml)
        with pytest.raises(ConfigError) as short:
            Settings.from_env({"CUECARD_SECRET_KEY": "hunter2"})

        assert "metrics_token in" in str(typed.value) and "got ***" in str(typed.value)
        assert "8675309" not in str(typed.value) and "hunter2" not in str(short.value)


class TestKeywordConstruction:
    def test_keywords_and_replace_keep_working(self) -> None:
        settings = Settings(database_url="sqlite:///x.db", env="test", secret_key="k" * 16)

        changed = dataclasses.replace(settings, max_body_bytes=4096)

        assert changed.max_body_bytes == 4096 and changed.database_url == "sqlite:///x.db"
        assert Settings(**settings.__dict__) == settings

    def test_keywords_are_type_checked(self) -> None:
        with pytest.raises(ValidationError):
            Settings(max_body_bytes="lots")  # type: ignore[arg-type]

    def test_masked_hides_secrets_and_url_passwords(self) -> None:
        settings = Settings(
            database_url="postgresql://app:s3cret@db.internal/cuecard",
            secret_key="k" * 16,
            llm_api_key="sk-live",
        )

        shown = settings.masked()

        assert shown["database_url"] == "postgresql://app:***@db.internal/cuecard"
        assert shown["secret_key"] == shown["llm_api_key"] == "***"
        assert shown["metrics_token"] is None
        assert "s3cret" not in repr(settings) and "sk-live" not in repr(settings)
