"""Pages of the survey domain: designing (admin), answering (customers), distributing and
reading results (manager, admin), and the detractor follow-up list (staff)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.accounts.models import Role
from survey_app.charts import figure_json
from survey_app.charts import surveys as survey_charts
from survey_app.complaints.services import (
    cases_for_responses,
    complaint_for_response,
    responses_with_a_case,
)
from survey_app.customers import queries as customer_queries
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.errors import DomainError
from survey_app.exports import csv_response, xlsx_response
from survey_app.extensions import db, rate_limit
from survey_app.forms_util import (
    attach_error,
    date_range_args,
    id_arg,
    page_arg,
    page_size,
    parse_id,
)
from survey_app.security import roles_required

from . import queries, services
from .forms import (
    DimensionForm,
    FollowupForm,
    InvitationForm,
    QuestionForm,
    QuestionnaireForm,
    SectionForm,
    build_answer_form,
    choices_of,
    construct_labels,
    validate_answers,
)
from .models import Channel, QuestionType, Status
from .services import AlreadyAnswered, AnswerContext, Unavailable

bp = Blueprint("surveys", __name__)

BROWSER_COOKIE = "sv_browser"
ATTEMPT_RE = re.compile(r"^[A-Za-z0-9_-]{20,40}$")


def _public_limit() -> str:
    return current_app.config["PUBLIC_POST_RATE_LIMIT"]


# --------------------------------------------------------------------------------------------
# Answering (customers, no account)


@bp.route("/s/<token>", methods=["GET", "POST"])
@rate_limit(_public_limit, methods=["POST"])
def answer_public(token: str):
    questionnaire = services.get_by_public_token(token)
    new_cookie = None
    if questionnaire.one_per_browser:
        key = request.cookies.get(BROWSER_COOKIE, "")
        if not (20 <= len(key) <= 40):
            key = new_cookie = secrets.token_urlsafe(18)
    else:
        # The attempt's key travels in the session and in the form: a replayed or
        # back-and-resubmitted form finds the response it belongs to (already submitted).
        attempts = session.get("sv_attempts", {})
        key = attempts.get(str(questionnaire.id))
        posted = request.form.get("attempt", "") if request.method == "POST" else ""
        if ATTEMPT_RE.match(posted):
            key = posted
        if not key:
            key = secrets.token_urlsafe(18)
            session["sv_attempts"] = {**attempts, str(questionnaire.id): key}
    context = AnswerContext(questionnaire, Channel.PUBLIC, browser_key=key)
    response = _answer(context, url_for("surveys.answer_public", token=token))
    if new_cookie:
        response = current_app.make_response(response)
        response.set_cookie(
            BROWSER_COOKIE,
            new_cookie,
            max_age=2 * 365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


@bp.route("/i/<token>", methods=["GET", "POST"])
@rate_limit(_public_limit, methods=["POST"])
def answer_invitation(token: str):
    invitation = services.get_invitation(token)
    if request.method == "GET" and invitation.opened_at is None:
        services.mark_opened(invitation)
        db.session.commit()
    context = AnswerContext(invitation.questionnaire, Channel.INVITATION, invitation=invitation)
    return _answer(context, url_for("surveys.answer_invitation", token=token))


def _friendly(error: DomainError, questionnaire):
    status = 200 if isinstance(error, AlreadyAnswered) else error.status_code
    return (
        render_template(
            "surveys/unavailable.html",
            message=error.message,
            questionnaire=questionnaire,
            already=isinstance(error, AlreadyAnswered),
        ),
        status,
    )


def _answer(context: AnswerContext, here: str):
    questionnaire = context.questionnaire
    if request.args.get("done") and request.method == "GET":
        return render_template("surveys/thanks.html", questionnaire=questionnaire)
    try:
        services.check_open(context)
    except (AlreadyAnswered, Unavailable) as error:
        return _friendly(error, questionnaire)
    response = context.find_response()
    if response is not None and response.complete:
        return _friendly(
            AlreadyAnswered(_("You have already answered this survey. Thank you!")), questionnaire
        )
    version = response.version if response is not None else questionnaire.current_version
    answers = services.answers_by_code(response)
    sections = services.visible_sections(version, answers)
    if not sections:
        return _friendly(Unavailable(_("This survey has no questions yet.")), questionnaire)
    reached = response.progress if response is not None else 0
    open_sections = [s for s in sections if s.position <= reached] + [
        s for s in sections if s.position > reached
    ][:1]
    step = request.values.get("step", type=int)
    section = next((s for s in open_sections if s.position == step), open_sections[-1])
    questions = services.visible_questions(section, answers)

    if request.method == "POST":
        form = build_answer_form(questions, {}, request.form)
        values = validate_answers(form, questions) if form.validate() else None
        if values is not None:
            try:
                response = services.record_section(
                    context, response, section, values, language=str(get_locale())
                )
                db.session.commit()
            except AlreadyAnswered as error:
                return _friendly(error, questionnaire)
            if response.complete:
                if context.channel is Channel.PUBLIC and not questionnaire.one_per_browser:
                    attempts = dict(session.get("sv_attempts", {}))
                    attempts.pop(str(questionnaire.id), None)
                    session["sv_attempts"] = attempts
                return redirect(f"{here}?done=1")
            answers = services.answers_by_code(response)
            following = [
                s
                for s in services.visible_sections(response.version, answers)
                if s.position > section.position
            ]
            return redirect(f"{here}?step={following[0].position}")
        status = 200  # re-rendered with messages next to the fields, like every form
    else:
        form = build_answer_form(questions, answers)
        status = 200
    index = sections.index(section) if section in sections else 0
    previous = sections[index - 1] if index > 0 else None
    return (
        render_template(
            "surveys/answer.html",
            questionnaire=questionnaire,
            section=section,
            questions=questions,
            form=form,
            index=index + 1,
            total=len(sections),
            previous=previous,
            here=here,
            personal=context.invitation is not None,
            attempt=(
                context.browser_key
                if context.channel is Channel.PUBLIC and not questionnaire.one_per_browser
                else None
            ),
            last=index + 1 == len(sections),
            QuestionType=QuestionType,
        ),
        status,
    )


# --------------------------------------------------------------------------------------------
# Designing (admin)


@bp.get("/surveys/")
@roles_required(Role.MANAGER)
def list_questionnaires():
    show_archived = request.args.get("archived") == "1"
    questionnaires = services.list_questionnaires(include_archived=show_archived)
    counts = {q.id: services.response_count(q) for q in questionnaires}
    return render_template(
        "surveys/list.html",
        questionnaires=questionnaires,
        counts=counts,
        show_archived=show_archived,
    )


@bp.route("/surveys/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_questionnaire():
    form = QuestionnaireForm()
    template = request.form.get("template", "")
    if request.method == "POST" and template:
        if form.validate():  # CSRF only: the template supplies everything else
            questionnaire = services.create_from_template(current_user, template)
            db.session.commit()
            flash(_("Questionnaire created from the template. Review it, then publish."), "success")
            return redirect(
                url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id)
            )
    elif form.validate_on_submit():
        try:
            questionnaire = services.create_questionnaire(current_user, **form.settings())
        except DomainError as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Questionnaire created."), "success")
            return redirect(
                url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id)
            )
    from .templates import TEMPLATE_LABELS

    return render_template("surveys/new.html", form=form, templates=TEMPLATE_LABELS)


@bp.get("/surveys/<int:questionnaire_id>")
@roles_required(Role.ADMIN)
def show_questionnaire(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    version = questionnaire.current_version
    return render_template(
        "surveys/show.html",
        questionnaire=questionnaire,
        version=version,
        frozen=services.version_has_responses(version),
        responses=services.response_count(questionnaire),
        constructs=construct_labels(),
        public_url=_absolute(url_for("surveys.answer_public", token=questionnaire.public_token)),
        Status=Status,
    )


def _absolute(path: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return base + path


@bp.route("/surveys/<int:questionnaire_id>/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_questionnaire(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    form = QuestionnaireForm(obj=questionnaire)
    if form.validate_on_submit():
        try:
            services.update_settings(current_user, questionnaire, **form.settings())
        except DomainError as error:
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(
                url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id)
            )
    return render_template("surveys/settings.html", form=form, questionnaire=questionnaire)


def _attach(form, error: DomainError) -> None:
    db.session.rollback()
    attach_error(form, error)


@bp.post("/surveys/<int:questionnaire_id>/status")
@roles_required(Role.ADMIN)
def change_status(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    form = DimensionForm(meta={"csrf": True})  # any FlaskForm: validates the CSRF token
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        flash(_("The form had expired. Please try again."), "error")
    else:
        try:
            services.change_status(current_user, questionnaire, request.form.get("action", ""))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Status changed."), "success")
    return redirect(url_for("surveys.show_questionnaire", questionnaire_id=questionnaire_id))


@bp.get("/surveys/<int:questionnaire_id>/preview")
@roles_required(Role.ADMIN)
def preview(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    version = questionnaire.current_version
    sections = [
        (section, build_answer_form(list(section.questions), {})) for section in version.sections
    ]
    return render_template(
        "surveys/preview.html",
        questionnaire=questionnaire,
        sections=sections,
        QuestionType=QuestionType,
    )


def _condition_choices(questionnaire, before_position: int):
    choices = [("", _("(always shown)"))]
    for section in questionnaire.current_version.sections:
        if section.position < before_position:
            choices += [(q.code, f"{q.code}: {q.text[:60]}") for q in section.questions]
    return choices_of(choices)


@bp.route("/surveys/<int:questionnaire_id>/sections/new", methods=["GET", "POST"])
@bp.route("/surveys/<int:questionnaire_id>/sections/<int:section_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_section(questionnaire_id: int, section_id: int | None = None):
    questionnaire = services.get_questionnaire(questionnaire_id)
    section = services.find_section(questionnaire, section_id) if section_id else None
    form = SectionForm(data=_section_data(section) if section else None)
    position = section.position if section else len(questionnaire.current_version.sections) + 1
    form.cond_question_code.choices = _condition_choices(questionnaire, position)
    if form.validate_on_submit():
        try:
            services.save_section(
                current_user,
                questionnaire,
                section_id,
                **{
                    name: getattr(form, name).data or ""
                    for name in (
                        "title_zh",
                        "title_en",
                        "description_zh",
                        "description_en",
                        "cond_question_code",
                        "cond_operator",
                        "cond_value",
                    )
                },
            )
        except DomainError as error:
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Section saved."), "success")
            return redirect(
                url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id)
            )
    return render_template(
        "surveys/section_form.html", form=form, questionnaire=questionnaire, section=section
    )


def _section_data(section) -> dict:
    data = {
        name: getattr(section, name)
        for name in (
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "cond_question_code",
            "cond_value",
        )
    }
    return data | {"cond_operator": section.cond_operator.value if section.cond_operator else ""}


@bp.post("/surveys/<int:questionnaire_id>/sections/<int:section_id>/delete")
@roles_required(Role.ADMIN)
def delete_section(questionnaire_id: int, section_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    return _simple_action(
        questionnaire,
        lambda: services.delete_section(current_user, questionnaire, section_id),
        _("Section deleted."),
    )


def _simple_action(questionnaire, action, done_message: str):
    form = DimensionForm()
    form.validate_on_submit()
    if "csrf_token" in form.errors:
        flash(_("The form had expired. Please try again."), "error")
    else:
        try:
            action()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(done_message, "success")
    return redirect(url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id))


@bp.route(
    "/surveys/<int:questionnaire_id>/sections/<int:section_id>/questions/new",
    methods=["GET", "POST"],
)
@bp.route("/surveys/<int:questionnaire_id>/questions/<int:question_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_question(
    questionnaire_id: int, section_id: int | None = None, question_id: int | None = None
):
    questionnaire = services.get_questionnaire(questionnaire_id)
    question = services.find_question(questionnaire, question_id) if question_id else None
    section = question.section if question else services.find_section(questionnaire, section_id)
    form = QuestionForm(data=_question_data(question) if question else None)
    form.cond_question_code.choices = _condition_choices(questionnaire, section.position)
    form.dimension_id.choices = choices_of(
        [("", _("(none)"))]
        + [(str(d.id), f"{d.name} ({d.code})") for d in services.list_dimensions()]
    )
    if form.validate_on_submit():
        data = services.QuestionData(
            **{
                name: getattr(form, name).data or ""
                for name in (
                    "type",
                    "text_zh",
                    "text_en",
                    "help_zh",
                    "help_en",
                    "code",
                    "low_label_zh",
                    "low_label_en",
                    "high_label_zh",
                    "high_label_en",
                    "options",
                    "items",
                    "construct",
                    "cond_question_code",
                    "cond_operator",
                    "cond_value",
                )
            },
            required=bool(form.required.data),
            points=int(form.points.data or 5),
            dimension_id=parse_id(form.dimension_id.data),
        )
        try:
            services.save_question(current_user, questionnaire, question_id, section.id, data)
        except DomainError as error:
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Question saved."), "success")
            return redirect(
                url_for("surveys.show_questionnaire", questionnaire_id=questionnaire.id)
            )
    return render_template(
        "surveys/question_form.html",
        form=form,
        questionnaire=questionnaire,
        section=section,
        question=question,
    )


def _question_data(question) -> dict:
    """The question as the designer form's data (enums as their values, lists as text)."""
    data = {
        name: getattr(question, name)
        for name in (
            "code",
            "text_zh",
            "text_en",
            "help_zh",
            "help_en",
            "required",
            "low_label_zh",
            "low_label_en",
            "high_label_zh",
            "high_label_en",
            "cond_question_code",
            "cond_value",
        )
    }
    return data | {
        "type": question.type.value,
        "points": str(question.scale_max or 5),
        "construct": question.construct.value if question.construct else "",
        "dimension_id": str(question.dimension_id or ""),
        "cond_operator": question.cond_operator.value if question.cond_operator else "",
        "options": "\n".join(
            f"{o['value']} | {o.get('zh', '')} | {o.get('en', '')}" for o in question.options or []
        ),
        "items": "\n".join(
            f"{i.text_zh} | {i.text_en} | {i.dimension.code if i.dimension else ''}"
            for i in question.items
        ),
    }


