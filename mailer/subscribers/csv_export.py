"""Every subscriber as CSV text for spreadsheets: UTF-8 with BOM and ';', as Danish spreadsheets expect."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from mailer.subscribers.admin import EXPORT_COLUMNS, export_rows

# Spreadsheets run cells starting with these as formulas; the export defuses them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 1000


def defuse_formula(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_csv() -> Iterator[str]:
    """Yield the CSV file in pieces of CHUNK_ROWS rows, so a large list streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    for count, row in enumerate(export_rows(), 1):
        writer.writerow([defuse_formula(value) for value in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
