"""Figures and tables of the complaint analysis page (pure: the analysis result in, Plotly out)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from survey_app.analytics.complaints import DURATION_EDGES
from survey_app.charts import cumulative_share_axis, styled


def _bucket_labels() -> list[str]:
    names = {
        1.0: "1 h",
        4.0: "4 h",
        24.0: "1 d",
        48.0: "2 d",
        168.0: "7 d",
        336.0: "14 d",
        720.0: "30 d",
    }
    labels = []
    for lo, hi in zip(DURATION_EDGES[:-1], DURATION_EDGES[1:], strict=True):
        if lo == 0:
            labels.append(f"< {names[hi]}")
        elif hi == float("inf"):
            labels.append(f"≥ {names[lo]}")
        else:
            labels.append(f"{names[lo]} – {names[hi]}")
    return labels


def _pct(met_total) -> float | None:
    met, total = met_total
    return 100.0 * met / total if total else None


def tables(a) -> dict:
    """Every table of the page: name -> {title, header, rows}; the CSV export uses the same."""
    # one row per period, one column per category (most complaints first): two years by week
    # is about a hundred rows, not one per period and category
    per_period: dict = {}
    for period, category, count in a.volume:
        per_period.setdefault(str(period), {})[category] = count
    order = [category for category, *_figures in a.categories]
    labels = _bucket_labels()
    return {
        "volume": {
            "title": _("Complaints per period and category"),
            "header": [_("Period"), *order, _("Total")],
            "rows": [
                [period, *(counts.get(c, 0) for c in order), sum(counts.values())]
                for period, counts in per_period.items()
            ],
        },
        "categories": {
            "title": _("Pareto of categories"),
            "header": [_("Category"), _("Complaints"), _("Share %"), _("Cumulative %")],
            "rows": [[k, n, round(s, 1), round(c, 1)] for k, n, s, c in a.categories],
        },
        "root_causes": {
            "title": _("Pareto of root causes (closed complaints)"),
            "header": [_("Root cause"), _("Complaints"), _("Share %"), _("Cumulative %")],
            "rows": [[k, n, round(s, 1), round(c, 1)] for k, n, s, c in a.root_causes],
        },
        "durations": {
            "title": _("Time to acknowledge and to resolve (hours)"),
            "header": [_("Step"), _("Complaints"), _("Median"), _("90th percentile"), _("Mean")],
            "rows": [
                [name, s.count, _round(s.median), _round(s.p90), _round(s.mean)]
                for name, s in ((_("Acknowledge"), a.ack), (_("Resolve"), a.resolve))
            ],
        },
        "distribution": {
            "title": _("Distribution of handling times"),
            "header": [_("Time"), _("Acknowledged"), _("Resolved")],
            "rows": [
                [label, ack, res]
                for label, ack, res in zip(
                    labels, a.ack_histogram, a.resolve_histogram, strict=True
                )
            ],
        },
        "kpis": {
            "title": _("Key figures"),
            "header": [_("Measure"), _("Value"), _("Based on")],
            "rows": [
                [_("Complaints"), a.total, ""],
                [_("Acknowledged within SLA %"), _round(_pct(a.ack_sla)), a.ack_sla[1]],
                [_("Resolved within SLA %"), _round(_pct(a.resolve_sla)), a.resolve_sla[1]],
                [_("Reopen rate %"), _round(_pct(a.reopened)), a.reopened[1]],
                [_("Recovery rating (1-5)"), _round(a.mean_rating, 2), a.ratings],
                [_("Would recommend (0-10)"), _round(a.mean_recommend, 2), a.ratings],
                [_("Recovery NPS"), _round(a.nps), a.ratings],
                [
                    _("Complaints per 1,000 active customers"),
                    _round(a.per_thousand, 2),
                    a.active_customers,
                ],
            ],
        },
    }


def _round(value, digits=1):
    return None if value is None else round(value, digits)


def figures(a) -> dict[str, go.Figure]:
    volume = go.Figure()
    by_category: dict = {}
    for period, category, count in a.volume:
        by_category.setdefault(category, {})[str(period)] = count
    for category, counts in by_category.items():
        volume.add_bar(name=category, x=a.periods, y=[counts.get(p, 0) for p in a.periods])
    volume.update_layout(barmode="stack")
    figs = {"volume": styled(volume, _("Complaints per period and category"))}
    for name, rows, title in (
        ("categories", a.categories, _("Pareto of categories")),
        ("root_causes", a.root_causes, _("Pareto of root causes")),
    ):
        fig = go.Figure()
        fig.add_bar(x=[r[0] for r in rows], y=[r[1] for r in rows], name=_("Complaints"))
        fig.add_scatter(
            x=[r[0] for r in rows],
            y=[r[3] for r in rows],
            name=_("Cumulative %"),
            yaxis="y2",
            mode="lines+markers",
        )
        fig.update_layout(yaxis2=cumulative_share_axis())
        figs[name] = styled(fig, title)
    dist = go.Figure()
    labels = _bucket_labels()
    dist.add_bar(x=labels, y=a.ack_histogram, name=_("Acknowledged"))
    dist.add_bar(x=labels, y=a.resolve_histogram, name=_("Resolved"))
    figs["distribution"] = styled(dist, _("Distribution of handling times"))
    return figs
