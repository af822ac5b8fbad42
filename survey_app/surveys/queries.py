"""Read-side aggregates of survey responses, computed in SQL (GROUP BY); only counts, sums and
means travel to Python. Statistics derived from them (mean, sd, NPS, top-2-box, 0-100 scores)
are closed-form functions of those aggregates, documented where they are computed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from survey_app.customers.models import Customer
from survey_app.customers.queries import raw_frame, utc_days
from survey_app.db_types import utcnow
from survey_app.extensions import db

from .models import (
    Answer,
    Channel,
    Construct,
    Dimension,
    Followup,
    Invitation,
    MatrixItem,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Response,
    ResultCount,
)

DEFAULT_WINDOW_DAYS = 180


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    version_id: int | None = None
    segment: str = ""
    channel: str = ""
    window_days: int = DEFAULT_WINDOW_DAYS

    @property
    def as_of(self) -> date:
        return self.end or utcnow().date()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _response_conditions(questionnaire_id: int, filters: Filters, with_dates: bool = True):
    conditions = [Response.questionnaire_id == questionnaire_id, Response.submitted_at.is_not(None)]
    if with_dates and filters.start:
        conditions.append(Response.submitted_at >= _day_start(filters.start))
    if with_dates and filters.end:
        conditions.append(Response.submitted_at < _day_start(filters.end + timedelta(days=1)))
    if filters.version_id:
        conditions.append(Response.version_id == filters.version_id)
    if filters.channel in {c.value for c in Channel}:
        conditions.append(Response.channel == Channel(filters.channel))
    if filters.segment:
        conditions.append(Response.segment == filters.segment)
    return conditions


def _count_conditions(questionnaire: Questionnaire, filters: Filters, with_dates: bool = True):
    """The same filters on the summary table ``ResultCount``."""
    conditions = [ResultCount.questionnaire_id == questionnaire.id]
    if with_dates and filters.start:
        conditions.append(ResultCount.day >= filters.start)
    if with_dates and filters.end:
        conditions.append(ResultCount.day <= filters.end)
    if filters.version_id:
        conditions.append(
            ResultCount.question_id.in_(
                sa.select(Question.id).where(Question.version_id == filters.version_id)
            )
        )
    if filters.channel in {c.value for c in Channel}:
        conditions.append(ResultCount.channel == filters.channel)
    if filters.segment:
        conditions.append(ResultCount.segment == filters.segment)
    return conditions


def month_expr(column):
    """``YYYY-MM`` of a date column, on SQLite and PostgreSQL alike."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


# --------------------------------------------------------------------------------------------
# Per question


