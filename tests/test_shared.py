"""Shared building blocks: the pure analytics core, charts, exports."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

import survey_app.analytics
from survey_app.charts import figure_json, styled
from survey_app.exports import csv_response, neutralise, xlsx_response

FORBIDDEN_IN_ANALYTICS = {"flask", "flask_sqlalchemy", "sqlalchemy", "plotly", "survey_app"}


def test_analytics_imports_neither_flask_nor_sqlalchemy():
    """Every module of the pure core imports only numerics (and its own package)."""
    root = Path(survey_app.analytics.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                if name.startswith("survey_app.analytics"):
                    continue
                if name.split(".")[0] in FORBIDDEN_IN_ANALYTICS:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain 文本", "plain 文本"),
        (-5, -5),
        (3.5, 3.5),
    ],
)
def test_formula_prefixes_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_csv_and_xlsx_exports_neutralise_every_cell(app):
    rows = [["=1+1", 7, None], ["安全", "-cmd", 2.5]]
    with app.test_request_context():
        text = csv_response(["name", "=head", "x"], rows, "t.csv").get_data(as_text=True)
        data = xlsx_response(["name", "=head", "x"], rows, "t.xlsx").get_data()
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed == [["name", "'=head", "x"], ["'=1+1", "7", ""], ["安全", "'-cmd", "2.5"]]
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][0] == "'=1+1" and values[2][1] == "'-cmd" and values[1][1] == 7


def test_figure_json_round_trips_a_styled_figure():
    fig = styled(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), "title")
    text = figure_json(fig)
    assert '"type":"bar"' in text and '"title"' in text
    layout = json.loads(text)["layout"]
    # the site's look: plotly_white's layout (white plot area), without its per-trace defaults,
    # and our fonts and margins, all in the figure's template; the title in the figure itself
    template = layout["template"]["layout"]
    assert template["plot_bgcolor"] == "white"
    assert "data" not in layout["template"]
    assert template["font"]["size"] == 13 and template["margin"]["l"] == 48
    assert layout["title"]["text"] == "title" and template["title"]["x"] == 0


def test_figure_json_cannot_break_out_of_its_script_block():
    fig = go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[1]))
    text = figure_json(fig)
    assert "<" not in text and ">" not in text
    assert json.loads(text)["data"][0]["x"] == ["</script><script>alert(1)</script>"]


def test_utc_timestamps_are_stored_on_sqlite_as_sqlalchemy_stores_a_naive_utc_datetime():
    """``UTCDateTime`` writes SQLite's text in one step: the same text as SQLAlchemy's own
    DATETIME gives the value in UTC without its zone (the text the analyses slice by date)."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from survey_app.db_types import UTCDateTime

    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    reference = sqlite.DATETIME().bind_processor(dialect)
    shanghai = timezone(timedelta(hours=8))
    values = [
        datetime(2026, 12, 6, 14, 5, 9, 123456, tzinfo=UTC),
        datetime(2026, 12, 6, 14, 5, 9, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 1, 1, 3, 0, tzinfo=shanghai),  # the previous day in UTC
        datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC),  # a year of three digits
    ]
    for value in values:
        assert ours(value) == reference(value.astimezone(UTC).replace(tzinfo=None))
    assert ours(values[2]) == "2025-12-31 19:00:00.000000"
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 12, 6, 14, 5))
