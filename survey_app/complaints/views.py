from __future__ import annotations

import io
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from survey_app import mailer
from survey_app.accounts.models import Role
from survey_app.bulk import autocommit_one_write
from survey_app.charts import figure_json
from survey_app.db_types import utcnow
from survey_app.errors import DomainError
from survey_app.exports import csv_response
from survey_app.extensions import db, rate_limit
from survey_app.forms_util import attach_error, id_arg, page_size, parse_id
from survey_app.security import roles_required

from . import charts, mail, queries, services, workflow
from .forms import (
    CHANNEL_LABELS,
    SEVERITY_LABELS,
    TIER_LABELS,
    ActionForm,
    AssignForm,
    CalendarForm,
    CustomerActionForm,
    EditForm,
    LinkCustomerForm,
    NoteForm,
    PublicComplaintForm,
    QueueForm,
    RootCauseForm,
    StaffComplaintForm,
    sc,
    sla_field_name,
    sla_form,
)
from .models import Channel, Severity, State
from .services import Actor

bp = Blueprint("complaints", __name__)


def _public_limit() -> str:
    return current_app.config["PUBLIC_POST_RATE_LIMIT"]


def _locale() -> str:
    return str(get_locale())


def _actor() -> Actor:
    return Actor.of(current_user)


def _category_choices(blank: bool = True):
    choices = [(r.id, r.label(_locale())) for r in services.complaint_categories()]
    return ([("", _("Choose…"))] if blank else []) + choices


@bp.app_context_processor
def complaint_labels():
    return {
        "STATE_LABELS": workflow.STATE_LABELS,
        "STATE_NAMES": {s.value: label for s, label in workflow.STATE_LABELS.items()},
        "ACTION_LABELS": workflow.ACTION_LABELS,
        "SEVERITY_LABELS": SEVERITY_LABELS,
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "TIER_LABELS": TIER_LABELS,
    }


def _files(field) -> list[tuple[str, bytes]]:
    return [(f.filename, f.read()) for f in _uploads(field)]


def _uploads(field) -> list:
    return [f for f in (field.data or []) if f and f.filename]


# --- public: intake and tracking ---


def _open_from_form(form, actor: Actor, **extra):
    """Open a complaint from the public or the staff intake form, with its attachments."""
    complaint = services.open_complaint(
        actor,
        category_id=form.category_id.data,
        contact_name=form.contact_name.data,
        contact_email=form.contact_email.data or "",
        contact_phone=form.contact_phone.data or "",
        description=form.description.data,
        occurred_on=form.occurred_on.data,
        order_ref=form.order_ref.data or "",
        desired_outcome=form.desired_outcome.data or "",
        **extra,
    )
    for name, data in _files(form.attachments):
        services.add_attachment(complaint, actor, name, data)
    return complaint


@bp.route("/complaint", methods=["GET", "POST"])
@rate_limit(_public_limit, methods=["POST"])
def new_public():
    """The public complaint form. A valid post reads no category list (the service checks the
    category) and writes no session: the tracking page it leads to says thank you."""
    form = PublicComplaintForm()
    if form.validate_on_submit():
        if not _uploads(form.attachments):
            autocommit_one_write()  # then open_complaint writes one statement
        try:
            complaint = _open_from_form(form, Actor.customer(), channel=Channel.WEB)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            token = complaint.token  # read before the commit expires it
            db.session.commit()  # first: SQLite's write lock is held only for the writes
            return redirect(url_for("complaints.track", token=token, new=1))
    form.category_id.choices = sc(_category_choices())
    if mailer.smtp_configured(current_app.config):
        form.contact_email.description = _("We write to you there when there is news.")
    return render_template("complaints/public_form.html", form=form)