@dataclass
class ScaleStats:
    """A rated question (or matrix row) and its distribution ``value -> count``."""

    label: str
    scale_min: int
    scale_max: int
    counts: dict[int, int] = field(default_factory=dict)
    is_nps: bool = False

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        n = self.n
        return sum(v * c for v, c in self.counts.items()) / n if n else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (n - 1 in the denominator, as pandas' ``std``)."""
        n = self.n
        if n < 2:
            return None
        mean = self.mean
        return math.sqrt(sum(c * (v - mean) ** 2 for v, c in self.counts.items()) / (n - 1))

    @property
    def score_100(self) -> float | None:
        """Mean rescaled to 0-100 with the declared scale ends: 100*(mean-min)/(max-min)."""
        mean = self.mean
        if mean is None:
            return None
        return 100.0 * (mean - self.scale_min) / (self.scale_max - self.scale_min)

    @property
    def top2(self) -> float | None:
        """Top-2-box: share (%) of answers on the two highest points (CSAT: 4-5 of 5)."""
        n = self.n
        if not n:
            return None
        return 100.0 * sum(c for v, c in self.counts.items() if v >= self.scale_max - 1) / n

    def _share(self, low: int, high: int) -> float:
        n = self.n
        return 100.0 * sum(c for v, c in self.counts.items() if low <= v <= high) / n if n else 0.0

    @property
    def promoters(self) -> float:
        return self._share(9, 10)

    @property
    def passives(self) -> float:
        return self._share(7, 8)

    @property
    def detractors(self) -> float:
        return self._share(0, 6)

    @property
    def nps(self) -> float | None:
        """Net Promoter Score: % promoters (9-10) minus % detractors (0-6)."""
        return self.promoters - self.detractors if self.n else None

    def rows(self) -> list[tuple[int, int, float]]:
        n = self.n or 1
        return [
            (v, self.counts.get(v, 0), 100.0 * self.counts.get(v, 0) / n)
            for v in range(self.scale_min, self.scale_max + 1)
        ]


@dataclass
class QuestionResult:
    question: Question
    scales: list[ScaleStats] = field(default_factory=list)
    #: for choice questions: (value, label, count, share of respondents %)
    choices: list[tuple[str, str, int, float]] = field(default_factory=list)
    answered: int = 0


def _latest_questions(questionnaire: Questionnaire, filters: Filters) -> list[Question]:
    """The questions to report, by code: those of the filtered version, or of the newest version
    holding each code (so results span versions)."""
    versions = list(questionnaire.versions)
    if filters.version_id:
        versions = [v for v in versions if v.id == filters.version_id]
    by_code: dict[str, Question] = {}
    for version in versions:  # oldest first: newer versions overwrite
        for section in version.sections:
            for question in section.questions:
                by_code.pop(question.code, None)
                by_code[question.code] = question
    order = {}
    for version in versions[-1:]:
        for section in version.sections:
            for question in section.questions:
                order[question.code] = (section.position, question.position)
    return sorted(by_code.values(), key=lambda q: order.get(q.code, (999, q.position)))


def question_results(questionnaire: Questionnaire, filters: Filters) -> tuple[int, list]:
    """``(number of responses, [QuestionResult])`` for the filtered responses."""
    conditions = _response_conditions(questionnaire.id, filters)
    responses = db.session.scalar(sa.select(sa.func.count(Response.id)).where(*conditions))
    questions = _latest_questions(questionnaire, filters)
    code_of = dict(
        db.session.execute(
            sa.select(Question.id, Question.code)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        ).all()
    )
    item_code_of = dict(
        db.session.execute(
            sa.select(MatrixItem.id, MatrixItem.code)
            .join(Question, Question.id == MatrixItem.question_id)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        ).all()
    )
    type_of = dict(
        db.session.execute(
            sa.select(Question.id, Question.type)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        ).all()
    )
    counted = db.session.execute(
        sa.select(
            ResultCount.question_id,
            ResultCount.item_id,
            ResultCount.value_num,
            ResultCount.choice,
            sa.func.sum(ResultCount.count),
        )
        .where(*_count_conditions(questionnaire, filters))
        .group_by(
            ResultCount.question_id, ResultCount.item_id, ResultCount.value_num, ResultCount.choice
        )
    ).all()

    dist: dict[tuple[str, str | None], dict[int, int]] = {}
    choice_counts: dict[str, dict[str, int]] = {}
    answered: dict[str, int] = {}
    for question_id, item_id, value, choice, count in counted:
        code, count = code_of[question_id], int(count)
        if choice:
            bucket = choice_counts.setdefault(code, {})
            bucket[choice] = bucket.get(choice, 0) + count
            continue
        if item_id:
            bucket = dist.setdefault((code, item_code_of.get(item_id)), {})
            bucket[int(value)] = bucket.get(int(value), 0) + count
            continue
        answered[code] = answered.get(code, 0) + count
        if type_of[question_id] in (QuestionType.LIKERT, QuestionType.NPS):
            bucket = dist.setdefault((code, None), {})
            bucket[int(value)] = bucket.get(int(value), 0) + count

    results = []
    for question in questions:
        result = QuestionResult(question, answered=answered.get(question.code, 0))
        if question.type is QuestionType.MATRIX:
            for item in question.items:
                result.scales.append(
                    ScaleStats(
                        item.text,
                        question.scale_min,
                        question.scale_max,
                        dist.get((question.code, item.code), {}),
                    )
                )
        elif question.type.scored:
            result.scales.append(
                ScaleStats(
                    question.text,
                    question.scale_min,
                    question.scale_max,
                    dist.get((question.code, None), {}),
                    is_nps=question.type is QuestionType.NPS,
                )
            )
        elif question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            counts = choice_counts.get(question.code, {})
            base = result.answered or 1
            result.choices = [
                (value, label, counts.get(value, 0), 100.0 * counts.get(value, 0) / base)
                for value, label in question.choices()
            ]
        results.append(result)
    return responses, results


# --------------------------------------------------------------------------------------------
# Per dimension


@dataclass
class DimensionScore:
    dimension: Dimension
    current: float | None
    current_n: int
    previous: float | None
    previous_n: int

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


def dimension_scores(questionnaire: Questionnaire, filters: Filters):
    """Per dimension: mean 0-100 score of its rated answers over the rolling window ending at
    ``filters.as_of`` and over the window before it, with answer counts; and the monthly means
    over both windows. Each answer is rescaled with its item's declared ends,
    ``100 * (value - min) / (max - min)``, then averaged (so items on different scales mix)."""
    window = timedelta(days=filters.window_days)
    current_start = filters.as_of - window + timedelta(days=1)
    previous_start = current_start - window
    rc = ResultCount
    dimension_id = sa.func.coalesce(MatrixItem.dimension_id, Question.dimension_id)
    scale_min = sa.cast(Question.scale_min, sa.Float)
    span = sa.cast(Question.scale_max - Question.scale_min, sa.Float)
    rescaled_sum = sa.func.sum(rc.count * (rc.value_num - scale_min) * 100.0 / span)
    n = sa.func.sum(rc.count)
    base = (
        sa.select()
        .select_from(rc)
        .join(Question, Question.id == rc.question_id)
        .outerjoin(MatrixItem, MatrixItem.id == rc.item_id)
        .where(
            *_count_conditions(questionnaire, filters, with_dates=False),
            rc.day >= previous_start,
            rc.day <= filters.as_of,
            rc.choice == "",
            Question.type.in_([QuestionType.LIKERT, QuestionType.NPS, QuestionType.MATRIX]),
            sa.or_(Question.type != QuestionType.MATRIX, rc.item_id != 0),
            dimension_id.is_not(None),
        )
    )
    bucket = sa.case((rc.day >= current_start, 1), else_=0).label("is_current")
    windows = db.session.execute(
        base.add_columns(dimension_id.label("dimension_id"), bucket, rescaled_sum, n).group_by(
            dimension_id, bucket
        )
    ).all()
    month = month_expr(rc.day).label("month")
    monthly = db.session.execute(
        base.add_columns(dimension_id.label("dimension_id"), month, rescaled_sum, n)
        .group_by(dimension_id, month)
        .order_by(month)
    ).all()
    dimensions = {d.id: d for d in db.session.scalars(sa.select(Dimension))}
    by_dimension: dict[int, dict] = {}
    for dim_id, is_current, total, count in windows:
        by_dimension.setdefault(dim_id, {})[bool(is_current)] = (float(total) / count, int(count))
    scores = [
        DimensionScore(
            dimensions[dim_id],
            *(values.get(True) or (None, 0)),
            *(values.get(False) or (None, 0)),
        )
        for dim_id, values in by_dimension.items()
    ]
    scores.sort(key=lambda s: (s.dimension.position, s.dimension.id))
    trend = [(dimensions[d], m, float(total) / count, int(count)) for d, m, total, count in monthly]
    return scores, trend, (current_start, filters.as_of)


# --------------------------------------------------------------------------------------------
# Invitations


def invitation_stats(questionnaire_id: int, now: datetime | None = None) -> dict:
    now = now or utcnow()
    row = db.session.execute(
        sa.select(
            sa.func.count(Invitation.id),
            sa.func.count(Invitation.opened_at),
            sa.func.count(Invitation.completed_at),
            sa.func.sum(
                sa.case(
                    (sa.and_(Invitation.completed_at.is_(None), Invitation.expires_at <= now), 1),
                    else_=0,
                )
            ),
        ).where(Invitation.questionnaire_id == questionnaire_id)
    ).one()
    partial = db.session.scalar(
        sa.select(sa.func.count(Response.id))
        .join(Invitation, Invitation.id == Response.invitation_id)
        .where(Invitation.questionnaire_id == questionnaire_id, Response.submitted_at.is_(None))
    )
    total, opened, completed, expired = row[0], row[1], row[2], int(row[3] or 0)
    return {
        "total": total,
        "opened": opened,
        "completed": completed,
        "expired": expired,
        "partial": partial,
        "rate": 100.0 * completed / total if total else None,
    }


INVITATION_STATES = ("not_opened", "opened", "partial", "completed", "expired")


def invitation_state_expr(now: datetime):
    has_partial = (
        sa.select(Response.id)
        .where(Response.invitation_id == Invitation.id, Response.submitted_at.is_(None))
        .exists()
    )
    return sa.case(
        (Invitation.completed_at.is_not(None), "completed"),
        (Invitation.expires_at <= now, "expired"),
        (has_partial, "partial"),
        (Invitation.opened_at.is_not(None), "opened"),
        else_="not_opened",
    )


def invitation_page(questionnaire_id: int, page: int, per_page: int, state: str = ""):
    now = utcnow()
    state_col = invitation_state_expr(now).label("state")
    query = (
        sa.select(Invitation, state_col)
        .where(Invitation.questionnaire_id == questionnaire_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if state in INVITATION_STATES:
        query = query.where(invitation_state_expr(now) == state)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def invitations_for_export(questionnaire_id: int):
    now = utcnow()
    return db.session.execute(
        sa.select(Invitation, Customer, invitation_state_expr(now))
        .join(Customer, Customer.id == Invitation.customer_id)
        .where(Invitation.questionnaire_id == questionnaire_id)
        .order_by(Customer.code)
    ).all()


# --------------------------------------------------------------------------------------------
# Text answers, raw export, follow-up


def text_answers(
    questionnaire: Questionnaire, code: str, filters: Filters, search: str, page: int, per_page: int
):
    conditions = _response_conditions(questionnaire.id, filters)
    query = (
        sa.select(Answer.value_text, Response.submitted_at, Response.id)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(*conditions, Question.code == code, Answer.value_text.is_not(None))
    )
    if search:
        query = query.where(
            sa.func.lower(Answer.value_text).like(f"%{_escape_like(search.lower())}%", escape="\\")
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Response.submitted_at.desc(), Answer.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export_rows(questionnaire: Questionnaire, filters: Filters):
    """Header and rows of the raw-response export: one row per response, one column per
    question code (matrix rows as ``code.item``), multiple choices joined with ``; ``."""
    questions = _latest_questions(questionnaire, filters)
    columns: list[str] = []
    for question in questions:
        if question.type is QuestionType.MATRIX:
            columns += [f"{question.code}.{item.code}" for item in question.items]
        else:
            columns.append(question.code)
    index = {name: i for i, name in enumerate(columns)}
    header = ["response_id", "submitted_at", "version", "channel", "language"]
    with_customer = not questionnaire.anonymous
    if with_customer:
        header += ["customer_code", "customer_name", "segment"]
    header += columns
    conditions = _response_conditions(questionnaire.id, filters)
    responses = db.session.execute(
        sa.select(
            Response.id,
            Response.submitted_at,
            QuestionnaireVersion.number,
            Response.channel,
            Response.language,
            Customer.code,
            Customer.name,
            Customer.segment,
        )
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.version_id)
        .outerjoin(Customer, Customer.id == Response.customer_id)
        .where(*conditions)
        .order_by(Response.id)
    ).all()
    answers = db.session.execute(
        sa.select(
            Answer.response_id, Question.code, MatrixItem.code, Answer.value_num, Answer.value_text
        )
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(MatrixItem, MatrixItem.id == Answer.item_id)
        .where(*conditions)
        .order_by(Answer.response_id, Answer.id)
    ).all()
    cells: dict[int, list] = {}
    for response_id, code, item_code, number, text in answers:
        name = f"{code}.{item_code}" if item_code else code
        if name not in index:
            continue
        row = cells.setdefault(response_id, [None] * len(columns))
        value = (
            (int(number) if float(number).is_integer() else number) if number is not None else text
        )
        position = index[name]
        row[position] = value if row[position] is None else f"{row[position]}; {value}"
    rows = []
    for rid, submitted, number, channel, language, c_code, c_name, segment in responses:
        row = [rid, submitted.strftime("%Y-%m-%d %H:%M:%S"), number, channel.value, language]
        if with_customer:
            row += [c_code or "", c_name or "", segment or ""]
        rows.append(row + cells.get(rid, [None] * len(columns)))
    return header, rows


def detractor_condition():
    """An answer that makes its response a detractor: NPS 0-6, or a satisfaction rating in the
    bottom two points of its scale."""
    return sa.or_(
        sa.and_(Question.type == QuestionType.NPS, Answer.value_num <= 6),
        sa.and_(
            Question.type == QuestionType.LIKERT,
            Question.construct == "satisfaction",
            Answer.value_num <= Question.scale_min + 1,
        ),
    )


#: the follow-up list's views: responses still to follow up, those followed up (by a case or a
#: note), every low-scoring response
FOLLOWUP_STATUSES = ("waiting", "done", "all")


def _followed_up(cases: sa.Select | None):
    """Followed up: a note recorded, or a case opened from the response. ``cases`` selects the
    ids of the responses with a case (``complaints.services.responses_with_a_case``: surveys
    import no complaint table); None counts notes only."""
    noted = sa.exists().where(Followup.response_id == Response.id)
    return sa.or_(noted, Response.id.in_(cases)) if cases is not None else noted


def _followup_conditions(
    questionnaire_id: int | None, since: date | None, status: str, cases: sa.Select | None
) -> list:
    """Submitted responses with a detractor answer (``detractor_condition``), in a status:
    ``waiting`` (a known customer, not followed up: an anonymous response has nobody to
    contact), ``done`` (followed up) or ``all``."""
    # a correlated EXISTS, probed per response of the window through the answers' response
    # index: an IN over every detractor answer read all the answers first (0.9 s at 650,000).
    # OFFSET 0 keeps it correlated on PostgreSQL, whose planner otherwise turns it into a semi
    # join that hashes every detractor answer (200,000 of them at 650,000 answers) to keep the
    # window's few thousand responses: 150 ms where probing each takes 60 ms. SQLite probes
    # per response either way.
    low_score = sa.exists(
        sa.select(Answer.id)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id == Response.id, detractor_condition())
        .offset(0)
    )
    conditions = [Response.submitted_at.is_not(None), low_score]
    if questionnaire_id:
        conditions.append(Response.questionnaire_id == questionnaire_id)
    if since:
        conditions.append(Response.submitted_at >= _day_start(since))
    if status == "waiting":
        conditions += [Response.customer_id.is_not(None), ~_followed_up(cases)]
    elif status == "done":
        conditions.append(_followed_up(cases))
    return conditions


def followup_counts(
    questionnaire_id: int | None = None, since: date | None = None, cases: sa.Select | None = None
) -> dict:
    """How many low-scoring responses are waiting, done and in all, in one query."""
    waiting = sa.and_(Response.customer_id.is_not(None), ~_followed_up(cases))
    row = db.session.execute(
        sa.select(
            sa.func.count(sa.case((waiting, 1))),
            sa.func.count(sa.case((_followed_up(cases), 1))),
            sa.func.count(Response.id),
        ).where(*_followup_conditions(questionnaire_id, since, "all", cases))
    ).one()
    return {"waiting": row[0], "done": row[1], "all": row[2]}


def waiting_of_customer(
    customer_id: int, cases: sa.Select | None = None, exclude: int | None = None
) -> list[int]:
    """The customer's low-scoring responses still waiting for a follow-up (any date), oldest
    first: the ones a single call may settle together."""
    query = sa.select(Response.id).where(
        *_followup_conditions(None, None, "waiting", cases), Response.customer_id == customer_id
    )
    if exclude is not None:
        query = query.where(Response.id != exclude)
    return list(db.session.scalars(query.order_by(Response.submitted_at, Response.id)))


def _followup_rows(
    questionnaire_id: int | None, since: date | None, status: str, cases: sa.Select | None
) -> sa.Select:
    """The follow-up list's rows, ``(response, customer, questionnaire)``, newest first."""
    return (
        sa.select(Response, Customer, Questionnaire)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .outerjoin(Customer, Customer.id == Response.customer_id)
        .where(*_followup_conditions(questionnaire_id, since, status, cases))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
    )


def _scores_and_notes(ids: list[int]) -> tuple[dict, dict]:
    """The low answers ``[(code, value)]`` and the follow-up note of each response, by id."""
    scores, notes = {}, {}
    if ids:
        for response_id, code, value in db.session.execute(
            sa.select(Answer.response_id, Question.code, Answer.value_num)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_(ids), detractor_condition())
        ):
            scores.setdefault(response_id, []).append((code, int(value)))
        notes = {
            note.response_id: note
            for note in db.session.scalars(
                sa.select(Followup)
                .where(Followup.response_id.in_(ids))
                .options(joinedload(Followup.user))
            )
        }
    return scores, notes


def followup_page(
    page: int,
    per_page: int,
    questionnaire_id: int | None = None,
    since: date | None = None,
    status: str = "all",
    cases: sa.Select | None = None,
    total: int | None = None,
):
    """One page of low-scoring responses, newest first: ``(rows, total, scores, notes)``.
    ``rows`` are ``(response, customer, questionnaire)``; ``scores`` their low answers and
    ``notes`` their follow-up notes, by response id. ``total``: the count when the caller has
    it already (``followup_counts``), which spares a query as costly as the page's own."""
    query = _followup_rows(questionnaire_id, since, status, cases)
    if total is None:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total, *_scores_and_notes([row[0].id for row in rows])


def followup_export(
    questionnaire_id: int | None,
    since: date | None,
    status: str,
    cases: sa.Select | None = None,
    chunk: int = 500,
) -> Iterator[tuple[list, dict, dict]]:
    """The whole list, newest first, streamed from one query in chunks of ``chunk`` rows:
    ``(rows, scores, notes)`` for each (no OFFSET walk, no count)."""
    query = _followup_rows(questionnaire_id, since, status, cases)
    for rows in db.session.execute(query.execution_options(yield_per=chunk)).partitions():
        yield rows, *_scores_and_notes([row[0].id for row in rows])


# --------------------------------------------------------------------------------------------
# Construct-tagged answers, for the satisfaction index


def construct_answers(start: date, end: date) -> pd.DataFrame:
    """Every scored answer to a construct-tagged item (a Likert/NPS question or a matrix row)
    of the responses submitted from ``start`` to ``end`` (inclusive days, UTC): one row per
    answer with the response, its customer and segment, the questionnaire, the item's column
    name (``question`` or ``question.row`` codes, stable across versions), construct, dimension
    and declared scale ends. The index estimates its model on these rows."""
    construct = sa.func.coalesce(MatrixItem.construct, Question.construct)
    column = sa.case(
        (MatrixItem.code.is_not(None), Question.code + "." + MatrixItem.code), else_=Question.code
    )
    rows = db.session.execute(
        sa.select(
            Response.id,
            Response.customer_id,
            Response.segment,
            Response.questionnaire_id,
            Response.submitted_at,
            column,
            construct,
            Answer.value_num,
            Question.scale_min,
            Question.scale_max,
        )
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(MatrixItem, MatrixItem.id == Answer.item_id)
        .where(
            Response.submitted_at >= _day_start(start),
            Response.submitted_at < _day_start(end + timedelta(days=1)),
            Answer.value_num.is_not(None),
            construct.is_not(None),
            Question.scale_min.is_not(None),
            Question.scale_max > Question.scale_min,
        )
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "response_id",
            "customer_id",
            "segment",
            "questionnaire_id",
            "submitted_at",
            "item",
            "construct",
            "value",
            "scale_min",
            "scale_max",
        ],
    )
    frame["construct"] = frame["construct"].map(lambda c: getattr(c, "value", c))
    return frame


