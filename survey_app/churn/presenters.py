"""Turn analysis results into figures, tables and CSV files for the pages (labels translated
here, numbers untouched)."""

from __future__ import annotations

import math

from flask import abort
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey_app.charts import churn as charts
from survey_app.charts import figure_json
from survey_app.exports import csv_response

DRIVER_LABELS = {
    "long_gap": _l("long gap against the usual rhythm"),
    "declining_spend": _l("declining spend"),
    "contract_ending": _l("contract ends soon without a renewal"),
    "recent_complaint": _l("complained in the last 90 days"),
    "low_last_score": _l("low score in the last survey"),
}
TIER_NAMES = {"key": _l("Key"), "general": _l("General"), "minor": _l("Minor"), "all": _l("All")}
EXPORTS = (
    "monthly",
    "cohorts",
    "survival",
    "reasons",
    "value_lost",
    "by_complaint",
    "by_recovery",
    "by_satisfaction",
)
LINKED_NAMES = {
    "on_time": _l("Complaint resolved on time"),
    "late": _l("Complaint resolved late"),
    "unresolved": _l("Complaint unresolved"),
    "none": _l("Never complained"),
    "poor": _l("Recovery rated 1-2"),
    "fair": _l("Recovery rated 3"),
    "good": _l("Recovery rated 4-5"),
    "not_rated": _l("Recovery not rated"),
    "low": _l("Low (1-2 of 5)"),
    "medium": _l("Medium (3 of 5)"),
    "high": _l("High (4-5 of 5)"),
}
#: the linked analyses: (export name, attribute of ``LinkedChurn``)
LINKED = ("by_complaint", "by_recovery", "by_satisfaction")


def locale() -> str:
    return str(get_locale())


def _group_names() -> dict:
    return {k: str(v) for k, v in TIER_NAMES.items()}