@bp.post("/surveys/<int:questionnaire_id>/questions/<int:question_id>/delete")
@roles_required(Role.ADMIN)
def delete_question(questionnaire_id: int, question_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    return _simple_action(
        questionnaire,
        lambda: services.delete_question(current_user, questionnaire, question_id),
        _("Question deleted."),
    )


@bp.post("/surveys/<int:questionnaire_id>/move")
@roles_required(Role.ADMIN)
def move(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    return _simple_action(
        questionnaire,
        lambda: services.move(
            current_user,
            questionnaire,
            request.form.get("kind", ""),
            parse_id(request.form.get("id")) or 0,
            request.form.get("direction", ""),
        ),
        _("Order changed."),
    )


@bp.route("/surveys/dimensions", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def dimensions():
    edit_id = request.values.get("edit", type=int)
    editing = next((d for d in services.list_dimensions() if d.id == edit_id), None)
    form = DimensionForm(obj=editing)
    if form.validate_on_submit():
        try:
            services.save_dimension(
                current_user,
                editing.id if editing else None,
                form.code.data,
                form.name_zh.data or "",
                form.name_en.data or "",
            )
        except DomainError as error:
            _attach(form, error)
        else:
            db.session.commit()
            flash(_("Dimension saved."), "success")
            return redirect(url_for("surveys.dimensions"))
    return render_template(
        "surveys/dimensions.html",
        form=form,
        editing=editing,
        dimensions=services.list_dimensions(),
    )


# --------------------------------------------------------------------------------------------
# Distribution (admin)


@bp.route("/surveys/<int:questionnaire_id>/invitations", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def invitations(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    search = request.args.get("q", "").strip()[:100]
    segment = request.args.get("segment", "").strip()[:60]
    state = request.args.get("state", "")
    candidates, candidate_total = customer_queries.customer_page(1, 50, search, segment)
    form = InvitationForm()
    form.customers.choices = choices_of((row.customer.id, row.customer.name) for row in candidates)
    if form.validate_on_submit():
        try:
            if form.whole_selection.data:
                ids = customer_queries.customer_ids(search, segment)
            else:
                ids = (form.customers.data or []) + services.customers_by_codes(form.codes.data)
            created = services.create_invitations(
                current_user, questionnaire, ids, form.valid_days.data
            )
        except DomainError as error:
            _attach(form, error)
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(count)s invitation created.",
                    "%(count)s invitations created.",
                    created,
                    count=f"{created:,}",
                )
                if created
                else _("Everyone picked already has an open invitation."),
                "success",
            )
            return redirect(url_for("surveys.invitations", questionnaire_id=questionnaire.id))
    rows, total = queries.invitation_page(questionnaire.id, page_arg(), page_size(), state)
    return render_template(
        "surveys/invitations.html",
        questionnaire=questionnaire,
        form=form,
        candidates=candidates,
        candidate_total=candidate_total,
        search=search,
        segment=segment,
        segments=customer_queries.distinct_values(Customer.segment),
        rows=rows,
        total=total,
        page=page_arg(),
        pages=max(1, -(-total // page_size())),
        state=state,
        states=queries.INVITATION_STATES,
        stats=queries.invitation_stats(questionnaire.id),
        smtp=bool(current_app.config.get("SMTP_HOST")),
        invite_url=lambda token: _absolute(url_for("surveys.answer_invitation", token=token)),
    )


@bp.get("/surveys/<int:questionnaire_id>/invitations.csv")
@roles_required(Role.ADMIN)
def export_invitations(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    pending_only = request.args.get("pending") == "1"
    rows = []
    for invitation, customer, state in queries.invitations_for_export(questionnaire.id):
        if pending_only and state in ("completed", "expired"):
            continue
        rows.append(
            [
                customer.code,
                customer.name,
                customer.email or "",
                _absolute(url_for("surveys.answer_invitation", token=invitation.token)),
                invitation.expires_at.strftime("%Y-%m-%d"),
                state,
            ]
        )
    return csv_response(
        ["code", "name", "email", "url", "expires_on", "status"],
        rows,
        f"invitations-{questionnaire.id}{'-pending' if pending_only else ''}.csv",
    )


@bp.post("/surveys/<int:questionnaire_id>/invitations/send")
@roles_required(Role.ADMIN)
def send_invitations(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    form = DimensionForm()
    form.validate_on_submit()
    if "csrf_token" in form.errors:
        flash(_("The form had expired. Please try again."), "error")
    else:
        try:
            sent = services.send_invitations(
                current_user,
                questionnaire,
                reminder=request.form.get("kind") == "reminder",
                config=current_app.config,
                url_for_token=lambda token: _absolute(
                    url_for("surveys.answer_invitation", token=token)
                ),
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(count)s e-mail sent.",
                    "%(count)s e-mails sent.",
                    sent,
                    count=f"{sent:,}",
                ),
                "success",
            )
    return redirect(url_for("surveys.invitations", questionnaire_id=questionnaire_id))


# --------------------------------------------------------------------------------------------
# Results (manager, admin)


def _parse_filters(questionnaire) -> tuple[queries.Filters, list[str]]:
    start, end, wrong = date_range_args("start", "end")
    errors = list(dict.fromkeys(wrong.values()))
    version_id = request.args.get("version", type=int)
    if version_id not in {v.id for v in questionnaire.versions}:
        version_id = None
    window = request.args.get("window", type=int) or queries.DEFAULT_WINDOW_DAYS
    window = min(max(window, 7), 730)
    return (
        queries.Filters(
            start=start,
            end=end,
            version_id=version_id,
            segment=request.args.get("segment", "").strip()[:60],
            channel=request.args.get("channel", "").strip(),
            window_days=window,
        ),
        errors,
    )


FILTER_ARGS = ("start", "end", "version", "segment", "channel", "window")


def _filter_args() -> dict:
    """The filter arguments of the current page, for links that keep them."""
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


@bp.get("/surveys/<int:questionnaire_id>/results")
@roles_required(Role.MANAGER)
def results(questionnaire_id: int):
    questionnaire = services.get_questionnaire(questionnaire_id)
    filters, errors = _parse_filters(questionnaire)
    responses, question_results = queries.question_results(questionnaire, filters)
    scores, trend, window = queries.dimension_scores(questionnaire, filters)
    items = [
        (
            scale.label if len(result.scales) == 1 else f"{result.question.code}: {scale.label}",
            scale.score_100,
            scale.n,
        )
        for result in question_results
        for scale in result.scales
        if scale.n
    ]
    items_chart = (
        figure_json(
            survey_charts.item_scores(
                [label[:50] for label, _s, _n in items],
                [round(s, 1) for _l, s, _n in items],
                _("Rated items on a 0-100 scale"),
            )
        )
        if items
        else None
    )
    series: dict[str, tuple[list[str], list[float]]] = {}
    for dimension, month, mean, _n in trend:
        months, means = series.setdefault(dimension.name, ([], []))
        months.append(month)
        means.append(round(mean, 1))
    trend_chart = (
        figure_json(survey_charts.dimension_trend(series, _("Monthly score by dimension (0-100)")))
        if series
        else None
    )
    return render_template(
        "surveys/results.html",
        questionnaire=questionnaire,
        filters=filters,
        errors=errors,
        responses=responses,
        results=question_results,
        scores=scores,
        trend=trend,
        trend_chart=trend_chart,
        items=items,
        items_chart=items_chart,
        window=window,
        invitations=queries.invitation_stats(questionnaire.id),
        segments=customer_queries.distinct_values(Customer.segment),
        QuestionType=QuestionType,
        args=_filter_args(),
    )


@bp.get("/surveys/<int:questionnaire_id>/responses.<fmt>")
@roles_required(Role.MANAGER)
def export_responses(questionnaire_id: int, fmt: str):
    questionnaire = services.get_questionnaire(questionnaire_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters, _errors = _parse_filters(questionnaire)
    header, rows = queries.export_rows(questionnaire, filters)
    filename = f"responses-{questionnaire.id}.{fmt}"
    if fmt == "csv":
        return csv_response(header, rows, filename)
    return xlsx_response(header, rows, filename, title="responses")


@bp.get("/surveys/<int:questionnaire_id>/results/text/<code>")
@roles_required(Role.MANAGER)
def text_answers(questionnaire_id: int, code: str):
    questionnaire = services.get_questionnaire(questionnaire_id)
    question = next(
        (
            q
            for q in queries._latest_questions(questionnaire, queries.Filters())
            if q.code == code and q.type.textual
        ),
        None,
    )
    if question is None:
        abort(404)
    filters, errors = _parse_filters(questionnaire)
    search = request.args.get("q", "").strip()[:100]
    rows, total = queries.text_answers(
        questionnaire, code, filters, search, page_arg(), page_size()
    )
    return render_template(
        "surveys/text_answers.html",
        questionnaire=questionnaire,
        question=question,
        rows=rows,
        total=total,
        search=search,
        page=page_arg(),
        pages=max(1, -(-total // page_size())),
    )


# --------------------------------------------------------------------------------------------
# Follow-up of detractors (staff)


def _followup_args() -> tuple[int | None, int, str]:
    """The follow-up list's filters from the query string: questionnaire, days, status."""
    questionnaire_id = id_arg("questionnaire")
    days = request.args.get("days", type=int) or 90
    days = min(max(days, 1), 3650)
    status = request.args.get("status", "waiting")
    return questionnaire_id, days, status if status in queries.FOLLOWUP_STATUSES else "waiting"


@bp.get("/surveys/followups")
@roles_required(Role.STAFF, Role.MANAGER)
def followups():
    questionnaire_id, days, status = _followup_args()
    since = utcnow().date() - timedelta(days=days)
    cases = responses_with_a_case()
    counts = queries.followup_counts(questionnaire_id, since, cases)
    rows, total, scores, notes = queries.followup_page(
        page_arg(), page_size(), questionnaire_id, since, status, cases, counts[status]
    )
    return render_template(
        "surveys/followups.html",
        rows=rows,
        total=total,
        scores=scores,
        notes=notes,
        cases=cases_for_responses([row[0].id for row in rows]),
        counts=counts,
        status=status,
        page=page_arg(),
        pages=max(1, -(-total // page_size())),
        days=days,
        questionnaire_id=questionnaire_id,
        questionnaires=services.list_questionnaires(include_archived=True),
    )


#: responses read per query while writing the follow-up CSV
EXPORT_PAGE = 500


def _followup_csv_row(response, customer, questionnaire, scores, note, case) -> list:
    return [
        response.submitted_at.strftime("%Y-%m-%d %H:%M"),
        customer.code if customer else "",
        customer.name if customer else "",
        (customer.phone or "") if customer else "",
        (customer.email or "") if customer else "",
        questionnaire.title,
        "; ".join(f"{code} {value}" for code, value in scores),
        "case" if case else "contacted" if note else "waiting" if customer else "",
        case.code if case else "",
        (note.user.display_name if note.user else "") if note else "",
        note.created_at.strftime("%Y-%m-%d %H:%M") if note else "",
        note.note if note else "",
    ]


@bp.get("/surveys/followups.csv")
@roles_required(Role.STAFF, Role.MANAGER)
def export_followups():
    """The follow-up list as shown (same questionnaire, days and status), every page: a call
    list for a spreadsheet or a phone campaign."""
    questionnaire_id, days, status = _followup_args()
    since = utcnow().date() - timedelta(days=days)
    chunks = queries.followup_export(
        questionnaire_id, since, status, responses_with_a_case(), EXPORT_PAGE
    )
    rows = []
    for found, scores, notes in chunks:
        cases = cases_for_responses([row[0].id for row in found])
        rows += [
            _followup_csv_row(r, c, q, scores.get(r.id, []), notes.get(r.id), cases.get(r.id))
            for r, c, q in found
        ]
    header = ["submitted_at_utc", "customer_code", "customer", "phone", "email"]
    header += ["questionnaire", "low_scores", "follow_up", "case", "contacted_by"]
    header += ["contacted_at_utc", "note"]
    return csv_response(header, rows, f"followups-{status}-{days}d.csv")


def _others_waiting(response_id: int, customer_id: int | None) -> list[int]:
    """The same customer's other low-scoring responses still waiting for a follow-up."""
    if customer_id is None:
        return []
    return queries.waiting_of_customer(customer_id, responses_with_a_case(), exclude=response_id)


def _render_response(response_id: int, form=None, status: int = 200):
    prefill = services.followup_prefill(response_id)
    return render_template(
        "surveys/response.html",
        prefill=prefill,
        complaint=complaint_for_response(response_id),
        followup=services.followup_of(response_id),
        others=_others_waiting(response_id, prefill["customer_id"]),
        form=form or FollowupForm(formdata=None),
    ), status


@bp.get("/surveys/responses/<int:response_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def show_response(response_id: int):
    return _render_response(response_id)


@bp.post("/surveys/responses/<int:response_id>/followup")
@roles_required(Role.STAFF)
def record_followup(response_id: int):
    """Staff contacted the customer and need no complaint case: record what came of it, for
    this response and, when asked, the customer's other responses waiting (read here, at the
    moment of the post, not from the page)."""
    form = FollowupForm()
    if not form.validate_on_submit():
        return _render_response(response_id, form, 400)
    also = []
    if form.include_others.data:
        customer_id = services.get_response(response_id).customer_id
        also = _others_waiting(response_id, customer_id)
    try:
        written = services.record_followup(current_user, response_id, form.note.data, also=also)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _render_response(response_id, form, error.status_code)
    db.session.commit()
    flash(
        ngettext("Follow-up recorded.", "Follow-up recorded for %(num)d responses.", len(written)),
        "success",
    )
    return redirect(url_for("surveys.followups"))
