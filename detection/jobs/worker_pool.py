"""The local worker pool: N indexing processes on this machine, supervised, sharing the database queue.

Each child process (multiprocessing "spawn": no inherited threads, sockets or decoder state) loads the detector
once, then loops claim -> run -> repeat until told to stop. Decoding and detection therefore never run in the
API process: a file that crashes a decoder kills one child, whose job the parent hands back to the queue (the
attempt counts) before starting a new child. The parent also re-queues jobs whose leases expired, which covers
workers of other runs and machines that died.

Used by `gatewatch serve` (``settings.local_workers`` processes, started when there is work) and by
`gatewatch index` in the foreground (children stop when nothing is left to claim).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any

from detection.jobs.queue import claim_job, requeue_expired, worker_name
from detection.models import Job, JobStatus
from detection.settings import JobTimings, get_detection_settings
from footage.db import session_scope

log = logging.getLogger(__name__)

SETUP_FAILED = 3
"""A child's exit code when it cannot start (detector missing, database unreachable): restarting will not help."""
MAX_RESTARTS_PER_MINUTE = 20
"""A child that keeps dying faster than this is not restarted (something is wrong beyond one bad file)."""


class PoolError(RuntimeError):
    """The worker pool cannot run: its processes fail to start."""


@dataclass(frozen=True)
class PoolConfig:
    """What each child process is told."""

    workers: int
    """How many child processes run."""
    job_ids: tuple[int, ...] | None
    """Only claim these jobs (None: any queued job)."""
    exit_when_idle: bool
    """Exit once nothing is left to claim (foreground runs) instead of waiting for new work (the service)."""
    poll_s: float
    """Seconds an idle child waits before looking for work again."""
    threads_per_worker: int
    """CPU threads each child gives the detector (the parent's GATEWATCH_TORCH_THREADS split between them)."""
    timings: JobTimings = field(default_factory=JobTimings.from_settings)
    """Leases and heartbeats, as the parent read them."""


def _child_main(config: PoolConfig, stop: Any, errors: Any) -> None:
    """A pool child: load the detector once, then claim and run jobs until stopped or idle."""
    # Ctrl-C reaches the whole process group; the parent stops the children through ``stop`` instead, so a job
    # in progress is handed back without using an attempt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # ultralytics prints to stdout; a child's stdout belongs to the parent's output (`gatewatch index --json`).
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    me = worker_name("local")
    try:
        import torch

        torch.set_num_threads(config.threads_per_worker)
        from detection.detector import Detector
        from detection.indexing import run_job

        detector = Detector.load(threads=config.threads_per_worker)
    except Exception as exc:
        errors.put(f"worker process could not start: {type(exc).__name__}: {exc}")
        raise SystemExit(SETUP_FAILED) from exc
    timings = config.timings
    while not stop.is_set():
        try:
            with session_scope() as session:
                claimed = claim_job(session, me, lease_s=timings.lease_s, engine="local", job_ids=config.job_ids)
        except Exception:
            # The database is away for a moment (a restart, a lock held too long): try again shortly.
            log.exception("claiming a job failed; retrying in %.0f s", max(config.poll_s, 1.0))
            stop.wait(max(config.poll_s, 1.0))
            continue
        if claimed is None:
            if config.exit_when_idle:
                return
            stop.wait(config.poll_s)
            continue
        outcome = run_job(claimed, me, detector=detector, timings=timings, should_stop=stop.is_set)
        log.info("job %s: %s %s", outcome.job_id, outcome.status, outcome.error or "")


