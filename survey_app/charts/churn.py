"""Figures for the lost-customer analyses. Labels arrive translated from the view."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from . import cumulative_share_axis, styled

PALETTE = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037"]


def churn_rate_figure(monthly: pd.DataFrame, labels: dict) -> go.Figure:
    fig = go.Figure()
    for i, (group, part) in enumerate(monthly.groupby("group", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=[str(m) for m in part["month"]],
                y=part["churn_rate"] * 100,
                mode="lines+markers",
                name=labels.get("group_names", {}).get(group, str(group)),
                line={"color": PALETTE[i % len(PALETTE)]},
            )
        )
    fig.update_yaxes(title=labels["y"], ticksuffix="%", rangemode="tozero")
    return styled(fig, labels.get("title"))


def cohort_figure(matrix: pd.DataFrame, labels: dict) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=(matrix * 100).round(1).values.tolist(),
            x=[str(c) for c in matrix.columns],
            y=[c.strftime("%Y-%m") for c in matrix.index],
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar={"ticksuffix": "%"},
            hovertemplate="%{y} +%{x}: %{z}%<extra></extra>",
        )
    )
    fig.update_xaxes(title=labels["x"])
    fig.update_yaxes(title=labels["y"], autorange="reversed")
    return styled(fig, labels.get("title"))


def survival_figure(curves: pd.DataFrame, labels: dict) -> go.Figure:
    fig = go.Figure()
    for i, (group, part) in enumerate(curves.groupby("group", sort=True)):
        colour = PALETTE[i % len(PALETTE)]
        name = labels.get("group_names", {}).get(group, str(group))
        fig.add_trace(
            go.Scatter(
                x=part["days"],
                y=part["upper"],
                mode="lines",
                line={"width": 0, "shape": "hv"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["days"],
                y=part["lower"],
                mode="lines",
                line={"width": 0, "shape": "hv"},
                fill="tonexty",
                fillcolor=_rgba(colour, 0.15),
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["days"],
                y=part["survival"],
                mode="lines",
                name=name,
                line={"color": colour, "shape": "hv"},
            )
        )
    fig.update_xaxes(title=labels["x"])
    fig.update_yaxes(title=labels["y"], range=[0, 1.02])
    return styled(fig, labels.get("title"))


def reasons_figure(names: list[str], counts: list[int], labels: dict) -> go.Figure:
    total = sum(counts) or 1
    cumulative, running = [], 0
    for n in counts:
        running += n
        cumulative.append(running / total * 100)
    fig = go.Figure(go.Bar(x=names, y=counts, name=labels["count"], marker_color=PALETTE[0]))
    fig.add_trace(
        go.Scatter(
            x=names,
            y=cumulative,
            name=labels["cumulative"],
            yaxis="y2",
            mode="lines+markers",
            line={"color": PALETTE[1]},
        )
    )
    fig.update_layout(
        yaxis={"title": labels["count"]},
        yaxis2=cumulative_share_axis(),
    )
    return styled(fig, labels.get("title"))


def value_lost_figure(rows: list[dict], labels: dict) -> go.Figure:
    months = [r["month"] for r in rows]
    fig = go.Figure(
        [
            go.Bar(x=months, y=[r["revenue"] for r in rows], name=labels["revenue"]),
            go.Bar(x=months, y=[r["clv"] for r in rows], name=labels["clv"]),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickprefix="¥")
    return styled(fig, labels.get("title"))


def rate_by_label_figure(rows: list[dict], names: dict, labels: dict) -> go.Figure:
    """Churn rate per group of customers with its 95% interval as error bars."""
    rates = [r["rate"] * 100 for r in rows]
    fig = go.Figure(
        go.Bar(
            x=[names.get(r["label"], r["label"]) for r in rows],
            y=rates,
            name=labels["y"],
            marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r["high"] * 100 - y for r, y in zip(rows, rates, strict=True)],
                "arrayminus": [y - r["low"] * 100 for r, y in zip(rows, rates, strict=True)],
            },
            customdata=[[r["customers"], r["lost"]] for r in rows],
            hovertemplate="%{x}: %{y:.1f}% (%{customdata[1]}/%{customdata[0]})<extra></extra>",
        )
    )
    fig.update_yaxes(title=labels["y"], ticksuffix="%", rangemode="tozero")
    return styled(fig, labels.get("title"))


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
