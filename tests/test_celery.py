"""Celery for real: two `gatewatch worker` processes on the real Redis and a fresh PostgreSQL database, sharing one
data folder. The queue's messages are lost before the workers start (a Redis restart) and every job is still done;
a worker process SIGKILLed mid-segment leaves no events, and another finishes the job with identical events."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from detection.jobs import queue_segments
from detection.models import Event, Job, JobStatus
from footage.db import session_scope
from tests.conftest import REDIS_URL, _configure, _drop_postgres_database, _fresh_postgres_database
from tests.support_jobs import T0, add_segment, cut_clip, event_tuples, load_job, make_camera, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

GATEWATCH = [sys.executable, "-c", "from api.cli.main import main; main()"]



@pytest.fixture
def celery_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database, a data folder, and the environment every process of the deployment shares."""
    from api.database import migrate

    home = tmp_path / "home"
    url = _fresh_postgres_database()
    _configure(monkeypatch, home, url)
    migrate()
    queue = f"gatewatch-test-{uuid.uuid4().hex[:8]}"
    settings = {
        "GATEWATCH_BROKER_URL": REDIS_URL, "GATEWATCH_CELERY_QUEUE": queue,
        "GATEWATCH_JOB_LEASE_S": "4", "GATEWATCH_JOB_HEARTBEAT_S": "0.2",
        "GATEWATCH_JOB_REQUEUE_INTERVAL_S": "1", "GATEWATCH_JOB_REDISPATCH_AFTER_S": "3",
        "GATEWATCH_TORCH_THREADS": "1", "YOLO_OFFLINE": "1",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    env = {**os.environ, **settings}
    try:
        yield env
    finally:
        redis.Redis.from_url(REDIS_URL).delete(queue)
        _drop_postgres_database(url)


class Workers:
    """`gatewatch worker` processes started for a test, each in its own process group, stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
            self.procs.append(subprocess.Popen([*GATEWATCH, "worker", "--concurrency", "1"], env=self.env,
                                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.logs.glob("worker-*.log")))


def test_celery_workers_survive_a_lost_queue_and_a_killed_worker(celery_env: dict[str, str], footage_dir: Path,
                                                                  tmp_path: Path) -> None:
    home = Path(celery_env["GATEWATCH_HOME"])
    make_camera("north-gate")
    short = [
        add_segment(home, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0),
        add_segment(home, "north-gate", cut_clip(footage_dir / "street_topdown_traffic.mp4",
                                                 tmp_path / "a.mp4", 0, 2), T0 + timedelta(hours=1)),
        add_segment(home, "north-gate", cut_clip(footage_dir / "street_topdown_traffic.mp4",
                                                 tmp_path / "b.mp4", 10, 2), T0 + timedelta(hours=2)),
    ]
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(celery_env, logs)
    index_run = subprocess.Popen([*GATEWATCH, "index", "--engine", "celery", "--json"], env=celery_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The run queues and sends the three jobs; then Redis loses them (a restart without persistence).
        def all_sent() -> bool:
            with session_scope() as session:
                jobs = list(session.scalars(select(Job)))
            return len(jobs) == 3 and all("dispatched_at" in (job.stats or {}) for job in jobs)

        wait_for(all_sent, 60, "gatewatch index to send the tasks")
        broker = redis.Redis.from_url(REDIS_URL)
        assert broker.llen(celery_env["GATEWATCH_CELERY_QUEUE"]) == 3
        broker.delete(celery_env["GATEWATCH_CELERY_QUEUE"])
        workers.start(2)
        out, err = index_run.communicate(timeout=300)
        assert index_run.returncode == 0, err + workers.log_text()
        summary = json.loads(out)
        assert summary["segments"] == 3 and summary["done"] == 3 and summary["engine"] == "celery"
        assert summary["events"] > 0
        with session_scope() as session:
            jobs = list(session.scalars(select(Job)))
        assert all(job.engine == "celery" and job.worker.endswith(":celery") for job in jobs)
        assert all(event_tuples(segment_id) for segment_id in short[:1])

        # A longer segment, queued the way an upload queues it: the workers' requeue step sends it.
        long_clip = cut_clip(footage_dir / "street_topdown_traffic.mp4", tmp_path / "long.mp4", 0, 8)
        segment_id = add_segment(home, "north-gate", long_clip, T0 + timedelta(hours=3))
        with session_scope() as session:
            [job] = queue_segments(session, [segment_id], engine="celery")
            job_id = job.id

        def making_progress():  # type: ignore[no-untyped-def]
            job = load_job(job_id)
            return job if job.status == JobStatus.RUNNING and job.progress > 0 else None

        running = wait_for(making_progress, 180, "a worker to make progress on the long segment")
        host, pid, _ = running.worker.split(":")
        assert host == socket.gethostname()
        os.kill(int(pid), signal.SIGKILL)  # the pool process running the task, as the OOM killer would
        killed = load_job(job_id)
        assert killed.status == JobStatus.RUNNING, "the job finished before the kill; use a longer clip"
        with session_scope() as session:
            assert session.scalar(select(func.count()).select_from(Event)
                                  .where(Event.segment_id == segment_id)) == 0

        done = wait_for(lambda: (j := load_job(job_id)).status in (JobStatus.DONE, JobStatus.FAILED) and j, 240,
                     "another worker to finish the job")
        assert done.status == JobStatus.DONE, done.error
        # Two attempts as a rule; a third only if a heavily loaded machine starved a heartbeat for a whole lease.
        assert done.attempts >= 2 and done.worker != running.worker
        recovered = event_tuples(segment_id)
        assert recovered

        # Indexed again, uninterrupted: the same events.
        with session_scope() as session:
            [again] = queue_segments(session, [segment_id], engine="celery")
            again_id = again.id
        wait_for(lambda: load_job(again_id).status == JobStatus.DONE, 180, "the uninterrupted re-index")
        assert event_tuples(segment_id) == recovered
    finally:
        if index_run.poll() is None:
            index_run.kill()
            index_run.wait()
        workers.stop()


@pytest.mark.redis
def test_with_a_broker_the_service_only_queues_and_sends(gw_home: Path, footage_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from footage.settings import get_settings

    queue = f"gatewatch-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GATEWATCH_BROKER_URL", REDIS_URL)
    monkeypatch.setenv("GATEWATCH_CELERY_QUEUE", queue)
    get_settings.cache_clear()
    make_camera("north-gate")
    segment_id = add_segment(gw_home, "north-gate", footage_dir / "traffic_1080p_short.mp4", T0)
    broker = redis.Redis.from_url(REDIS_URL)
    try:
        with TestClient(create_app()) as client:
            assert client.app.state.worker_pool is None and client.app.state.dispatcher is not None
            with session_scope() as session:
                [job] = queue_segments(session, [segment_id])  # what an upload does
                job_id = job.id
            # The task is sent first, then the sending is noted (a crash between the two only means a resend).
            sent = wait_for(lambda: "dispatched_at" in (j := load_job(job_id)).stats and j, 30,
                         "the service to send the job's task")
            assert sent.status == JobStatus.QUEUED and broker.llen(queue) == 1
            message = json.loads(broker.lindex(queue, 0))
            assert message["headers"]["task"] == "gatewatch.index_job"
            assert message["headers"]["argsrepr"] == f"[{job_id}]"
        assert load_job(job_id).status == JobStatus.QUEUED  # nothing ran it here: that is the workers' job
    finally:
        broker.delete(queue)