@bp.get("/complaint/t/<token>")
def track(token: str):
    complaint = services.by_token(token)
    rating_url = None
    if complaint.state in (State.RESOLVED, State.CLOSED) and services.rating_of(complaint) is None:
        rating_url = url_for("complaints.rate", signed=services.rating_token(complaint))
    return render_template(
        "complaints/track.html",
        complaint=complaint,
        events=services.timeline(complaint, customer_view=True),
        files=services.attachments(complaint),
        actions=workflow.allowed_actions(complaint.state, "customer"),
        form=CustomerActionForm(),
        rating_url=rating_url,
        is_new=request.args.get("new") == "1",
        mailed=bool(mail.address_of(complaint)),
    )


@bp.post("/complaint/t/<token>/act")
@rate_limit(_public_limit)
def track_action(token: str):
    complaint = services.by_token(token)
    form = CustomerActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.apply_action(
            complaint, form.action.data, Actor.customer(), text=form.text.data or ""
        )
        for name, data in _files(form.attachments):
            services.add_attachment(complaint, Actor.customer(), name, data)
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Thank you, your answer is recorded."), "success")
    return redirect(url_for("complaints.track", token=token))


@bp.get("/complaint/t/<token>/files/<int:attachment_id>")
def track_file(token: str, attachment_id: int):
    complaint = services.by_token(token)
    return _send(services.get_attachment(complaint, attachment_id))


def _send(attachment):
    path = services.attachment_path(attachment)
    if not path.is_file():
        abort(404)
    # Files are small (5 MB at most): read them whole, so no handle outlives the request.
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=attachment.content_type,
        as_attachment=attachment.content_type == "application/pdf",
        download_name=attachment.filename,
        max_age=0,
    )


@bp.get("/complaint/rate/<signed>")
def rate(signed: str):
    """The signed one-click link: it opens the recovery questionnaire, through the complaint's
    single invitation, or says why it cannot (already rated, not resolved yet)."""
    complaint = services.complaint_for_rating(signed)
    try:
        invitation = services.recovery_invitation(complaint)
    except DomainError as error:
        db.session.rollback()
        return render_template(
            "complaints/rate.html",
            complaint=complaint,
            existing=services.rating_of(complaint),
            message=error.message,
        )
    db.session.commit()
    if invitation.completed_at is not None:
        return render_template(
            "complaints/rate.html", complaint=complaint, existing=None, message=None
        )
    return redirect(url_for("surveys.answer_invitation", token=invitation.token))


# --- staff: lists ---


def _enum_arg(name, cls):
    try:
        return cls(request.args.get(name, ""))
    except ValueError:
        return None


def _date_arg(name):
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _filters() -> queries.Filters:
    assignee = request.args.get("assignee", "").strip()
    return queries.Filters(
        q=request.args.get("q", "").strip()[:100],
        state=_enum_arg("state", State),
        category_id=id_arg("category"),
        severity=_enum_arg("severity", Severity),
        assignee_id=0 if assignee == "none" else parse_id(assignee),
        channel=_enum_arg("channel", Channel),
        customer_code=request.args.get("customer", "").strip()[:60],
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
        overdue=request.args.get("overdue") == "1",
        open_only=request.args.get("open") == "1",
    )


@bp.get("/complaints/")
@roles_required(Role.STAFF, Role.MANAGER)
def list_complaints():
    now = utcnow()
    filters = _filters()
    rows, next_cursor = queries.complaint_page(
        filters, now, before_id=id_arg("before"), per_page=page_size()
    )
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template(
        "complaints/list.html",
        rows=rows,
        now=now,
        filters=filters,
        total=queries.count_matching(filters, now),
        next_url=url_for("complaints.list_complaints", **args, before=next_cursor)
        if next_cursor
        else None,
        first_url=url_for("complaints.list_complaints", **args)
        if "before" in request.args
        else None,
        categories=_category_choices(blank=False),
        staff=services.staff_users(),
        args=request.args,
        customer=queries.customer_of_code(filters.customer_code),
    )


#: complaints read per query while writing the list's CSV
EXPORT_PAGE = 500


