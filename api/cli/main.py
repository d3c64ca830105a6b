"""The ``gatewatch`` entry point: one Typer app, each group of commands registered from its own module."""

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

for module in (serve, demo, sites, importing, indexing, searching, evidence, users, audit, lifecycle, plates):
    module.register(app)


def main() -> None:
    # ultralytics must never reach for the network (weights come from installed packages or paths).
    os.environ.setdefault("YOLO_OFFLINE", "1")
    app()
