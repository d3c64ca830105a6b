"""The footage a search window covered per camera (detection.coverage), which the search summary reports so the
page can tell "no recordings" from "recordings, nothing seen"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from detection.coverage import footage_coverage
from footage.catalogue import add_camera, add_site
from footage.models import Segment, SegmentStatus

T0 = datetime(2024, 11, 6, 21, 0, tzinfo=UTC)  # 05:00 on 7 Nov in Asia/Shanghai


def _segment(session: Session, n: int, start_min: float, end_min: float, status: str) -> None:
    session.add(Segment(camera_id="cam-north", path=f"/x/{n}.mp4", original_name=f"{n}.mp4", sha256=f"{n:064d}",
                        size_bytes=1, start=T0 + timedelta(minutes=start_min), end=T0 + timedelta(minutes=end_min),
                        start_source="name", fps=25.0, codec="h264", width=640, height=360, status=status))


def test_coverage_merges_overlaps_clips_to_the_window_and_counts_what_is_indexed(db: Session) -> None:
    add_site(db, "Maple Court")
    add_camera(db, "cam-north", "Maple Court", "North gate", "Asia/Shanghai", {}, 0.0)
    add_camera(db, "cam-south", "Maple Court", "South gate", "Asia/Shanghai", {}, 0.0)
    _segment(db, 1, -30, 20, SegmentStatus.INDEXED)   # starts before the window: only 20 min count
    _segment(db, 2, 10, 40, SegmentStatus.INDEXED)    # overlaps the first: counted once
    _segment(db, 3, 60, 90, SegmentStatus.QUEUED)     # recorded, not searched yet
    _segment(db, 4, 130, 150, SegmentStatus.INDEXED)  # after the window
    db.commit()

    found = footage_coverage(db, ["cam-north", "cam-south"], T0, T0 + timedelta(hours=2))
    north = found["cam-north"]
    assert north.recorded_s == 70 * 60 and north.indexed_s == 40 * 60
    assert north.spans == [(T0, T0 + timedelta(minutes=40)), (T0 + timedelta(minutes=60), T0 + timedelta(minutes=90))]
    south = found["cam-south"]
    assert south.recorded_s == 0 and south.indexed_s == 0 and south.spans == []
