"""No GATEWATCH_* variable escapes the settings classes (whose README table tests/test_docs_current.py checks)."""

from __future__ import annotations

import re
from pathlib import Path

from api.settings import ApiSettings
from detection.settings import DetectionSettings
from footage.settings import Settings, env_variables

REPO = Path(__file__).resolve().parent.parent


def test_every_variable_the_code_names_is_in_a_settings_class() -> None:
    """A GATEWATCH_* name written in footage/, detection/ or api/ is one the table documents (a read of
    os.environ that bypasses the settings classes would be documented nowhere). A family (GATEWATCH_JOB_*) is
    not a name."""
    documented = {v.name for cls in (Settings, DetectionSettings, ApiSettings) for v in env_variables(cls)}
    named: dict[str, Path] = {}
    for floor in ("footage", "detection", "api"):
        for path in (REPO / floor).rglob("*"):
            if path.suffix in {".py", ".html", ".js"}:
                for name in re.findall(r"GATEWATCH_[A-Z0-9_]+\*?", path.read_text(encoding="utf-8")):
                    if not name.endswith("*"):
                        named.setdefault(name.rstrip("_"), path)
    assert len(documented) > 20, "too few settings found"
    assert {n: str(p) for n, p in named.items() if n not in documented} == {}
