"""Figures of the survey results page: pure functions from aggregates to Plotly figures."""

from __future__ import annotations

import plotly.graph_objects as go

from . import styled


def distribution(
    values: list, counts: list[int], title: str, horizontal: bool = False
) -> go.Figure:
    """Bar chart of how many answers each point (or choice) received."""
    if horizontal:
        bar = go.Bar(x=counts, y=[str(v) for v in values], orientation="h")
    else:
        bar = go.Bar(x=[str(v) for v in values], y=counts)
    fig = go.Figure(bar)
    fig.update_layout(
        height=260,
        xaxis={"type": "category"} if not horizontal else {},
        yaxis={"type": "category"} if horizontal else {},
    )
    return styled(fig, title)


def dimension_trend(series: dict[str, tuple[list[str], list[float]]], title: str) -> go.Figure:
    """One line per dimension: monthly mean score on the 0-100 scale."""
    fig = go.Figure()
    for name, (months, scores) in series.items():
        fig.add_trace(go.Scatter(x=months, y=scores, mode="lines+markers", name=name))
    fig.update_layout(yaxis={"range": [0, 100], "title": "0-100"}, xaxis={"type": "category"})
    return styled(fig, title)


def item_scores(labels: list[str], scores: list[float], title: str) -> go.Figure:
    """Horizontal bars: each rated item's mean on the 0-100 scale, first item on top."""
    fig = go.Figure(
        go.Bar(
            x=scores,
            y=labels,
            orientation="h",
            text=[f"{s:.0f}" for s in scores],
            textposition="auto",
        )
    )
    fig.update_layout(
        height=max(220, 34 * len(labels) + 90),
        xaxis={"range": [0, 100], "title": "0-100"},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return styled(fig, title)
