# Every target installs what it needs first; `make run` and `make test` are all a newcomer needs.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install install-runtimes run test test-runtimes lint format bench lock settings-table clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

# The voice runtimes (pipecat-ai, livekit-agents) for tests/runtimes: heavy, so not in `install`.
install-runtimes: install
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements-runtimes.lock

run: install
	$(VENV)/bin/cuecard init --with-token && $(VENV)/bin/cuecard serve

test: install
	$(PY) -m pytest

test-runtimes: install-runtimes
	CUECARD_TEST_REQUIRE_RUNTIMES=1 $(PY) -m pytest tests/runtimes

lint: install
	$(VENV)/bin/ruff format --check src tests bench && $(VENV)/bin/ruff check src tests bench && $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format src tests bench && $(VENV)/bin/ruff check --fix src tests bench

bench: install
	$(PY) bench/run.py

# README.md's configuration table, from the fields of core/config.py's Settings.
settings-table: install
	$(PY) -m cuecard.core.settings_table README.md

# Regenerate the lock after changing dependencies in pyproject.toml (needs `pip install uv`).
# It locks the client, the server and the dev tools: every target runs the whole thing.
lock:
	uv pip compile pyproject.toml --extra server --extra dev --python-version 3.11 --generate-hashes -o requirements.lock
	uv pip compile pyproject.toml --extra server --extra dev --extra runtimes --python-version 3.11 --generate-hashes -c requirements.lock -o requirements-runtimes.lock

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