class WorkerPool:
    """Starts, watches and stops the child processes; hands a dead child's job back to the queue."""

    def __init__(self, workers: int, *, job_ids: list[int] | None = None, exit_when_idle: bool = False,
                 timings: JobTimings | None = None, poll_s: float = 1.0, threads: int | None = None) -> None:
        if workers < 1:
            raise PoolError("the worker pool needs at least one worker; pass --workers 1 or more")
        settings = get_detection_settings()
        total_threads = threads or settings.torch_threads
        self.timings = timings or JobTimings.from_settings(settings)
        self.config = PoolConfig(
            workers=workers,
            job_ids=tuple(job_ids) if job_ids is not None else None,
            exit_when_idle=exit_when_idle,
            poll_s=poll_s,
            threads_per_worker=max(1, total_threads // workers),
            timings=self.timings,
        )
        self._ctx = multiprocessing.get_context("spawn")
        self._stop = self._ctx.Event()
        self._errors = self._ctx.Queue()
        self._children: list[SpawnProcess | None] = [None] * workers
        self._deaths: list[float] = []
        self._last_requeue = 0.0
        self.setup_error: str | None = None
        self._thread: threading.Thread | None = None
        self._thread_stop = threading.Event()

    # --- children -------------------------------------------------------------------------------------------
    def _spawn(self, slot: int) -> None:
        child = self._ctx.Process(target=_child_main, args=(self.config, self._stop, self._errors),
                                  name=f"gatewatch-worker-{slot}", daemon=False)
        child.start()
        self._children[slot] = child

    def start(self) -> None:
        """Start every child process."""
        for slot in range(self.config.workers):
            if self._children[slot] is None or not self._children[slot].is_alive():  # type: ignore[union-attr]
                self._spawn(slot)

    @property
    def alive(self) -> int:
        return sum(1 for child in self._children if child is not None and child.is_alive())

    def _child_worker_name(self, child: SpawnProcess) -> str:
        return f"{socket.gethostname()}:{child.pid}:local"

    def _drain_errors(self) -> None:
        while True:
            try:
                self.setup_error = self._errors.get_nowait()
            except queue.Empty:
                return

    def supervise_once(self) -> bool:
        """Reap dead children (their jobs back to the queue), restart them, re-queue expired leases.

        Returns True while the pool has work going on (a child alive, or one restarted).
        """
        self._drain_errors()
        busy = False
        for slot, child in enumerate(self._children):
            if child is None:
                continue
            if child.is_alive():
                busy = True
                continue
            child.join(timeout=0)
            code = child.exitcode
            self._children[slot] = None
            if code == 0:
                continue
            if code == SETUP_FAILED:
                self._drain_errors()
                continue
            # Killed or crashed mid-job (a decoder crash, the OOM killer, SIGKILL): its job is not coming back.
            with session_scope() as session:
                requeue_expired(session, worker=self._child_worker_name(child),
                                reason=f"worker process {child.pid} died (exit code {code})")
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < 60] + [now]
            if self._stop.is_set():
                continue
            if len(self._deaths) > MAX_RESTARTS_PER_MINUTE:
                self.setup_error = f"worker processes died {len(self._deaths)} times in a minute; not restarting"
                continue
            log.warning("worker process %s died (exit code %s); starting another", child.pid, code)
            self._spawn(slot)
            busy = True
        if time.monotonic() - self._last_requeue >= min(self.timings.requeue_interval_s, self.timings.lease_s):
            self._last_requeue = time.monotonic()
            with session_scope() as session:
                requeue_expired(session)
        return busy

    def claimable(self) -> int:
        """Queued jobs this pool may claim."""
        from sqlalchemy import func, select

        stmt = select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED, Job.kind == "index")
        if self.config.job_ids is not None:
            if not self.config.job_ids:
                return 0
            stmt = stmt.where(Job.id.in_(list(self.config.job_ids)))
        with session_scope() as session:
            return int(session.scalar(stmt) or 0)

    def _holds_job(self, child: SpawnProcess) -> bool:
        from sqlalchemy import select

        with session_scope() as session:
            held = session.scalar(select(Job.id).where(Job.status == JobStatus.RUNNING,
                                                       Job.worker == self._child_worker_name(child)).limit(1))
        return held is not None

    # --- foreground -----------------------------------------------------------------------------------------
    def run(self, on_tick: Callable[[], None] | None = None, tick_s: float = 0.5) -> None:
        """Run until nothing is left to claim (``exit_when_idle``) or ``stop()``; call ``on_tick`` as it goes."""
        self.start()
        try:
            while True:
                busy = self.supervise_once()
                if on_tick is not None:
                    on_tick()
                if self.setup_error and self.alive == 0:
                    raise PoolError(self.setup_error)
                if not busy:
                    if self._stop.is_set():
                        return
                    # Jobs handed back after the children went idle (a sibling died, a lease expired) need one.
                    if self.claimable() == 0:
                        return
                    self.start()
                time.sleep(tick_s)
        finally:
            self.stop()

    # --- in the service -------------------------------------------------------------------------------------
    def start_background(self) -> None:
        """Supervise from a thread; children start when there is queued work and then stay, detector loaded."""
        self._thread = threading.Thread(target=self._serve_loop, name="gatewatch-worker-pool", daemon=True)
        self._thread.start()

    def _serve_loop(self) -> None:
        while not self._thread_stop.wait(self.config.poll_s):
            try:
                self.supervise_once()
                if self.alive == 0 and not self.setup_error and self.claimable() > 0:
                    self.start()
            except Exception:
                log.exception("worker pool supervision failed; retrying")

    def stop(self, grace_s: float = 15.0) -> None:
        """Ask the children to stop (a child mid-job hands the job back), wait, then terminate stragglers."""
        self._thread_stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop.set()
        # A child holding no job has nothing to finish (it may still be loading the detector): end it now.
        for child in self._children:
            if child is not None and child.is_alive() and not self._holds_job(child):
                child.terminate()
        deadline = time.monotonic() + grace_s
        for child in self._children:
            if child is not None:
                child.join(timeout=max(0.0, deadline - time.monotonic()))
        for child in self._children:
            if child is not None and child.is_alive():
                child.terminate()
                child.join(timeout=5)
        # Children that had to be terminated still hold jobs: hand those back now rather than at lease expiry.
        for child in self._children:
            if child is not None and child.exitcode not in (0, None):
                with session_scope() as session:
                    requeue_expired(session, worker=self._child_worker_name(child),
                                    reason=f"worker process {child.pid} stopped (exit code {child.exitcode})")
        self._children = [None] * self.config.workers