@bp.get("/complaints/export.csv")
@roles_required(Role.STAFF, Role.MANAGER)
def export_complaints():
    """The staff list as filtered, every page, as CSV (text that looks like a formula is
    neutralised by ``csv_response``)."""
    now, filters, locale = utcnow(), _filters(), _locale()
    rows, before = [], None
    while True:
        found = queries.export_page(filters, now, before_id=before, limit=EXPORT_PAGE)
        for c, customer_code, assignee in found:
            rows.append(
                [
                    c.code,
                    c.created_at.strftime("%Y-%m-%d %H:%M"),
                    c.state.value,
                    c.severity.value,
                    c.category.label(locale),
                    c.channel.value,
                    customer_code or "",
                    c.contact_name,
                    c.contact_email,
                    c.contact_phone,
                    c.order_ref,
                    assignee.display_name if assignee else "",
                    c.due_at.strftime("%Y-%m-%d %H:%M") if c.due_at else "",
                    "yes" if c.due_at and c.due_at < now else "",
                    c.description,
                ]
            )
        if len(found) < EXPORT_PAGE:
            break
        before = found[-1][0].id
    header = ["code", "received_at_utc", "state", "severity", "category", "channel"]
    header += ["customer_code", "contact_name", "contact_email", "contact_phone", "order_ref"]
    header += ["assignee", "due_at_utc", "overdue", "description"]
    return csv_response(header, rows, f"complaints-{now:%Y%m%d}.csv")


@bp.get("/complaints/mine")
@roles_required(Role.STAFF, Role.MANAGER)
def my_work():
    now = utcnow()
    services.escalate_overdue(now, limit=200)
    db.session.commit()
    mine, queued = queries.my_work(current_user.id, services.my_queue_ids(current_user), now)
    return render_template("complaints/my_work.html", mine=mine, queued=queued, now=now)


