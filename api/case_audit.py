"""What the audit trail records about cases: one builder for each action, used by HTTP and the CLI alike.

Where the two copies disagreed, the rule kept: ranges are written as ``{"camera", "from", "to"}`` (the
API's names; the CLI wrote ``start``/``end``); the reference is the case's stored (trimmed) one; an export
names the package's SHA-256 and, when written to a path the operator chose (the CLI), that path.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from api.cases import ExportResult, RangeRequest
from api.models import Case
from footage.hashing import file_sha256


def _time(value: str | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def ranges_detail(ranges: list[RangeRequest]) -> list[dict[str, str]]:
    return [{"camera": r.camera, "from": _time(r.start), "to": _time(r.end)} for r in ranges]


def created_detail(case: Case, events: list[int], ranges: list[RangeRequest]) -> dict[str, Any]:
    return {"name": case.name, "reference": case.reference, "events": events, "ranges": ranges_detail(ranges)}


def items_added_detail(events: list[int], ranges: list[RangeRequest]) -> dict[str, Any]:
    return {"events": events, "ranges": ranges_detail(ranges)}


def export_detail(case: Case, result: ExportResult, package: Path, *, exact: bool, burn_in: bool, pre: float,
                  post: float, output: Path | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"name": case.name, "clips": result.clips, "missing": len(result.missing),
                              "exact": exact or burn_in, "burn_in": burn_in, "pre": pre, "post": post}
    if output is not None:
        detail["output"] = str(output)
    detail["package_sha256"] = file_sha256(package)
    return detail
