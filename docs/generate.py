"""Writes the generated parts of the docs from the code: docs/cli.md (every command, from the CLI's own tree)
and the settings table in README.md (every environment variable, from the three settings classes).

Run ``python docs/generate.py`` after changing a command, an option or a setting; tests/test_docs_current.py
fails until the docs match the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"
ENV_START, ENV_END = "<!-- env-table:start (python docs/generate.py) -->", "<!-- env-table:end -->"


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` (groups too), depth first, in name order, with its path of names."""
    if path:
        yield path, group
    # Typer ships its own copy of click, so groups and options are told apart by what they hold.
    if hasattr(group, "commands"):
        for name in sorted(group.commands):
            yield from commands(group.commands[name], (*path, name))


def cli_tree() -> Any:
    from api.cli.main import app

    return typer.main.get_command(app)


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ").strip()


def cli_markdown() -> str:
    lines = ["# gatewatch commands", "",
             "Generated from the CLI by `python docs/generate.py`; `gatewatch COMMAND --help` says the same.", ""]
    for path, command in commands(cli_tree()):
        lines += [f"{'#' * min(len(path) + 1, 4)} `gatewatch {' '.join(path)}`", "", _first_line(command.help), ""]
        options = [p for p in command.params if p.param_type_name == "option" and p.name != "help"]
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        for argument in arguments:
            lines.append(f"- `{argument.name.upper()}` (argument)")
        for option in options:
            names = ", ".join(f"`{o}`" for o in (*option.opts, *option.secondary_opts))
            lines.append(f"- {names}: {_first_line(option.help)}")
        if options or arguments:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def env_table() -> str:
    from api.settings import ApiSettings
    from detection.settings import DetectionSettings
    from footage.settings import Settings, env_variables

    rows = ["| variable | default | meaning | read by |", "|---|---|---|---|"]
    for floor, settings_class in (("footage", Settings), ("detection", DetectionSettings), ("api", ApiSettings)):
        for variable in env_variables(settings_class):
            default = f"`{variable.default}`" if variable.default else "unset"
            meaning = variable.description.replace("|", "\\|")
            rows.append(f"| `{variable.name}` | {default} | {meaning} | {floor} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    if ENV_START not in readme or ENV_END not in readme:
        raise SystemExit(f"README.md lacks the markers {ENV_START!r} and {ENV_END!r} around the settings table")
    head, rest = readme.split(ENV_START, 1)
    _, tail = rest.split(ENV_END, 1)
    return f"{head}{ENV_START}\n{env_table()}\n{ENV_END}{tail}"


def main() -> int:
    CLI_MD.write_text(cli_markdown(), encoding="utf-8")
    README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {CLI_MD.relative_to(ROOT)} and the settings table in {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