def _pct(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def reason_name(reason) -> str:
    return reason.label(locale()) if reason is not None else _("Not recorded yet")


def analysis_view(result) -> dict:
    """Figures (as JSON) and table rows for the analysis page."""
    names = _group_names()
    monthly = result.monthly
    view = {
        "monthly_rows": monthly.to_dict("records"),
        "monthly_fig": figure_json(
            charts.churn_rate_figure(
                monthly, {"y": _("Churn rate per month"), "group_names": names}
            )
        )
        if len(monthly)
        else None,
        "pct": _pct,
        "group_names": names,
    }
    cohorts = result.cohorts
    view["cohort_fig"] = (
        figure_json(
            charts.cohort_figure(
                cohorts,
                {"x": _("Months since first purchase"), "y": _("First-purchase month")},
            )
        )
        if len(cohorts)
        else None
    )
    view["cohort_rows"] = [
        (idx.strftime("%Y-%m"), [row.get(c) for c in cohorts.columns])
        for idx, row in cohorts.iterrows()
    ]
    view["cohort_columns"] = list(cohorts.columns)
    km = result.survival
    view["survival_fig"] = (
        figure_json(
            charts.survival_figure(
                km.curves,
                {
                    "x": _("Days since first purchase"),
                    "y": _("Share still a customer"),
                    "group_names": names,
                },
            )
        )
        if len(km.curves)
        else None
    )
    view["survival_rows"] = _survival_summary(km)
    given = [(reason_name(r), n) for r, n in result.reasons if r is not None]
    view["reason_rows"] = given
    view["unexplained"] = sum(n for r, n in result.reasons if r is None)
    view["reasons_fig"] = (
        figure_json(
            charts.reasons_figure(
                [name for name, _n in given],
                [n for _name, n in given],
                {"count": _("Times given"), "cumulative": _("Cumulative share")},
            )
        )
        if given
        else None
    )
    view["value_fig"] = (
        figure_json(
            charts.value_lost_figure(
                result.value_lost,
                {"revenue": _("Revenue of the last year"), "clv": _("Lifetime value lost")},
            )
        )
        if result.value_lost
        else None
    )
    names_linked = {k: str(v) for k, v in LINKED_NAMES.items()}
    view["linked_names"] = names_linked
    for name in LINKED:
        rows = getattr(result.linked, name)
        if name == "by_complaint" and all(r["label"] == "none" for r in rows):
            rows = []  # nobody complained: nothing to set beside
        view[f"{name}_fig"] = (
            figure_json(charts.rate_by_label_figure(rows, names_linked, {"y": _("Churn rate")}))
            if rows
            else None
        )
    return view


def _survival_summary(km) -> list[dict]:
    """Per group: customers, losses, and S at 180, 365 and 730 days with the band."""
    rows = []
    for group in km.groups:
        part = km.curves[km.curves["group"] == group]
        row = {
            "group": group,
            "customers": int(part["at_risk"].iloc[0]) if len(part) else 0,
            "events": int(part["events"].sum()),
        }
        for day in (180, 365, 730):
            upto = part[part["days"] <= day]
            last = upto.iloc[-1] if len(upto) else None
            row[day] = (
                (float(last["survival"]), float(last["lower"]), float(last["upper"]))
                if last is not None
                else (1.0, 1.0, 1.0)
            )
        rows.append(row)
    return rows


def export(result, name: str):
    """CSV of the numbers behind one chart of the analysis page."""
    if name not in EXPORTS:
        abort(404)
    if name in LINKED:
        return csv_response(
            [
                _("Group"),
                _("Customers"),
                _("Lost"),
                _("Churn rate"),
                _("Lower bound (95 percent)"),
                _("Upper bound (95 percent)"),
            ],
            [
                (
                    str(LINKED_NAMES.get(r["label"], r["label"])),
                    r["customers"],
                    r["lost"],
                    _round(r["rate"]),
                    _round(r["low"]),
                    _round(r["high"]),
                )
                for r in getattr(result.linked, name)
            ],
            f"churn-{name.replace('_', '-')}.csv",
        )
    if name == "monthly":
        frame = result.monthly
        return csv_response(
            [
                _("Group"),
                _("Month"),
                _("Customers at start"),
                _("Lost"),
                _("Won back"),
                _("Churn rate"),
                _("Retention"),
            ],
            [
                [
                    r["group"],
                    r["month"].isoformat(),
                    r["at_start"],
                    r["lost"],
                    r["won_back"],
                    _round(r["churn_rate"]),
                    _round(r["retention"]),
                ]
                for r in frame.to_dict("records")
            ],
            "churn-by-month.csv",
        )
    if name == "cohorts":
        matrix = result.cohorts
        return csv_response(
            [_("First-purchase month"), *[str(c) for c in matrix.columns]],
            [[i.strftime("%Y-%m"), *[_round(v) for v in row]] for i, row in matrix.iterrows()],
            "cohort-retention.csv",
        )
    if name == "survival":
        curves = result.survival.curves
        return csv_response(
            [
                _("Group"),
                _("Days"),
                _("At risk"),
                _("Losses"),
                _("Survival"),
                _("Lower"),
                _("Upper"),
            ],
            curves[["group", "days", "at_risk", "events", "survival", "lower", "upper"]]
            .round(6)
            .values.tolist(),
            "survival.csv",
        )
    if name == "reasons":
        return csv_response(
            [_("Reason"), _("Times given")],
            [[reason_name(r), n] for r, n in result.reasons],
            "loss-reasons.csv",
        )
    return csv_response(
        [
            _("Month"),
            _("Losses"),
            _("Revenue of the last year"),
            _("Lifetime value lost"),
            _("Won back"),
            _("Win-back rate"),
        ],
        [
            [
                r["month"],
                r["losses"],
                round(r["revenue"], 2),
                round(r["clv"], 2),
                r["won_back"],
                _round(r["win_back_rate"]),
            ]
            for r in result.value_lost
        ],
        "value-lost.csv",
    )


def _round(x):
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def risk_csv(rows):
    return csv_response(
        [
            _("Code"),
            _("Name"),
            _("Tier"),
            _("Status"),
            _("Probability of leaving"),
            _("CLV"),
            _("Value at risk"),
            _("Reasons"),
        ],
        [
            [
                customer.code,
                customer.name,
                tier or "",
                status.value if status else "",
                round(score.probability, 4),
                clv if clv is not None else "",
                score.value_at_risk,
                "; ".join(str(DRIVER_LABELS[d]) for d in score.drivers.split(",") if d),
            ]
            for score, customer, clv, tier, status in rows
        ],
        "at-risk-customers.csv",
    )
