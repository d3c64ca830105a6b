"""The README's settings table is generated from the settings classes, and no GATEWATCH_* variable escapes it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import settings_table  # noqa: E402 - a script folder, not a package


def test_readme_settings_table_is_current() -> None:
    result = subprocess.run([sys.executable, str(REPO / "tools" / "settings_table.py"), "--check"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_a_stale_table_is_caught() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("`GATEWATCH_HOME`", "`GATEWATCH_HOME_OLD`", 1)
    assert settings_table.replace_table(stale, settings_table.render()) == readme != stale


def test_every_variable_the_code_names_is_in_a_settings_class() -> None:
    """A GATEWATCH_* name written in footage/, detection/ or api/ is one the table documents (a read of
    os.environ that bypasses the settings classes would be documented nowhere). A family (GATEWATCH_JOB_*) is
    not a name."""
    from footage.settings import env_variables

    documented = {v.name for _, cls in settings_table.settings_classes() for v in env_variables(cls)}
    named: dict[str, Path] = {}
    for floor in ("footage", "detection", "api"):
        for path in (REPO / floor).rglob("*"):
            if path.suffix in {".py", ".html", ".js"}:
                for name in re.findall(r"GATEWATCH_[A-Z0-9_]+\*?", path.read_text(encoding="utf-8")):
                    if not name.endswith("*"):
                        named.setdefault(name.rstrip("_"), path)
    assert documented, "no settings found"
    assert {n: str(p) for n, p in named.items() if n not in documented} == {}
