"""The floor for any Flask service that stores a form: a bare Flask app whose endpoints do one raw
INSERT of the same rows our app writes (a complaint, from JSON or from a form's post; a survey
response and its answers), with no CSRF, validation, ORM session, SLA or timeline.
``bench_http.py`` serves it with the same gunicorn settings as the real app and compares. Its
engine has the app's settings too (on SQLite: WAL, the busy timeout and the writers' queue of
``sqlite_writers``), so what the ratio measures is the app's own work, not a database setting the
floor lacks. Not part of the product.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import Flask, jsonify, request

import survey_app.extensions  # noqa: F401  (the same SQLite pragmas: WAL, busy timeout)
from survey_app.complaints.models import Complaint
from survey_app.config import engine_options, load_config
from survey_app.db_types import utcnow
from survey_app.surveys.models import Answer, Channel, Response

config = load_config()
url = config.SQLALCHEMY_DATABASE_URI
engine = sa.create_engine(url, **engine_options(url))
app = Flask(__name__)


@app.post("/complaint")
def complaint():
    body = request.get_json()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Complaint.__table__).values(
                code="FL" + secrets.token_hex(7).upper(),  # 16 characters: no collision in a run
                token=secrets.token_urlsafe(32),
                category_id=body["category_id"],
                contact_name=body["contact_name"],
                contact_phone=body["contact_phone"],
                description=body["description"],
            )
        )
    return jsonify(ok=True), 201


@app.post("/complaint-form")
def complaint_form():
    """The same row from an HTML form's post (the web form's fields, url-encoded)."""
    form = request.form
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Complaint.__table__).values(
                code="FL" + secrets.token_hex(7).upper(),
                token=secrets.token_urlsafe(32),
                category_id=int(form["category_id"]),
                contact_name=form["contact_name"],
                contact_phone=form["contact_phone"],
                description=form["description"],
            )
        )
    return jsonify(ok=True), 201


@app.post("/response")
def response():
    body = request.get_json()
    with engine.begin() as connection:
        response_id = connection.execute(
            sa.insert(Response.__table__)
            .values(
                questionnaire_id=body["questionnaire_id"],
                version_id=body["version_id"],
                invitation_id=body["invitation_id"],
                channel=Channel.INVITATION,
                submitted_at=utcnow(),
            )
            .returning(Response.__table__.c.id)
        ).scalar_one()
        connection.execute(
            sa.insert(Answer.__table__),
            [
                {"response_id": response_id, "question_id": qid, "value_num": value}
                for qid, value in body["answers"]
            ],
        )
    return jsonify(ok=True), 201
