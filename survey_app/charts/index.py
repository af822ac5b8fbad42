"""Figures of the management report. Labels arrive translated from the presenter."""

from __future__ import annotations

import plotly.graph_objects as go

from . import styled

COLOURS = {"composite": "#1565c0", "s": "#ef6c00", "c": "#2e7d32", "r": "#6a1b9a"}


def trend_figure(periods, series: dict, band: tuple | None, labels: dict) -> go.Figure:
    """Lines per component over the periods; the composite's confidence band shaded."""
    fig = go.Figure()
    if band is not None:
        low, high = band
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=high,
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                connectgaps=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=low,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(21,101,192,0.18)",
                name=labels["band"],
                connectgaps=False,
            )
        )
    for key, (name, values) in series.items():
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=values,
                mode="lines+markers",
                name=name,
                line={"color": COLOURS[key], "width": 3 if key == "composite" else 1.5},
            )
        )
    fig.update_yaxes(title=labels["y"], range=[0, 100])
    return styled(fig, labels.get("title"))


def driver_figure(rows: list[dict], labels: dict) -> go.Figure:
    """Importance (total effect on satisfaction) against performance (0-100), split into four
    quadrants at the mean importance and mean performance."""
    fig = go.Figure(
        go.Scatter(
            x=[r["performance"] for r in rows],
            y=[r["importance"] for r in rows],
            mode="markers+text",
            text=[r["name"] for r in rows],
            textposition="top center",
            marker={"size": 14, "color": "#1565c0"},
        )
    )
    if rows:
        fig.add_vline(x=labels["mid_x"], line={"dash": "dot", "color": "#888"})
        fig.add_hline(y=labels["mid_y"], line={"dash": "dot", "color": "#888"})
        for text, xanchor, yanchor, x, y in labels["quadrants"]:
            fig.add_annotation(
                text=text,
                xref="paper",
                yref="paper",
                x=x,
                y=y,
                showarrow=False,
                xanchor=xanchor,
                yanchor=yanchor,
                font={"color": "#555"},
            )
    fig.update_xaxes(title=labels["x"])
    fig.update_yaxes(title=labels["y"])
    return styled(fig, labels.get("title"))


def bar_figure(names, values, labels: dict, colour: str = "#1565c0") -> go.Figure:
    fig = go.Figure(go.Bar(x=list(names), y=list(values), marker={"color": colour}))
    fig.update_yaxes(title=labels["y"], range=labels.get("range"))
    return styled(fig, labels.get("title"))


def grouped_bar_figure(names, series: dict, labels: dict) -> go.Figure:
    fig = go.Figure()
    for key, (name, values) in series.items():
        fig.add_trace(
            go.Bar(
                x=list(names),
                y=list(values),
                name=name,
                marker={"color": COLOURS.get(key, "#1565c0")},
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=labels["y"], range=labels.get("range"))
    return styled(fig, labels.get("title"))
