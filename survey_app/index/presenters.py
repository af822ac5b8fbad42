"""The management report as tables (each with the figure drawn from the same numbers): what the
page shows and what every CSV export writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from survey_app.analytics import composite as cx
from survey_app.charts import figure_json
from survey_app.charts import index as charts
from survey_app.churn import queries as churn_queries
from survey_app.errors import DomainError
from survey_app.surveys import queries as survey_queries
from survey_app.surveys import services as survey_services

from . import queries, services
from .models import IndexValue

GRANULARITIES = ("quarter", "month")


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    figure: str | None = None
    note: str = ""


@dataclass
class CorrelationRow:
    label: str
    result: cx.Correlation

    @property
    def reading(self) -> str:
        return {
            "negative": _("Negative, as a valid index should be"),
            "positive": _("Positive: not what a valid index shows"),
            "unclear": _("No clear sign: too few periods or too weak"),
            "unknown": _("Cannot tell: too few periods, or one side never changes"),
        }[self.result.reading]


@dataclass
class Report:
    granularity: str
    period: str | None
    group: str
    periods: list[str]
    groups: list[tuple[str, str]]  # (value, label)
    current: IndexValue | None
    tables: dict[str, Table]
    correlations: list[CorrelationRow]
    #: "construct: item, item; ..." for the items of the period's model with a negative weight
    negative_weights: str = ""
    #: the loss definition's floor: days without an order before a loss can be recorded
    loss_floor_days: int = 90


def construct_name(construct: str) -> str:
    return {
        "image": _("Image"),
        "expectations": _("Expectations"),
        "quality": _("Perceived quality"),
        "value": _("Perceived value"),
        "satisfaction": _("Satisfaction"),
        "loyalty": _("Loyalty"),
    }.get(construct, construct)


def group_label(kind: str, value: str) -> str:
    if kind == "all":
        return _("All customers")
    if kind == "tier":
        tiers = {
            "key": _("Key customers"),
            "general": _("General customers"),
            "minor": _("Minor customers"),
        }
        return tiers.get(value, value)
    return _("Segment: %(name)s", name=value)


def method_label(method: str) -> str:
    return {"model": _("PLS model"), "fallback": _("Mean of satisfaction items (fallback)")}.get(
        method, _("No responses")
    )


def _r(value, digits: int = 1):
    """``value`` rounded to ``digits`` decimals (a whole number for 0), None kept."""
    if value is None:
        return None
    return round(float(value)) if digits == 0 else round(float(value), digits)


def _parse_group(text: str) -> tuple[str, str]:
    if text and ":" in text:
        kind, value = text.split(":", 1)
        if kind in ("segment", "tier"):
            return kind, value
    return "all", ""


def build(granularity: str, period: str | None, group: str) -> Report:
    """Every table of the report for one granularity, period and group (defaults: quarters,
    the latest stored period, all customers)."""
    granularity = granularity if granularity in GRANULARITIES else GRANULARITIES[0]
    periods = queries.stored_periods(granularity)
    if period not in periods:
        period = periods[-1] if periods else None
    kind, value = _parse_group(group)
    groups = [
        (k if k == "all" else f"{k}:{v}", group_label(k, v)) for k, v in queries.stored_groups()
    ]
    group = kind if kind == "all" else f"{kind}:{value}"
    if group not in [g for g, _label in groups]:
        kind, value, group = "all", "", "all"
    history = queries.series(granularity, kind, value)
    current = next((v for v in history if v.period == period), None)
    by_group = queries.period_values(period) if period else []
    overall = next((v for v in by_group if v.group_kind == "all"), None)
    tables = {
        "trend": _trend(history),
        "sensitivity": _sensitivity(current),
        "drivers": _drivers(overall),
        "dimensions": _dimensions(overall, value if kind == "segment" else ""),
        "complaints": _complaints(current),
        "retention": _retention(history),
        "groups": _groups(by_group),
        "validity": _validity(overall),
    }
    floor_days = churn_queries.floor_days()
    overall_history = history if kind == "all" else queries.series(granularity, "all", "")
    correlations = _correlations(overall_history, granularity, floor_days)
    negatives = "; ".join(
        f"{construct_name(c)}: {', '.join(items)}"
        for c, items in (current.negative_weights if current else {}).items()
    )
    return Report(
        granularity,
        period,
        group,
        periods,
        groups,
        current,
        tables,
        correlations,
        negatives,
        loss_floor_days=floor_days,
    )


def _trend(history: list[IndexValue]) -> Table:
    t = Table(
        "trend",
        _("Composite index and components"),
        [
            _("Period"),
            _("Composite"),
            _("Lower 95%"),
            _("Upper 95%"),
            _("Satisfaction (S)"),
            _("S lower 95%"),
            _("S upper 95%"),
            _("How S was obtained"),
            _("Complaint handling (C)"),
            _("Retention (R)"),
            _("Responses"),
            _("Complaints"),
            _("Customers"),
            _("Weights S/C/R"),
        ],
    )
    for v in history:
        t.rows.append(
            [
                v.period,
                _r(v.composite),
                _r(v.composite_low),
                _r(v.composite_high),
                _r(v.satisfaction),
                _r(v.s_low),
                _r(v.s_high),
                method_label(v.s_method),
                _r(v.complaint_handling),
                _r(v.retention),
                v.responses,
                v.complaints,
                v.customers,
                f"{v.weight_s:g}/{v.weight_c:g}/{v.weight_r:g}",
            ]
        )
    if history:
        periods = [v.period for v in history]
        band = None
        if any(v.composite_low is not None for v in history):
            band = ([v.composite_low for v in history], [v.composite_high for v in history])
        t.figure = figure_json(
            charts.trend_figure(
                periods,
                {
                    "composite": (_("Composite"), [v.composite for v in history]),
                    "s": (_("Satisfaction (S)"), [v.satisfaction for v in history]),
                    "c": (_("Complaint handling (C)"), [v.complaint_handling for v in history]),
                    "r": (_("Retention (R)"), [v.retention for v in history]),
                },
                band,
                {"y": _("Index (0-100)"), "band": _("Confidence band (95%)")},
            )
        )
    t.note = _(
        "The band is the composite with S at the ends of its 95% bootstrap interval "
        "(C and R held fixed); periods where S comes from the fallback mean have none."
    )
    return t


def _sensitivity(current: IndexValue | None) -> Table:
    t = Table(
        "sensitivity",
        _("Sensitivity to the weights"),
        [_("Weighting"), _("Weight S"), _("Weight C"), _("Weight R"), _("Composite")],
    )
    if current is None:
        return t
    names = {
        "equal": _("Equal weights"),
        "survey_heavy": _("Survey-heavy"),
        "behaviour_heavy": _("Behaviour-heavy"),
        "survey_only": _("Survey only"),
    }
    components = (current.satisfaction, current.complaint_handling, current.retention)
    rows = [(_("Stored (used for this value)"), current.weights)]
    settings = services.index_settings().weights
    if settings != current.weights:
        rows.append((_("Current settings"), settings))
    rows += [(names[k], w) for k, w in cx.ALTERNATIVE_WEIGHTS.items()]
    for name, w in rows:
        t.rows.append(
            [name, _r(w[0], 3), _r(w[1], 3), _r(w[2], 3), _r(cx.composite(components, w))]
        )
    return t


QUADRANTS = ("fix first", "keep up", "low priority", "possible overkill")


def quadrant_label(key: str) -> str:
    return {
        "fix first": _("Fix first"),
        "keep up": _("Keep up"),
        "low priority": _("Low priority"),
        "possible overkill": _("Possible overkill"),
    }[key]


def quadrant(importance: float, performance: float, mid_i: float, mid_p: float) -> str:
    """High importance and low performance: fix first; high and high: keep up; low and low:
    low priority; low importance, high performance: possible overkill (split at the means)."""
    if importance >= mid_i:
        return "fix first" if performance < mid_p else "keep up"
    return "low priority" if performance < mid_p else "possible overkill"


def _drivers(overall: IndexValue | None) -> Table:
    t = Table(
        "drivers",
        _("Drivers of satisfaction"),
        [_("Driver"), _("Importance (total effect)"), _("Performance (0-100)"), _("Quadrant")],
    )
    drivers = ((overall.details or {}).get("drivers") or {}) if overall else {}
    points = [
        (c, d["importance"], d["performance"])
        for c, d in drivers.items()
        if d.get("importance") is not None and d.get("performance") is not None
    ]
    if not points:
        t.note = _(
            "The drivers come from the PLS model, which did not run for this period "
            "(too few complete responses). Choose a quarter, or a period marked “PLS model”."
        )
        return t
    mid_i = sum(p[1] for p in points) / len(points)
    mid_p = sum(p[2] for p in points) / len(points)
    rows = []
    for c, imp, perf in points:
        q = quadrant(imp, perf, mid_i, mid_p)
        t.rows.append([construct_name(c), _r(imp, 3), _r(perf), quadrant_label(q)])
        rows.append({"name": construct_name(c), "importance": imp, "performance": perf})
    t.figure = figure_json(
        charts.driver_figure(
            rows,
            {
                "x": _("Performance (0-100)"),
                "y": _("Importance (total effect on satisfaction)"),
                "mid_x": mid_p,
                "mid_y": mid_i,
                "quadrants": [
                    (_("Fix first"), "left", "top", 0.01, 0.99),
                    (_("Keep up"), "right", "top", 0.99, 0.99),
                    (_("Low priority"), "left", "bottom", 0.01, 0.01),
                    (_("Possible overkill"), "right", "bottom", 0.99, 0.01),
                ],
            },
        )
    )
    t.note = _(
        "Quadrants split at the mean importance (%(i)s) and mean performance (%(p)s).",
        i=f"{mid_i:.3f}",
        p=f"{mid_p:.1f}",
    )
    return t


def _dimensions(overall: IndexValue | None, segment: str) -> Table:
    t = Table(
        "dimensions", _("Dimension scores"), [_("Dimension"), _("Score (0-100)"), _("Answers")]
    )
    qid = (overall.details or {}).get("questionnaire_id") if overall else None
    if not qid:
        return t
    try:
        questionnaire = survey_services.get_questionnaire(qid)
    except DomainError:
        return t
    days = (overall.period_end - overall.period_start).days + 1
    scores, _trend, _window = survey_queries.dimension_scores(
        questionnaire,
        survey_queries.Filters(end=overall.period_end, segment=segment, window_days=days),
    )
    scores = [s for s in scores if s.current is not None]
    for s in scores:
        t.rows.append([s.dimension.name, _r(s.current), s.current_n])
    if scores:
        t.figure = figure_json(
            charts.bar_figure(
                [s.dimension.name for s in scores],
                [s.current for s in scores],
                {"y": _("Score (0-100)"), "range": [0, 100]},
            )
        )
    t.note = _(
        "Mean 0-100 score of the answers tagged with each dimension in the period, "
        "from “%(title)s”.",
        title=questionnaire.title,
    )
    return t


def _complaints(current: IndexValue | None) -> Table:
    t = Table(
        "complaints",
        _("Complaint handling (C)"),
        [_("Part"), _("Score (0-100)"), _("Measured"), _("Weight in C")],
    )
    if current is None:
        return t
    d = (current.details or {}).get("complaint") or {}
    parts = d.get("parts") or {}
    sla = d.get("sla") or [0, 0]
    reopened = d.get("reopened") or [0, 0]
    per = d.get("per_thousand_month")
    measured = {
        "rate": _(
            "%(n)s complaints; %(rate)s per 1,000 customers per month",
            n=current.complaints,
            rate="—" if per is None else f"{per:.1f}",
        ),
        "sla": _("%(met)s of %(total)s deadlines met", met=sla[0], total=sla[1]),
        "recovery": _(
            "%(n)s ratings, mean %(mean)s of 5",
            n=d.get("ratings", 0),
            mean="—" if d.get("mean_rating") is None else f"{d['mean_rating']:.2f}",
        ),
        "reopen": _("%(n)s of %(total)s reopened", n=reopened[0], total=reopened[1]),
    }
    names = {
        "rate": _("Complaint rate"),
        "sla": _("SLA compliance"),
        "recovery": _("Recovery satisfaction"),
        "reopen": _("Not reopened"),
    }
    for key in ("rate", "sla", "recovery", "reopen"):
        t.rows.append([names[key], _r(parts.get(key)), measured[key], cx.C_PARTS[key]])
    known = [(names[k], parts[k]) for k in names if parts.get(k) is not None]
    if known:
        t.figure = figure_json(
            charts.bar_figure(
                [n for n, _v in known],
                [v for _n, v in known],
                {"y": _("Score (0-100)"), "range": [0, 100]},
                colour="#2e7d32",
            )
        )
    return t


def _retention(history: list[IndexValue]) -> Table:
    t = Table(
        "retention",
        _("Retention (R) and customers lost"),
        [
            _("Period"),
            _("Customers at start"),
            _("Lost in the period"),
            _("Value at start"),
            _("Value lost"),
            _("Retention (R)"),
        ],
    )
    for v in history:
        d = (v.details or {}).get("retention") or {}
        t.rows.append(
            [
                v.period,
                d.get("customers", 0),
                d.get("lost", 0),
                _r(d.get("value_at_start"), 0),
                _r(d.get("value_lost"), 0),
                _r(v.retention),
            ]
        )
    unseen = [
        v.details["retention"]["observable_from"]
        for v in history
        if ((v.details or {}).get("retention") or {}).get("observable_from")
    ]
    if unseen:
        t.note = _(
            "Losses can be seen from %(day)s on: a loss is recorded no sooner than the loss "
            "definition's floor after a customer's last order, counted from the first purchase "
            "on record. Periods starting earlier have no R, and their composite is made of S and "
            "C alone.",
            day=format_date(date.fromisoformat(max(unseen)), "medium"),
        )
    if history:
        t.figure = figure_json(
            charts.bar_figure(
                [row[0] for row in t.rows],
                [row[4] or 0 for row in t.rows],
                {"y": _("Value lost (CLV)")},
                colour="#6a1b9a",
            )
        )
    return t


def _groups(values: list[IndexValue]) -> Table:
    t = Table(
        "groups",
        _("Segments and tiers compared"),
        [
            _("Group"),
            _("Composite"),
            _("Lower 95%"),
            _("Upper 95%"),
            _("Satisfaction (S)"),
            _("Complaint handling (C)"),
            _("Retention (R)"),
            _("Responses"),
        ],
    )
    for v in values:
        t.rows.append(
            [
                group_label(v.group_kind, v.group_value),
                _r(v.composite),
                _r(v.composite_low),
                _r(v.composite_high),
                _r(v.satisfaction),
                _r(v.complaint_handling),
                _r(v.retention),
                v.responses,
            ]
        )
    if values:
        names = [row[0] for row in t.rows]
        t.figure = figure_json(
            charts.grouped_bar_figure(
                names,
                {
                    "composite": (_("Composite"), [v.composite for v in values]),
                    "s": (_("Satisfaction (S)"), [v.satisfaction for v in values]),
                    "c": (_("Complaint handling (C)"), [v.complaint_handling for v in values]),
                    "r": (_("Retention (R)"), [v.retention for v in values]),
                },
                {"y": _("Index (0-100)"), "range": [0, 100]},
            )
        )
    return t


def _validity(overall: IndexValue | None) -> Table:
    t = Table(
        "validity",
        _("Does the index predict behaviour?"),
        [
            _("Satisfaction band"),
            _("Respondents"),
            _("Left later"),
            _("Churn rate (%)"),
            _("Complained later"),
            _("Complaint rate (%)"),
        ],
    )
    bands = ((overall.details or {}).get("validity") or []) if overall else []
    for b in bands:
        n = b["customers"]
        t.rows.append(
            [
                b["band"],
                n,
                b["lost"],
                _r(100.0 * b["lost"] / n),
                b["complained"],
                _r(100.0 * b["complained"] / n),
            ]
        )
    if bands:
        t.figure = figure_json(
            charts.grouped_bar_figure(
                [row[0] for row in t.rows],
                {
                    "c": (_("Churn rate (%)"), [row[3] for row in t.rows]),
                    "r": (_("Complaint rate (%)"), [row[5] for row in t.rows]),
                },
                {"y": "%"},
            )
        )
    t.note = _(
        "The period's respondents by their satisfaction score (latest response each); "
        "“later” means on or after the day they answered."
    )
    return t


def churn_lag(granularity: str, floor_days: int) -> int:
    """How many periods later churn is set against satisfaction: a loss is recorded no sooner
    than the loss definition's floor (``floor_days``, 90 by default) after the last order, so
    the losses a period's dissatisfaction causes are counted that much later. At least 1."""
    period_days = 365.25 / (4 if granularity == "quarter" else 12)
    return max(1, round(floor_days / period_days))


