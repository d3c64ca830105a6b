"""What the running service starts beside the API: the local indexing worker pool (when no broker is set)."""

from __future__ import annotations

from fastapi import FastAPI


def start_background(app: FastAPI) -> None:
    app.state.worker_pool = None


def stop_background(app: FastAPI) -> None:
    pool = getattr(app.state, "worker_pool", None)
    if pool is not None:
        pool.stop()
