"""The local worker pool for real: a worker process SIGKILLed mid-segment leaves nothing, its lease runs out and
another worker finishes the job with the same events; `gatewatch index` and the service's pool end to end."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from detection.jobs import queue_segments
from detection.jobs.worker_pool import PoolConfig, WorkerPool, _child_main
from detection.models import Event, JobStatus
from footage.db import session_scope, utcnow
from footage.models import Segment, SegmentStatus
from tests.conftest import bearer, make_user
from tests.support_jobs import (
    T0,
    add_segment,
    corrupt_copy,
    cut_clip,
    event_tuples,
    load_job,
    make_camera,
    run_all,
    wait_for,
)


@pytest.mark.slow
def test_sigkill_mid_segment_leaves_nothing_and_another_worker_finishes(
        gw_home: Path, footage_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWATCH_JOB_LEASE_S", "4")
    monkeypatch.setenv("GATEWATCH_JOB_HEARTBEAT_S", "0.2")
    make_camera("north-gate")
    clip = cut_clip(footage_dir / "street_topdown_traffic.mp4", tmp_path / "topdown_8s.mp4", 0, 8)
    segment_id = add_segment(gw_home, "north-gate", clip, T0)
    with session_scope() as session:
        [job] = queue_segments(session, [segment_id])
        job_id = job.id

    # One worker process, unsupervised, as on a machine that then dies.
    ctx = multiprocessing.get_context("spawn")
    config = PoolConfig(workers=1, job_ids=None, exit_when_idle=True, poll_s=0.2, threads_per_worker=2)
    stop, errors = ctx.Event(), ctx.Queue()  # kept referenced until the child has unpickled them
    doomed = ctx.Process(target=_child_main, args=(config, stop, errors))
    doomed.start()

    def making_progress():  # type: ignore[no-untyped-def]
        assert doomed.is_alive(), "the worker process died on its own"
        job = load_job(job_id)
        return job if job.status == JobStatus.RUNNING and job.progress > 0 else None

    try:
        wait_for(making_progress, 180, "the worker to make progress on the segment")
        # Freeze the worker, then read what it has committed: nothing can change between that reading and the
        # kill, so the kill lands at a known point, mid-segment (WAL lets this read past a frozen writer).
        os.kill(doomed.pid, signal.SIGSTOP)
        frozen = load_job(job_id)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(10)
    finally:
        if doomed.is_alive():
            doomed.kill()
    assert doomed.exitcode == -signal.SIGKILL
    assert frozen.status == JobStatus.RUNNING and 0 < frozen.progress < 1, (
        f"the worker was frozen at {frozen.status} {frozen.progress}, not mid-segment")
    killed = load_job(job_id)
    assert (killed.status, killed.progress, killed.worker) == (frozen.status, frozen.progress, frozen.worker)
    assert killed.worker.endswith(f":{doomed.pid}:local")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.segment_id == segment_id)) == 0
        assert session.get(Segment, segment_id).status == SegmentStatus.INDEXING

    # Nobody renews the lease; once it has run out, another worker's pool re-queues the job and finishes it.
    wait_for(lambda: load_job(job_id).lease_until < utcnow(), 10, "the lease to expire")
    WorkerPool(1, exit_when_idle=True, poll_s=0.2).run()
    done = load_job(job_id)
    # Two attempts as a rule; a third only if a heavily loaded machine starved a heartbeat for a whole lease.
    assert done.status == JobStatus.DONE and done.attempts >= 2 and done.worker != killed.worker
    recovered = event_tuples(segment_id)
    assert recovered, "the clip has moving traffic; indexing it must give events"

    # The same segment indexed again without interruption gives the same events.
    with session_scope() as session:
        queue_segments(session, [segment_id])
    [outcome] = run_all()
    assert outcome.status == JobStatus.DONE
    assert event_tuples(segment_id) == recovered


def _gatewatch(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # The same entry point as the `gatewatch` console script, whether or not the script is installed.
    return subprocess.run([sys.executable, "-c", "from api.cli.main import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_gatewatch_index_runs_the_pool_and_reports(gw_home: Path, footage_dir: Path, tmp_path: Path) -> None:
    make_camera("north-gate")
    good = add_segment(gw_home, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0)
    piece = cut_clip(footage_dir / "street_topdown_traffic.mp4", tmp_path / "topdown_2s.mp4", 0, 2)
    other = add_segment(gw_home, "north-gate", piece, T0 + timedelta(hours=1))
    broken = add_segment(gw_home, "north-gate", footage_dir / "people_one_by_one.mp4", T0 + timedelta(hours=2))
    with session_scope() as session:
        corrupt_copy(footage_dir / "people_one_by_one.mp4", gw_home / session.get(Segment, broken).path)
    env = {**os.environ, "GATEWATCH_JOB_MAX_ATTEMPTS": "2"}

    result = _gatewatch("index", "--workers", "2", "--json", env=env)
    assert result.returncode == 1, result.stderr  # a segment failed for good
    summary = json.loads(result.stdout)
    assert summary["segments"] == 3 and summary["done"] == 2 and summary["failed"] == 1
    assert summary["events"] > 0 and summary["footage_s"] > 2 and summary["speed"] > 0
    assert summary["running_elsewhere"] == 0 and summary["engine"] == "local" and summary["workers"] == 2
    [failure] = summary["failures"]
    assert failure["segment"] == broken and failure["error"].startswith("attempt 2 of 2: ")
    with session_scope() as session:
        statuses = {s.id: s.status for s in session.scalars(select(Segment))}
    assert statuses == {good: SegmentStatus.INDEXED, other: SegmentStatus.INDEXED, broken: SegmentStatus.FAILED}

    listed = json.loads(_gatewatch("jobs", "--json", env=env).stdout)
    assert sorted((j["segment_id"], j["status"], j["attempts"]) for j in listed) == [
        (good, "done", 1), (other, "done", 1), (broken, "failed", 2)]
    assert all(j["created_at"].endswith("+08:00") for j in listed)  # the camera's time zone

    # Nothing is pending now (a failed segment waits for --reindex): a cron run finds no work and succeeds.
    again = _gatewatch("index", "--pending", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["segments"] == 0


@pytest.mark.slow
def test_the_service_indexes_queued_segments_on_its_local_pool(gw_home: Path, footage_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from footage.settings import get_settings

    monkeypatch.setenv("GATEWATCH_LOCAL_WORKERS", "1")
    get_settings.cache_clear()
    make_camera("north-gate")
    segment_id = add_segment(gw_home, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0)
    headers = bearer(make_user("admin", "admin"))
    with TestClient(create_app()) as client:
        pool = client.app.state.worker_pool
        assert pool is not None
        with session_scope() as session:
            queue_segments(session, [segment_id])  # what an upload does

        def finished():  # type: ignore[no-untyped-def]
            jobs = client.get("/api/v1/jobs", headers=headers).json()
            return jobs if jobs and jobs[0]["status"] in ("done", "failed") else None

        [job] = wait_for(finished, 180, "the service to index the segment", step_s=0.5)
    assert job["status"] == "done" and job["engine"] == "local" and job["progress"] == 1.0
    assert pool.alive == 0  # stopped with the service
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event)) > 0


def test_pool_hands_back_a_dead_child_s_job_at_once_and_starts_another(gw_home: Path, footage_dir: Path) -> None:
    from detection.jobs import claim_job

    make_camera("north-gate")
    segment_id = add_segment(gw_home, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0)
    with session_scope() as session:
        [job] = queue_segments(session, [segment_id])
        job_id = job.id
    # job_ids=[]: the child the pool starts in place of the dead one claims nothing, so the job stays visible.
    pool = WorkerPool(1, job_ids=[], poll_s=0.2)
    ctx = multiprocessing.get_context("spawn")
    victim = ctx.Process(target=time.sleep, args=(120,))
    victim.start()
    pool._children[0] = victim  # a pool child that has claimed the job, and is about to be killed
    with session_scope() as session:
        assert claim_job(session, f"{os.uname().nodename}:{victim.pid}:local", lease_s=600) is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    try:
        assert pool.supervise_once()  # a new child is running
        job = load_job(job_id)
        # Handed back at once, not after the 10-minute lease: the supervisor saw its child die.
        assert job.status == JobStatus.QUEUED and job.attempts == 1
        assert f"worker process {victim.pid} died (exit code -9)" in job.error
        assert pool.alive == 1 and pool._children[0].pid != victim.pid
    finally:
        pool.stop(grace_s=5)
    assert pool.alive == 0
