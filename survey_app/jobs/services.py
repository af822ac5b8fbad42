"""Queue, claim and run jobs. A domain registers what a kind of job does with ``@handler(kind)``;
``flask jobs work`` (from cron) claims queued jobs one at a time and runs them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from survey_app.db_types import utcnow
from survey_app.extensions import db

from .models import Job, JobStatus

log = logging.getLogger(__name__)

#: progress(done, total): record how far a job has got (commits, so the page can show it)
Progress = Callable[[int, int], None]
#: what a kind of job runs: takes the progress callback, returns a one-line summary (or None)
Handler = Callable[[Progress], "str | None"]

_HANDLERS: dict[str, Handler] = {}

#: a running job that started longer ago than this is taken to be interrupted
STALE_AFTER = timedelta(hours=1)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def kinds() -> list[str]:
    """The kinds of job a worker can run."""
    return sorted(_HANDLERS)


def _stale(job: Job) -> bool:
    return job.status == JobStatus.RUNNING and (
        job.started_at is None or job.started_at < utcnow() - STALE_AFTER
    )


def _fail_stale(kind: str) -> None:
    """A running job whose worker died (the machine restarted mid-run): record that."""
    for job in db.session.scalars(
        sa.select(Job).where(Job.kind == kind, Job.status == JobStatus.RUNNING)
    ):
        if _stale(job):
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
            job.message = "interrupted: no progress for an hour"
    db.session.flush()


def request_job(kind: str, requested_by_id: int | None, *, join_running: bool = False) -> Job:
    """Queue a job of ``kind``, or return the one already queued (a second click, a second
    import, queue nothing more: the queued job will see all their data). With ``join_running``
    a running job is returned too (for work whose inputs a new request does not change). The
    caller checks who may ask, and commits."""
    if kind not in _HANDLERS:
        raise ValueError(f"no job handler for {kind!r}")
    _fail_stale(kind)
    states = [JobStatus.QUEUED, JobStatus.RUNNING] if join_running else [JobStatus.QUEUED]
    pending = db.session.scalar(
        sa.select(Job).where(Job.kind == kind, Job.status.in_(states)).order_by(Job.id).limit(1)
    )
    if pending is not None:
        return pending
    job = Job(kind=kind, requested_by_id=requested_by_id)
    db.session.add(job)
    db.session.flush()
    log.info("job %s (%s) queued by user %s", job.id, kind, requested_by_id)
    return job


def latest_job(kind: str) -> Job | None:
    return db.session.scalar(
        sa.select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(1)
    )


def get_job(kind: str, job_id: int) -> Job | None:
    job = db.session.get(Job, job_id)
    return job if job is not None and job.kind == kind else None


def claim_job(kinds: tuple[str, ...] | None = None) -> Job | None:
    """Take the oldest queued job (of ``kinds``, default all) whose kind has no job running: an
    UPDATE ... WHERE status = 'queued', so two workers never run the same job, and two jobs of
    one kind never run at once. The caller commits."""
    query = sa.select(Job.id, Job.kind).where(Job.status == JobStatus.QUEUED).order_by(Job.id)
    if kinds is not None:
        query = query.where(Job.kind.in_(kinds))
    for job_id, kind in db.session.execute(query).all():
        _fail_stale(kind)
        running = db.session.scalar(
            sa.select(sa.func.count(Job.id)).where(
                Job.kind == kind, Job.status == JobStatus.RUNNING
            )
        )
        if running:
            continue
        claimed = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=utcnow())
        ).rowcount
        if claimed:
            return db.session.get(Job, job_id)
    return None


def run_job(job: Job) -> bool:
    """Run a claimed job with its kind's handler, committing its progress as it goes; a failure
    is rolled back and recorded on the job. Returns whether it succeeded."""
    job_id = job.id

    def progress(done: int, total: int) -> None:
        current = db.session.get(Job, job_id)
        current.done, current.total = done, total
        db.session.commit()

    try:
        summary = _HANDLERS[job.kind](progress)
    except Exception as error:  # recorded on the job for the page; the worker goes on
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        failed = db.session.get(Job, job_id)
        failed.status, failed.finished_at = JobStatus.FAILED, utcnow()
        failed.message = (str(error) or type(error).__name__)[:500]
        db.session.commit()
        return False
    finished = db.session.get(Job, job_id)
    finished.status, finished.finished_at = JobStatus.DONE, utcnow()
    finished.message = summary or ""
    db.session.commit()
    log.info("job %s (%s) done: %s", job_id, finished.kind, summary)
    return True


def work(kinds: tuple[str, ...] | None = None) -> tuple[int, int]:
    """Run queued jobs until none is left: (jobs run, jobs failed)."""
    ran = failed = 0
    while (job := claim_job(kinds)) is not None:
        db.session.commit()
        ran += 1
        failed += not run_job(job)
    return ran, failed
