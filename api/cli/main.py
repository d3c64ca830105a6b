"""The ``gatewatch`` entry point: the root Typer app, built from each module's own Typer apps."""

from __future__ import annotations

import os

import typer

from api.cli import audit, demo, evidence, importing, indexing, lifecycle, plates, searching, serve, sites, users

app = typer.Typer(
    name="gatewatch",
    help="Index gate-camera footage; search vehicles and people; cut clips; export signed evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Top-level commands first, then the command groups: the order `gatewatch --help` lists them in.
for module in (serve, demo, importing, indexing, searching, evidence, lifecycle, plates):
    app.add_typer(module.app)  # no name: the module's commands join the root

for name, group in (("sites", sites.sites), ("cameras", sites.cameras), ("users", users.users),
                    ("audit", audit.trail), ("segments", lifecycle.segments), ("cases", lifecycle.cases)):
    app.add_typer(group, name=name)


def main() -> None:
    # ultralytics must never reach for the network (weights come from installed packages or paths).
    os.environ.setdefault("YOLO_OFFLINE", "1")
    app()