#: bands of a response's satisfaction score rescaled to 0-1 (1-5 scale: 1-2 low, 3 medium, 4-5 high)
SATISFACTION_BANDS = ("low", "medium", "high")
#: questionnaires answered about a complaint or after leaving are not satisfaction surveys here
NOT_SATISFACTION_SURVEYS = ("recovery", "exit")


def _satisfaction_per_response(include_all_templates: bool = False):
    """Per submitted response of a known customer to a satisfaction survey: the mean of its
    satisfaction items (questions or matrix rows whose construct is satisfaction), each
    rescaled from its own scale to 0-1."""
    item_construct = sa.case(
        (Answer.item_id.is_(None), Question.construct), else_=MatrixItem.construct
    )
    score = (Answer.value_num - Question.scale_min) / sa.cast(
        Question.scale_max - Question.scale_min, sa.Float
    )
    return (
        sa.select(
            Response.id.label("response_id"),
            Response.customer_id.label("customer_id"),
            Response.submitted_at.label("submitted_at"),
            sa.func.avg(score).label("score"),
        )
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(MatrixItem, MatrixItem.id == Answer.item_id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(
            Response.customer_id.is_not(None),
            Response.submitted_at.is_not(None),
            sa.true()
            if include_all_templates
            else Questionnaire.template.not_in(NOT_SATISFACTION_SURVEYS),
            item_construct == Construct.SATISFACTION,
            Answer.value_num.is_not(None),
            Question.scale_max > Question.scale_min,
        )
        .group_by(Response.id, Response.customer_id, Response.submitted_at)
        .subquery()
    )


def satisfaction_scores() -> list[tuple[int, date, float]]:
    """(customer id, day, satisfaction score on 0-1) of every submitted satisfaction survey of
    a known customer, oldest first: what the at-risk model reads as of each snapshot."""
    per_response = _satisfaction_per_response()
    frame = raw_frame(
        sa.select(
            per_response.c.customer_id, per_response.c.submitted_at, per_response.c.score
        ).order_by(per_response.c.submitted_at, per_response.c.response_id),
        ["customer_id", "submitted_at", "score"],
    )
    if frame.empty:
        return []
    return list(
        zip(
            frame["customer_id"].astype(int).tolist(),
            utc_days(frame["submitted_at"]),
            frame["score"].astype(float).tolist(),
            strict=True,
        )
    )


def satisfaction_band(score: float) -> str:
    """The band of a 0-1 satisfaction score: low (< 0.5), medium (< 0.75) or high."""
    return "low" if score < 0.5 else "medium" if score < 0.75 else "high"


def last_satisfaction_by_customer(
    scores: list[tuple[int, date, float]] | None = None,
) -> dict[int, tuple[str, date, float]]:
    """Per customer: the band of their last submitted survey's satisfaction score (see
    ``_satisfaction_per_response`` and ``satisfaction_band``), its day and the score. ``scores``
    are the rows of ``satisfaction_scores()`` when the caller has read them already."""
    last: dict[int, tuple[str, date, float]] = {}
    for cid, day, score in satisfaction_scores() if scores is None else scores:
        last[cid] = (satisfaction_band(score), day, score)  # oldest first: the last one stays
    return last


def responses_of(customer_id: int, limit: int = 50) -> list[dict]:
    """A customer's submitted responses, newest first: questionnaire, day, the satisfaction score
    rescaled to 1-5 (mean of the satisfaction items, None without one) and the NPS answer."""
    per_response = _satisfaction_per_response(include_all_templates=True)
    nps = (
        sa.select(sa.func.max(Answer.value_num))
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id == Response.id, Question.type == QuestionType.NPS)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Response, Questionnaire, per_response.c.score, nps.label("nps"))
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .outerjoin(per_response, per_response.c.response_id == Response.id)
        .where(Response.customer_id == customer_id, Response.submitted_at.is_not(None))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "response": response,
            "questionnaire": questionnaire,
            "satisfaction": 1 + 4 * score if score is not None else None,
            "nps": int(nps_value) if nps_value is not None else None,
        }
        for response, questionnaire, score, nps_value in rows
    ]
