"""Figures for customer value."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from . import styled


def pareto_figure(curve: pd.DataFrame, key_share: float, general_share: float, labels: dict):
    """Cumulative share of value against cumulative share of customers, with the tier cut-offs."""
    fig = go.Figure(
        go.Scatter(
            x=curve["customer_share"] * 100,
            y=curve["value_share"] * 100,
            mode="lines",
            name=labels["curve"],
            hovertemplate="%{x:.1f}% → %{y:.1f}%<extra></extra>",
        )
    )
    for share, name in ((key_share, labels["key"]), (general_share, labels["general"])):
        fig.add_hline(y=share * 100, line_dash="dot", annotation_text=name)
    fig.update_xaxes(title=labels["x"], ticksuffix="%", range=[0, 100])
    fig.update_yaxes(title=labels["y"], ticksuffix="%", range=[0, 101])
    return styled(fig, labels.get("title"))
