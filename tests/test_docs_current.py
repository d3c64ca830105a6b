"""The generated docs match the code: every command has help and is in docs/cli.md, every setting is in the
README's table. Regenerate with ``python docs/generate.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_and_option_has_help() -> None:
    gen = _generator()
    found = list(gen.commands(gen.cli_tree()))
    assert len(found) > 20, "the CLI tree walk found too few commands"
    missing = [" ".join(path) for path, command in found if not (command.help or "").strip()]
    assert not missing, f"commands without help: {missing}"
    bare = [f"{' '.join(path)} {p.opts[0]}" for path, command in found for p in command.params
            if p.param_type_name == "option" and p.name != "help" and not (p.help or "").strip()]
    assert not bare, f"options without help: {bare}"


def test_docs_cli_md_is_current() -> None:
    gen = _generator()
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == gen.cli_markdown(), "docs/cli.md is stale; run python docs/generate.py"
    for path, _ in gen.commands(gen.cli_tree()):
        assert f"`gatewatch {' '.join(path)}`" in written


def test_readme_settings_table_is_current() -> None:
    gen = _generator()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == gen.readme_with_table(readme), "README's settings table is stale; run python docs/generate.py"
    for variable in ("GATEWATCH_HOME", "GATEWATCH_SESSION_HOURS", "GATEWATCH_JOB_LEASE_S", "GATEWATCH_CELERY_QUEUE"):
        assert f"`{variable}`" in readme
