"""Questionnaires, their frozen versions, sections, questions, invitations, responses, answers.

A questionnaire's questions hang off a *version*. Once a version has a response it is frozen:
the design services copy it into a new version before any change, so every response keeps
pointing at the exact questions it answered. Scored answers live in one numeric column
(``answers.value_num``) so results aggregate in SQL.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db


def _enum(cls):
    return sa.Enum(
        cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )


def new_token() -> str:
    return secrets.token_urlsafe(18)


def pick(zh: str | None, en: str | None, locale: str | None = None) -> str:
    """The text in the respondent's language, falling back to the other language."""
    locale = locale or str(get_locale())
    first, second = (en, zh) if locale == "en" else (zh, en)
    return first or second or ""


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class QuestionType(enum.Enum):
    LIKERT = "likert"
    NPS = "nps"
    SINGLE = "single"
    MULTIPLE = "multiple"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    MATRIX = "matrix"

    @property
    def scored(self) -> bool:
        return self in (QuestionType.LIKERT, QuestionType.NPS, QuestionType.MATRIX)

    @property
    def textual(self) -> bool:
        return self in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT)


class Construct(enum.Enum):
    """Latent variables of the ECSI/ACSI model that a rated item can measure."""

    IMAGE = "image"
    EXPECTATIONS = "expectations"
    QUALITY = "quality"
    VALUE = "value"
    SATISFACTION = "satisfaction"
    LOYALTY = "loyalty"


class Operator(enum.Enum):
    LTE = "lte"
    GTE = "gte"
    EQ = "eq"
    NE = "ne"


class Channel(enum.Enum):
    PUBLIC = "public"
    INVITATION = "invitation"


class Dimension(db.Model):
    """An aspect of the business that rated items are grouped by (product, staff, delivery, ...)."""

    __tablename__ = "survey_dimensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(80), default="")
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    position: Mapped[int] = mapped_column(default=0)

    @property
    def name(self) -> str:
        return pick(self.name_zh, self.name_en)


class Questionnaire(db.Model):
    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    intro_zh: Mapped[str] = mapped_column(sa.Text(), default="")
    intro_en: Mapped[str] = mapped_column(sa.Text(), default="")
    thanks_zh: Mapped[str] = mapped_column(sa.Text(), default="")
    thanks_en: Mapped[str] = mapped_column(sa.Text(), default="")
    #: which shipped template it was made from ("" for a blank one)
    template: Mapped[str] = mapped_column(sa.String(20), default="")
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.DRAFT, index=True)
    #: no customer is ever linked to a response, not even through an invitation
    anonymous: Mapped[bool] = mapped_column(default=False)
    #: the public link accepts one response per browser (cookie)
    one_per_browser: Mapped[bool] = mapped_column(default=False)
    #: the secret part of the public link
    public_token: Mapped[str] = mapped_column(sa.String(40), unique=True, default=new_token)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions = relationship(
        "QuestionnaireVersion",
        back_populates="questionnaire",
        order_by="QuestionnaireVersion.number",
        cascade="all, delete-orphan",
    )

    @property
    def title(self) -> str:
        return pick(self.title_zh, self.title_en)

    @property
    def intro(self) -> str:
        return pick(self.intro_zh, self.intro_en)

    @property
    def thanks(self) -> str:
        return pick(self.thanks_zh, self.thanks_en)

    @property
    def current_version(self) -> QuestionnaireVersion:
        return self.versions[-1]


