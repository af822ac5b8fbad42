"""File exports shared by every domain: CSV and XLSX that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response
from openpyxl import Workbook

#: a cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Make a user-supplied cell inert: text that a spreadsheet would run as a formula gets a
    leading apostrophe (OWASP's advice for CSV injection). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _safe_rows(rows: Iterable[Sequence]):
    for row in rows:
        yield ["" if cell is None else neutralise(cell) for cell in row]


def csv_response(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    """A UTF-8 CSV download (with a BOM, so Excel reads Chinese text right)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(list(_safe_rows([header]))[0])
    writer.writerows(_safe_rows(rows))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_response(
    header: Sequence[str], rows: Iterable[Sequence], filename: str, title: str = "data"
) -> Response:
    """An XLSX download with the same neutralised cells as the CSV."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(list(_safe_rows([header]))[0])
    for row in _safe_rows(rows):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
