"""The command line documents itself: every command, group and option has help, and docs/cli.md matches it."""

from __future__ import annotations

from api.cli.docs import DOCS, REGENERATE, render, tree, walk


def test_every_command_group_and_option_has_help() -> None:
    missing = []
    for path, command in walk(tree()):
        name = " ".join(("gatewatch", *path))
        if not (command.help or "").strip():
            missing.append(name)
        missing += [f"{name} {param.name}" for param in command.params
                    if not param.hidden and not (getattr(param, "help", None) or "").strip()]
    assert not missing, f"commands or options without help text: {missing}"


def test_the_tree_holds_every_command_once() -> None:
    paths = [" ".join(path) for path, _ in walk(tree())]
    assert len(paths) == len(set(paths))
    # One of each kind: a root command, a group, a group's command (the page would silently miss a level).
    assert {"search", "audit", "audit verify", "cameras add"} <= set(paths)


def test_docs_cli_md_is_current() -> None:
    text = render()
    for path, _ in walk(tree()):
        assert f"`{' '.join(('gatewatch', *path))}`" in text
    assert DOCS.read_text() == text, f"docs/cli.md is stale: run {REGENERATE} and commit it"
