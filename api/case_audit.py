"""The audit trail's entries for cases, built in one place for the HTTP routes and ``gatewatch export``.

Where the two copies disagreed: a range is written ``{"camera", "from", "to"}`` (the API's field names; the CLI
wrote ``start``/``end``), each as given by the caller; ``reference`` is the case's stored (checked) reference, as
the route wrote it. The export entry carries ``output`` only when the package was written to a path the caller
keeps (the CLI); the HTTP package is a temporary file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api import audit
from api.cases import ExportResult, RangeRequest
from api.models import Case
from footage.hashing import file_sha256


def _when(value: str | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def range_detail(ranges: list[RangeRequest]) -> list[dict[str, str]]:
    return [{"camera": r.camera, "from": _when(r.start), "to": _when(r.end)} for r in ranges]


def create_detail(case: Case, events: list[int], ranges: list[RangeRequest]) -> dict[str, Any]:
    return {"name": case.name, "reference": case.reference, "events": events, "ranges": range_detail(ranges)}


def add_items_detail(events: list[int], ranges: list[RangeRequest]) -> dict[str, Any]:
    return {"events": events, "ranges": range_detail(ranges)}


def export_detail(case: Case, result: ExportResult, *, pre: float, post: float, exact: bool, burn_in: bool,
                  output: Path | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "name": case.name, "clips": result.clips, "missing": len(result.missing), "exact": exact or burn_in,
        "burn_in": burn_in, "pre": pre, "post": post,
    }
    if output is not None:
        detail["output"] = str(output)
    detail["package_sha256"] = file_sha256(result.path)
    return detail


def record_case(session: Session, user: str, action: str, case: Case, detail: dict[str, Any],
                remote_addr: str | None) -> None:
    """One case entry (``case_create``, ``case_add_items``, ``case_remove_item``, ``export``) in the trail."""
    audit.record(session, user_name=user, action=action, obj=f"case:{case.id}", detail=detail,
                 remote_addr=remote_addr)