@bp.route("/complaints/new", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.MANAGER)
def new_staff():
    form = StaffComplaintForm()
    if form.validate_on_submit():
        try:
            complaint = _open_from_form(
                form,
                _actor(),
                channel=Channel(form.channel.data),
                severity=Severity(form.severity.data),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Complaint %(code)s logged.", code=complaint.code), "success")
            return redirect(url_for("complaints.show", complaint_id=complaint.id))
    form.category_id.choices = sc(_category_choices())
    return render_template("complaints/staff_form.html", form=form)


@bp.post("/complaints/from-survey-response/<int:response_id>")
@roles_required(Role.STAFF)
def from_survey_response(response_id: int):
    """One click from a low survey score to a complaint case, pre-filled and linked."""
    complaint, created = services.open_complaint_from_survey(_actor(), response_id)
    db.session.commit()
    if created:
        flash(
            _("Complaint %(code)s opened from the survey response.", code=complaint.code), "success"
        )
    else:
        flash(_("This response already has complaint %(code)s.", code=complaint.code), "info")
    return redirect(url_for("complaints.show", complaint_id=complaint.id))


# --- staff: one complaint ---


def _action_form(complaint, action_form=None):
    form = action_form or ActionForm(formdata=None)
    form.root_cause_id.choices = sc(
        [("", _("Choose…"))] + [(c.id, c.label(_locale())) for c in services.root_causes()]
    )
    return form


def _assign_form(complaint, formdata=None):
    form = AssignForm(
        formdata=formdata,
        data={
            "assignee_id": complaint.assignee_id,
            "queue_id": complaint.queue_id,
            "version": complaint.version,
        },
    )
    form.assignee_id.choices = sc(
        [("", _("Nobody"))] + [(u.id, u.display_name) for u in services.staff_users()]
    )
    form.queue_id.choices = sc([("", _("No queue"))] + [(q.id, q.name) for q in services.queues()])
    return form


def _render_detail(complaint, *, action_form=None, failed_action=None, note_form=None, status=200):
    tracking_url = url_for("complaints.track", token=complaint.token, _external=True)
    rating_url = None
    if complaint.state in (State.RESOLVED, State.CLOSED):
        rating_url = url_for(
            "complaints.rate", signed=services.rating_token(complaint), _external=True
        )
    events = services.timeline(complaint, customer_view=False)
    return render_template(
        "complaints/detail.html",
        complaint=complaint,
        now=utcnow(),
        events=events,
        mails=mail.of_events([event.id for event in events]),
        max_mail_attempts=mail.MAX_ATTEMPTS,
        mail_to=mail.address_of(complaint),
        mailed_actions=mail.MAILED_ACTIONS,
        files=services.attachments(complaint),
        actions=workflow.allowed_actions(complaint.state, current_user.role.value),
        action_form=_action_form(complaint, action_form),
        failed_action=failed_action,
        note_form=note_form or NoteForm(formdata=None),
        assign_form=_assign_form(complaint),
        link_form=LinkCustomerForm(formdata=None, data={"version": complaint.version}),
        candidates=services.customer_candidates(complaint) if not complaint.customer_id else [],
        tracking_url=tracking_url,
        rating_url=rating_url,
        rating=services.rating_of(complaint),
    ), status


def _version(form) -> int | None:
    return parse_id(form.version.data)


@bp.get("/complaints/<int:complaint_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def show(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    if services.escalate_if_overdue(complaint):
        db.session.commit()
    return _render_detail(complaint)


@bp.post("/complaints/<int:complaint_id>/act")
@roles_required(Role.STAFF, Role.MANAGER)
def act(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    form = _action_form(complaint, ActionForm())
    if not form.validate_on_submit():
        return _render_detail(
            complaint, action_form=form, failed_action=form.action.data, status=400
        )
    merge_into = None
    if form.action.data == "merge" and form.merge_code.data:
        merge_into = queries.complaints_by_code(form.merge_code.data)
    try:
        services.apply_action(
            complaint,
            form.action.data,
            _actor(),
            text=form.text.data or "",
            root_cause_id=form.root_cause_id.data,
            root_cause_text=form.root_cause_text.data or "",
            corrective_action=form.corrective_action.data or "",
            merge_into=merge_into,
            expected_version=_version(form),
        )
    except DomainError as error:
        db.session.rollback()
        complaint = services.get_complaint(complaint_id)
        attach_error(form, error)
        return _render_detail(
            complaint, action_form=form, failed_action=form.action.data, status=error.status_code
        )
    db.session.commit()
    flash(_("Done: %(state)s.", state=workflow.STATE_LABELS[complaint.state]), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint.id))


@bp.post("/complaints/<int:complaint_id>/note")
@roles_required(Role.STAFF, Role.MANAGER)
def note(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_detail(complaint, note_form=form, status=400)
    try:
        services.add_note(complaint, _actor(), form.body.data, to_customer=form.to_customer.data)
        upload = form.attachment.data
        if upload and upload.filename:
            services.add_attachment(complaint, _actor(), upload.filename, upload.read())
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _render_detail(services.get_complaint(complaint_id), note_form=form, status=400)
    db.session.commit()
    flash(_("Reply sent.") if form.to_customer.data else _("Internal note added."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint.id))


@bp.post("/complaints/<int:complaint_id>/assign")
@roles_required(Role.STAFF, Role.MANAGER)
def assign(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    form = _assign_form(complaint, request.form)
    if not form.validate_on_submit():
        abort(400)
    try:
        services.assign(
            complaint,
            _actor(),
            assignee_id=form.assignee_id.data,
            queue_id=form.queue_id.data,
            expected_version=_version(form),
        )
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Assignment saved."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/link")
@roles_required(Role.STAFF, Role.MANAGER)
def link_customer(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    form = LinkCustomerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.link_customer(
            complaint, _actor(), form.customer_id.data, expected_version=_version(form)
        )
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Customer link saved."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


@bp.route("/complaints/<int:complaint_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.MANAGER)
def edit(complaint_id: int):
    complaint = services.get_complaint(complaint_id)
    form = EditForm(
        data={
            "version": complaint.version,
            "severity": complaint.severity.value,
            "category_id": complaint.category_id,
            "contact_name": complaint.contact_name,
            "contact_email": complaint.contact_email,
            "contact_phone": complaint.contact_phone,
            "order_ref": complaint.order_ref,
            "desired_outcome": complaint.desired_outcome,
        }
    )
    form.category_id.choices = sc(_category_choices(blank=False))
    if form.validate_on_submit():
        values = {name: getattr(form, name).data or "" for name in services.EDITABLE_FIELDS}
        values["severity"] = Severity(form.severity.data)
        values["category_id"] = form.category_id.data
        try:
            services.edit_fields(complaint, _actor(), values, expected_version=_version(form))
        except DomainError as error:
            db.session.rollback()
            complaint = services.get_complaint(complaint_id)
            attach_error(form, error)
            # the message says what changed; saving again now knowingly overrides it
            form.version.data = str(complaint.version)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("complaints.show", complaint_id=complaint_id))
    return render_template("complaints/edit.html", form=form, complaint=complaint)


@bp.get("/complaints/<int:complaint_id>/files/<int:attachment_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def file(complaint_id: int, attachment_id: int):
    complaint = services.get_complaint(complaint_id)
    return _send(services.get_attachment(complaint, attachment_id))


# --- managers: analysis ---


def _analysis_filters() -> queries.AnalysisFilters:
    today = utcnow().date()
    date_to = _date_arg("to") or today
    date_from = _date_arg("from") or (date_to - timedelta(days=365))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    tier = request.args.get("tier", "")
    return queries.AnalysisFilters(
        date_from=date_from,
        date_to=date_to,
        granularity="week" if request.args.get("by") == "week" else "month",
        category_id=id_arg("category"),
        severity=_enum_arg("severity", Severity),
        channel=_enum_arg("channel", Channel),
        tier=tier if tier in services.TIERS else "",
    )


@bp.get("/complaints/analysis")
@roles_required(Role.MANAGER)
def analysis():
    filters = _analysis_filters()
    result = queries.analysis(filters, _locale())
    figures = {name: figure_json(fig) for name, fig in charts.figures(result).items()}
    return render_template(
        "complaints/analysis.html",
        a=result,
        filters=filters,
        figures=figures,
        tables=charts.tables(result),
        categories=_category_choices(blank=False),
        args=request.args,
    )


@bp.get("/complaints/analysis.csv")
@roles_required(Role.MANAGER)
def analysis_csv():
    name = request.args.get("table", "kpis")
    tables = charts.tables(queries.analysis(_analysis_filters(), _locale()))
    if name not in tables:
        abort(404)
    header, rows = tables[name]["header"], tables[name]["rows"]
    return csv_response(header, rows, f"complaints-{name}.csv")


# --- admin: settings ---


def _hhmm(text: str) -> int | None:
    try:
        hours, minutes = text.strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        return None
    return value if 0 <= value <= 24 * 60 and 0 <= int(minutes) < 60 else None


@bp.route("/admin/complaints/sla", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def sla_settings():
    targets = services.sla_targets()
    form = sla_form(targets, formdata=request.form if request.method == "POST" else None)
    row = services.calendar_settings()
    cal_form = CalendarForm(
        formdata=None,
        data={
            "enabled": row.enabled,
            "start": f"{row.start_minute // 60:02d}:{row.start_minute % 60:02d}",
            "end": f"{row.end_minute // 60:02d}:{row.end_minute % 60:02d}",
            "weekdays": [int(d) for d in row.weekdays.split(",") if d],
            "timezone": row.timezone,
            "holidays": row.holidays,
        },
    )
    if request.method == "POST" and form.validate():
        new_targets = {
            key: (
                getattr(form, sla_field_name(key[0], key[1], "ack")).data,
                getattr(form, sla_field_name(key[0], key[1], "resolve")).data,
            )
            for key in targets
        }
        try:
            services.save_sla_targets(_actor(), new_targets)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("SLA targets saved; they apply to complaints received from now on."), "success")
            return redirect(url_for("complaints.sla_settings"))
    return render_template(
        "complaints/sla.html",
        form=form,
        cal_form=cal_form,
        severities=list(Severity),
        tiers=services.TIERS,
        field_name=sla_field_name,
    )


@bp.post("/admin/complaints/calendar")
@roles_required(Role.ADMIN)
def calendar_settings():
    form = CalendarForm()
    if form.validate_on_submit():
        start, end = _hhmm(form.start.data), _hhmm(form.end.data)
        if start is None or end is None:
            attach_error(form, DomainError(_("Write times as HH:MM, e.g. 09:00."), field="start"))
        else:
            try:
                services.save_calendar(
                    _actor(),
                    enabled=form.enabled.data,
                    start_minute=start,
                    end_minute=end,
                    weekdays=form.weekdays.data or [],
                    timezone=form.timezone.data,
                    holidays=form.holidays.data or "",
                )
            except DomainError as error:
                db.session.rollback()
                attach_error(form, error)
            else:
                db.session.commit()
                flash(_("Working calendar saved."), "success")
                return redirect(url_for("complaints.sla_settings"))
    targets = services.sla_targets()
    return render_template(
        "complaints/sla.html",
        form=sla_form(targets),
        cal_form=form,
        severities=list(Severity),
        tiers=services.TIERS,
        field_name=sla_field_name,
    ), 400


@bp.route("/admin/complaints/root-causes", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def root_causes():
    form = RootCauseForm()
    if form.validate_on_submit():
        try:
            services.save_root_cause(
                _actor(), None, name_zh=form.name_zh.data or "", name_en=form.name_en.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Root cause added."), "success")
            return redirect(url_for("complaints.root_causes"))
    return render_template(
        "complaints/root_causes.html", form=form, causes=services.root_causes(include_inactive=True)
    )


@bp.route("/admin/complaints/root-causes/<int:cause_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_root_cause(cause_id: int):
    cause = services.get_root_cause(cause_id)
    form = RootCauseForm(obj=cause)
    if form.validate_on_submit():
        try:
            services.save_root_cause(
                _actor(),
                cause,
                name_zh=form.name_zh.data or "",
                name_en=form.name_en.data or "",
                active=form.active.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Root cause saved."), "success")
            return redirect(url_for("complaints.root_causes"))
    return render_template("complaints/root_cause_form.html", form=form, cause=cause)


def _queue_form(queue=None):
    form = QueueForm(
        data=None
        if queue is None
        else {
            "name": queue.name,
            "member_ids": [u.id for u in queue.members],
            "category_ids": [r.category_id for r in queue.rules],
        }
    )
    form.member_ids.choices = sc((u.id, u.display_name) for u in services.staff_users())
    form.category_ids.choices = sc(_category_choices(blank=False))
    return form


def _save_queue(queue):
    form = _queue_form(queue)
    if form.validate_on_submit():
        try:
            services.save_queue(
                _actor(),
                queue,
                name=form.name.data,
                member_ids=form.member_ids.data or [],
                category_ids=form.category_ids.data or [],
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Queue saved."), "success")
            return form, True
    return form, False


@bp.route("/admin/complaints/queues", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def queues():
    form, saved = _save_queue(None)
    if saved:
        return redirect(url_for("complaints.queues"))
    return render_template(
        "complaints/queues.html",
        form=form,
        queues=services.queues(),
        rules=queries.queue_rules(),
        categories=dict(_category_choices(blank=False)),
    )


@bp.route("/admin/complaints/queues/<int:queue_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_queue(queue_id: int):
    queue = services.get_queue(queue_id)
    form, saved = _save_queue(queue)
    if saved:
        return redirect(url_for("complaints.queues"))
    return render_template("complaints/queue_form.html", form=form, queue=queue)