class QuestionnaireVersion(db.Model):
    __tablename__ = "questionnaire_versions"
    __table_args__ = (sa.UniqueConstraint("questionnaire_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaire = relationship("Questionnaire", back_populates="versions")
    sections = relationship(
        "Section",
        back_populates="version",
        order_by="Section.position",
        cascade="all, delete-orphan",
    )


class ConditionMixin:
    """Shown only when the answer to an earlier question (by code) meets ``operator value``."""

    #: code of the earlier question whose answer decides; empty = always shown
    cond_question_code: Mapped[str] = mapped_column(sa.String(40), default="")
    cond_operator: Mapped[Operator | None] = mapped_column(_enum(Operator))
    cond_value: Mapped[str] = mapped_column(sa.String(80), default="")

    @property
    def has_condition(self) -> bool:
        return bool(self.cond_question_code and self.cond_operator)


class Section(ConditionMixin, db.Model):
    __tablename__ = "survey_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaire_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    description_zh: Mapped[str] = mapped_column(sa.Text(), default="")
    description_en: Mapped[str] = mapped_column(sa.Text(), default="")

    version = relationship("QuestionnaireVersion", back_populates="sections")
    questions = relationship(
        "Question",
        back_populates="section",
        order_by="Question.position",
        cascade="all, delete-orphan",
    )

    @property
    def title(self) -> str:
        return pick(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return pick(self.description_zh, self.description_en)


class Question(ConditionMixin, db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (sa.UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaire_versions.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_sections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    #: stable across versions: results and exports line up answers of the same question by it
    code: Mapped[str] = mapped_column(sa.String(40))
    type: Mapped[QuestionType] = mapped_column(_enum(QuestionType))
    text_zh: Mapped[str] = mapped_column(sa.Text(), default="")
    text_en: Mapped[str] = mapped_column(sa.Text(), default="")
    help_zh: Mapped[str] = mapped_column(sa.Text(), default="")
    help_en: Mapped[str] = mapped_column(sa.Text(), default="")
    required: Mapped[bool] = mapped_column(default=False)
    #: declared ends of a rating scale (Likert, NPS, matrix); the 0-100 rescaling uses them
    scale_min: Mapped[int | None] = mapped_column()
    scale_max: Mapped[int | None] = mapped_column()
    low_label_zh: Mapped[str] = mapped_column(sa.String(80), default="")
    low_label_en: Mapped[str] = mapped_column(sa.String(80), default="")
    high_label_zh: Mapped[str] = mapped_column(sa.String(80), default="")
    high_label_en: Mapped[str] = mapped_column(sa.String(80), default="")
    #: choices of single/multiple questions: [{"value": "a", "zh": "...", "en": "..."}]
    options: Mapped[list] = mapped_column(sa.JSON(), default=list)
    dimension_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_dimensions.id", ondelete="SET NULL"), index=True
    )
    construct: Mapped[Construct | None] = mapped_column(_enum(Construct))

    section = relationship("Section", back_populates="questions")
    dimension = relationship("Dimension", lazy="joined")
    items = relationship(
        "MatrixItem",
        back_populates="question",
        order_by="MatrixItem.position",
        cascade="all, delete-orphan",
    )

    @property
    def text(self) -> str:
        return pick(self.text_zh, self.text_en)

    @property
    def help(self) -> str:
        return pick(self.help_zh, self.help_en)

    @property
    def low_label(self) -> str:
        return pick(self.low_label_zh, self.low_label_en)

    @property
    def high_label(self) -> str:
        return pick(self.high_label_zh, self.high_label_en)

    def option_label(self, value: str) -> str:
        for option in self.options or []:
            if option.get("value") == value:
                return pick(option.get("zh"), option.get("en"))
        return value

    def choices(self) -> list[tuple[str, str]]:
        return [(o["value"], pick(o.get("zh"), o.get("en"))) for o in self.options or []]

    def scale(self) -> list[int]:
        if self.scale_min is None or self.scale_max is None:
            return []
        return list(range(self.scale_min, self.scale_max + 1))


class MatrixItem(db.Model):
    """One row of a rating matrix: its own text, dimension and construct, the question's scale."""

    __tablename__ = "survey_matrix_items"
    __table_args__ = (sa.UniqueConstraint("question_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(sa.String(40))
    text_zh: Mapped[str] = mapped_column(sa.String(300), default="")
    text_en: Mapped[str] = mapped_column(sa.String(300), default="")
    dimension_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_dimensions.id", ondelete="SET NULL"), index=True
    )
    construct: Mapped[Construct | None] = mapped_column(_enum(Construct))

    question = relationship("Question", back_populates="items")
    dimension = relationship("Dimension", lazy="joined")

    @property
    def text(self) -> str:
        return pick(self.text_zh, self.text_en)


class Invitation(db.Model):
    """A personal, single-use link for one customer."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        sa.Index("ix_survey_invitations_q_customer", "questionnaire_id", "customer_id"),
        sa.UniqueConstraint("purpose", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    #: None only for a subject-bound invitation whose subject has no known customer (a complaint
    #: filed on the public form and not linked to a customer)
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE")
    )
    #: what another domain asked this invitation for ("complaint", "loss"; "" for a plain one) and
    #: the id of that thing: at most one invitation per subject, hence one response per subject
    purpose: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    subject_id: Mapped[int | None] = mapped_column()
    token: Mapped[str] = mapped_column(sa.String(40), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: set once, by an atomic UPDATE ... WHERE completed_at IS NULL: the single-use guarantee
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    questionnaire = relationship("Questionnaire")
    customer = relationship("Customer", lazy="joined")
    response = relationship("Response", back_populates="invitation", uselist=False)


class Response(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (
        sa.UniqueConstraint("questionnaire_id", "browser_key"),
        sa.Index("ix_survey_responses_q_submitted", "questionnaire_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaires.id", ondelete="CASCADE")
    )
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaire_versions.id", ondelete="CASCADE"), index=True
    )
    #: unique: one response per invitation, whatever the browser does
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    #: random id of the answering browser, kept only for one-response-per-browser questionnaires
    browser_key: Mapped[str | None] = mapped_column(sa.String(40))
    language: Mapped[str] = mapped_column(sa.String(10), default="zh_Hans")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None while partial (save and resume); set once when the last section is submitted
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: position of the furthest section reached, for resuming
    progress: Mapped[int] = mapped_column(default=0)
    #: the customer's segment when the response was submitted (results filter by it)
    segment: Mapped[str] = mapped_column(sa.String(60), default="")

    questionnaire = relationship("Questionnaire")
    version = relationship("QuestionnaireVersion")
    invitation = relationship("Invitation", back_populates="response")
    customer = relationship("Customer")
    answers = relationship("Answer", back_populates="response", cascade="all, delete-orphan")

    @property
    def complete(self) -> bool:
        return self.submitted_at is not None


class Answer(db.Model):
    __tablename__ = "survey_answers"
    __table_args__ = (
        sa.Index("ix_survey_answers_question_value", "question_id", "item_id", "value_num"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE")
    )
    #: the matrix row, for rating-matrix answers
    item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_matrix_items.id", ondelete="CASCADE")
    )
    #: the score of Likert, NPS and matrix answers
    value_num: Mapped[float | None] = mapped_column(sa.Float())
    #: free text, or the chosen option's value (one row per chosen option for multiple choice)
    value_text: Mapped[str | None] = mapped_column(sa.Text())

    response = relationship("Response", back_populates="answers")


#: the longest follow-up note kept (a phone call's summary, not a transcript)
FOLLOWUP_NOTE_MAX = 2000


class Followup(db.Model):
    """A detractor's response followed up without a complaint case: a member of staff contacted
    the customer and wrote down what came of it. One per response: the unique key decides a
    double click or two colleagues at once. (A response followed up *with* a case is the one a
    complaint's ``survey_response_id`` points to.)"""

    __tablename__ = "survey_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    #: who contacted the customer (kept when the account is deleted: None then)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: what the customer said, what was agreed
    note: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    response = relationship("Response")
    user = relationship("User")


class ResultCount(db.Model):
    """How many submitted answers share a value, per question (and matrix row or choice), UTC
    day, channel and segment: the summary table the results page aggregates, so its cost
    grows with the number of distinct values and days, not with the number of responses.

    Each answered question of a submitted response adds 1 to one row with ``item_id = 0`` and
    ``choice = ''`` (its score in ``value_num`` for a rating or NPS question, else 0): the
    "answered" count. A matrix row adds 1 to its own row (``item_id``), a chosen option to its
    own row (``choice``). Submitted responses never change, so the table only grows.

    A key's count may be split over up to ``COUNT_SHARDS`` rows (``shard``): each process adds
    to its own, so concurrent submissions with the same answers do not queue on one row's lock
    (on PostgreSQL a row updated by one transaction waits for its commit). Readers sum."""

    __tablename__ = "survey_result_counts"
    __table_args__ = (
        sa.UniqueConstraint(
            "question_id",
            "item_id",
            "value_num",
            "choice",
            "day",
            "channel",
            "segment",
            "shard",
            name="uq_survey_result_counts_key",
        ),
        sa.Index("ix_survey_result_counts_q_day", "questionnaire_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaires.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE")
    )
    #: the matrix item's id, or 0
    item_id: Mapped[int] = mapped_column(default=0)
    value_num: Mapped[float] = mapped_column(sa.Float(), default=0.0)
    #: the chosen option's value, or ""
    choice: Mapped[str] = mapped_column(sa.String(40), default="")
    day: Mapped[date] = mapped_column(sa.Date())
    channel: Mapped[str] = mapped_column(sa.String(20))
    segment: Mapped[str] = mapped_column(sa.String(60), default="")
    #: which of the key's rows (see the class docstring)
    shard: Mapped[int] = mapped_column(sa.SmallInteger(), default=0, server_default="0")
    count: Mapped[int] = mapped_column(default=0)
