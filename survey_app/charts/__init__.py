"""Pure functions from data to Plotly figures, and the one way a page embeds a figure.

A view passes ``figure_json(fig)`` to the template; ``{{ chart(fig_json, title) }}`` from
``macros/charts.html`` places it in a ``<script type="application/json">`` block, and
``static/js/charts.js`` draws it with our own copy of Plotly (no inline script: the CSP forbids it).
Every chart sits next to a table of its numbers, so the page also reads without JavaScript.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

#: shared look: our fonts, margins, the legend under the plot, titles at the left
LAYOUT = {
    "margin": {"l": 48, "r": 16, "t": 40, "b": 48},
    "font": {"family": "system-ui, -apple-system, 'Noto Sans CJK SC', sans-serif", "size": 13},
    "legend": {"orientation": "h", "y": -0.2},
    "title": {"x": 0},
}

#: the site's template: the layout half of Plotly's "plotly_white" (colours, white background,
#: light grid) and our ``LAYOUT``. plotly_white's other half, default styles for every trace
#: type, is left out: copying it into each figure was most of the time a page of charts took to
#: build, and most of each chart's JSON
TEMPLATE = go.layout.Template(layout=pio.templates["plotly_white"].layout)
TEMPLATE.layout.update(LAYOUT)

# Every new figure starts from it: Plotly gives a new figure the default template as it is made,
# without validating it again. Setting the template, or the layout above, on each figure instead
# (``update_layout``) copied and validated them every time: 3-10 ms a figure, a quarter of a page
# of charts.
pio.templates["survey_app"] = TEMPLATE
pio.templates.default = "survey_app"


def styled(fig: go.Figure, title: str | None = None) -> go.Figure:
    """``fig`` with its title; the rest of the site's look comes with the default template."""
    if title:
        fig.layout.title.text = title
    return fig


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON for ``macros/charts.html`` (validated by Plotly, numpy-safe).

    ``<``, ``>`` and ``&`` are written as JSON escapes, so text typed by users (a category name,
    say) can never close the ``<script>`` block it travels in: that is what makes ``|safe`` in the
    macro sound."""
    text = pio.to_json(fig, validate=True, pretty=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def cumulative_share_axis() -> dict:
    """The right-hand axis of a Pareto chart's cumulative share (0-100): ticks at the quarters
    and no grid of its own. Plotly's own ticks for an overlaid axis followed the counts'
    gridlines (0%, 35.8%, 71.6%), and a second grid would cross the first."""
    return {
        "overlaying": "y",
        "side": "right",
        "range": [0, 101],
        "tickvals": [0, 25, 50, 75, 100],
        "ticktext": ["0%", "25%", "50%", "75%", "100%"],
        "showgrid": False,
    }
