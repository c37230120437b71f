"""README.md's configuration table is generated from Settings; these fail when they drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cuecard.core.config import Settings, description
from cuecard.core.settings_table import block


def test_readme_lists_every_setting_as_generated(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")

    assert block() in readme, "README.md's settings table is stale: run `make settings-table`"


def test_every_setting_has_a_description() -> None:
    undocumented = [f.name for f in dataclasses.fields(Settings) if not description(f.name)]

    assert undocumented == [], "give each a docstring under the field in core/config.py"
