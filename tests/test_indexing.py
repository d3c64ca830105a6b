"""Running indexing jobs on real clips with the real detector: events in the database, re-indexing identical,
a corrupt file failing after its attempts without blocking the queue, a lost lease dropping its results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from detection.indexing import run_job, summarize
from detection.jobs import claim_job, queue_segments, requeue_expired
from detection.models import Event, EventThumbnail, Job, JobStatus
from footage.db import session_scope
from footage.models import Segment, SegmentStatus
from tests.support_jobs import (
    T0,
    add_segment,
    corrupt_copy,
    cut_clip,
    event_tuples,
    make_camera,
    run_all,
    shared_detector,
)

CLIP = "traffic_1080p_short.mp4"  # 0.7 s of motorway traffic: several vehicles, cheap to index


def _queue(ids: list[int]) -> list[int]:
    with session_scope() as session:
        return [job.id for job in queue_segments(session, ids)]


@pytest.mark.slow
def test_index_job_writes_events_and_reindex_gives_the_same(gw_home: Path, footage_dir: Path) -> None:
    make_camera("north-gate")
    segment_id = add_segment(gw_home, "north-gate", footage_dir / CLIP, T0)
    [job_id] = _queue([segment_id])
    [outcome] = run_all()
    assert outcome.status == JobStatus.DONE and outcome.job_id == job_id and outcome.events > 0
    first = event_tuples(segment_id)
    assert len(first) == outcome.events
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job.status == JobStatus.DONE and job.attempts == 1 and job.progress == 1.0 and job.error is None
        assert job.stats["events"] == outcome.events and job.stats["duration_s"] > 0.5
        segment = session.get(Segment, segment_id)
        assert segment.status == SegmentStatus.INDEXED
        events = list(session.scalars(select(Event)))
        assert {e.label for e in events} <= {"car", "truck", "bus", "motorcycle", "bicycle", "person"}
        # Wall-clock times: the segment's start plus the pipeline's offsets, inside the segment.
        assert all(segment.start <= e.start <= e.end <= segment.end + timedelta(seconds=1) for e in events)
        assert session.scalar(select(func.count()).select_from(EventThumbnail)) > 0

    # Re-index: the old events are replaced, not added to, and the new ones are the same.
    [again] = _queue([segment_id])
    [outcome] = run_all()
    assert outcome.status == JobStatus.DONE and outcome.job_id == again
    assert event_tuples(segment_id) == first
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == len(first)
    summary = summarize([job_id, again])
    assert summary.done == 2 and summary.failed == 0 and summary.events == 2 * len(first)


@pytest.mark.slow
def test_corrupt_segment_fails_after_its_attempts_and_the_next_job_runs(gw_home: Path, footage_dir: Path,
                                                                        tmp_path: Path) -> None:
    make_camera("north-gate")
    broken = add_segment(gw_home, "north-gate", footage_dir / CLIP, T0)
    # The stored file breaks after import (a failing disk, a cut transfer to the store).
    with session_scope() as session:
        stored = gw_home / session.get(Segment, broken).path
    corrupt_copy(footage_dir / CLIP, stored)
    piece = cut_clip(footage_dir / "street_topdown_traffic.mp4", tmp_path / "topdown_3s.mp4", 0, 3)
    good = add_segment(gw_home, "north-gate", piece, T0 + timedelta(hours=1))
    # Queued first, so it is claimed first every time it comes back to the queue.
    bad_job, good_job = _queue([broken, good])
    outcomes = run_all()
    assert [(o.job_id, o.status) for o in outcomes] == [
        (bad_job, JobStatus.QUEUED), (bad_job, JobStatus.QUEUED), (bad_job, JobStatus.FAILED),
        (good_job, JobStatus.DONE),
    ]
    with session_scope() as session:
        job = session.get(Job, bad_job)
        assert job.attempts == 3 and job.error.startswith("attempt 3 of 3: ")
        assert len(job.error) > len("attempt 3 of 3: ") + 10  # the decoder's own words are kept
        segment = session.get(Segment, broken)
        assert segment.status == SegmentStatus.FAILED and segment.error == job.error
        assert session.scalar(select(func.count()).select_from(Event).where(Event.segment_id == broken)) == 0
        assert session.get(Segment, good).status == SegmentStatus.INDEXED
    summary = summarize([bad_job, good_job])
    assert summary.failed == 1 and summary.done == 1 and summary.failures[0]["segment"] == broken


@pytest.mark.slow
def test_a_worker_that_lost_its_lease_writes_nothing(gw_home: Path, footage_dir: Path) -> None:
    from detection.pipeline import index_segment

    make_camera("north-gate")
    segment_id = add_segment(gw_home, "north-gate", footage_dir / CLIP, T0)
    [job_id] = _queue([segment_id])
    with session_scope() as session:
        claimed = claim_job(session, "slow-worker", lease_s=60)

    def index_while_lease_is_taken(path, camera, **kwargs):  # type: ignore[no-untyped-def]
        result = index_segment(path, camera, **kwargs)
        # Meanwhile the lease was judged expired and the job handed back to the queue.
        with session_scope() as session:
            requeue_expired(session, worker="slow-worker", reason="lease expired")
        return result

    outcome = run_job(claimed, "slow-worker", detector=shared_detector(), index=index_while_lease_is_taken)
    assert outcome.status == "lost"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        job = session.get(Job, job_id)
        assert job.status == JobStatus.QUEUED and job.attempts == 1