def _correlations(
    history: list[IndexValue], granularity: str, floor_days: int
) -> list[CorrelationRow]:
    """Satisfaction against churn in the same period and ``churn_lag`` periods later, and
    against complaints in the same period. Periods are paired by date, so a period missing
    from the stored history leaves its pairs out rather than shifting the others."""
    step = 3 if granularity == "quarter" else 1
    lag = churn_lag(granularity, floor_days)
    satisfaction, churn, complaints = {}, {}, {}
    for v in history:
        key = v.period_start.year * 12 + v.period_start.month - 1
        satisfaction[key] = v.satisfaction
        r = (v.details or {}).get("retention") or {}
        # before losses can be seen (``observable_from``), a churn of 0 is not known
        seen = r.get("customers") and not r.get("observable_from")
        churn[key] = 100.0 * r["lost"] / r["customers"] if seen else None
        complaints[key] = ((v.details or {}).get("complaint") or {}).get("per_thousand_month")
    keys = sorted(satisfaction)
    s = [satisfaction[k] for k in keys]
    later = [churn.get(k + lag * step) for k in keys]
    later_label = (
        ngettext(
            "Satisfaction vs churn rate %(num)s quarter later",
            "Satisfaction vs churn rate %(num)s quarters later",
            lag,
        )
        if granularity == "quarter"
        else ngettext(
            "Satisfaction vs churn rate %(num)s month later",
            "Satisfaction vs churn rate %(num)s months later",
            lag,
        )
    )
    return [
        CorrelationRow(
            _("Satisfaction vs churn rate, same period"),
            cx.correlation(s, [churn[k] for k in keys]),
        ),
        CorrelationRow(later_label, cx.correlation(s, later)),
        CorrelationRow(
            _("Satisfaction vs complaints per 1,000 customers, same period"),
            cx.correlation(s, [complaints[k] for k in keys]),
        ),
    ]
