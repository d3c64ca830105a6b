"""docs/cli.md from the command tree itself: every command and group, its help, its arguments and options.

Run ``python -m api.cli.docs`` after changing a command; tests/test_cli_docs.py fails while docs/cli.md is stale.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from api.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "cli.md"
REGENERATE = "python -m api.cli.docs"


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group below ``command`` (itself first), with its words after ``gatewatch``."""
    yield path, command
    if hasattr(command, "list_commands"):
        context = typer.Context(command)
        for name in command.list_commands(context):
            yield from walk(command.get_command(context, name), (*path, name))


def tree() -> Any:
    return typer.main.get_command(app)


def _default(value: Any) -> str:
    # A path inside the checkout is shown relative to it, so the page is the same on every machine.
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(ROOT):
        value = value.relative_to(ROOT)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _usage(path: tuple[str, ...], command: Any) -> str:
    context = typer.Context(command, info_name=" ".join(("gatewatch", *path)))
    return " ".join((context.command_path, *command.collect_usage_pieces(context)))


def _section(path: tuple[str, ...], command: Any) -> list[str]:
    name = " ".join(("gatewatch", *path))
    lines = [f"{'#' * min(2 + len(path), 4)} `{name}`", "", f"    {_usage(path, command)}", ""]
    lines += [inspect.cleandoc(command.help or ""), ""]
    arguments = [p for p in command.params if p.param_type_name == "argument" and not p.hidden]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    if arguments:
        lines += ["| Argument | Required | Help |", "|---|---|---|"]
        lines += [f"| `{p.name.upper()}` | {'yes' if p.required else 'no'} | {_cell(p.help or '')} |"
                  for p in arguments]
        lines.append("")
    if options:
        lines += ["| Option | Default | Help |", "|---|---|---|"]
        for p in options:
            names = " / ".join(f"`{opt}`" for opt in (*p.opts, *p.secondary_opts))
            if p.required:
                default = "required"
            elif p.default in (None, False, [], ()) and not p.secondary_opts:
                default = ""
            else:
                default = f"`{_default(p.default)}`"
            lines.append(f"| {names} | {default} | {_cell(p.help or '')} |")
        lines.append("")
    if hasattr(command, "list_commands"):
        context = typer.Context(command)
        lines += ["| Command | What it does |", "|---|---|"]
        for sub in command.list_commands(context):
            lines.append(f"| `{sub}` | {_cell(command.get_command(context, sub).get_short_help_str(limit=200))} |")
        lines.append("")
    return lines


def render() -> str:
    """The whole of docs/cli.md."""
    lines = ["# The `gatewatch` command line", "",
             f"Generated from the commands' own help by `{REGENERATE}`; do not edit by hand",
             "(tests/test_cli_docs.py fails when this page and the commands disagree).", ""]
    for path, command in walk(tree()):
        lines += _section(path, command)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv[1:]:
        if not DOCS.exists() or DOCS.read_text() != text:
            sys.exit(f"{DOCS.relative_to(ROOT)} is stale; run {REGENERATE}")
        return
    DOCS.write_text(text)
    print(f"wrote {DOCS.relative_to(ROOT)} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
