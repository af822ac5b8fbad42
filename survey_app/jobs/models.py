"""One table of queued computations, shared by every domain that runs work outside the request
(the composite index, churn statuses and their analyses)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db


class JobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    """A computation asked for on a page (or by an import), processed outside the web request by
    ``flask jobs work``; the page polls its progress."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what to run: a name registered with ``jobs.services.handler`` ("index", "churn")
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[JobStatus] = mapped_column(
        sa.Enum(
            JobStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=JobStatus.QUEUED,
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: progress in steps of the handler's choosing (periods, stages); total 0 until it starts
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    #: the error of a failed job, or a one-line summary of a finished one
    message: Mapped[str] = mapped_column(sa.Text(), default="")

    requested_by = relationship("User")

    @property
    def pending(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)
