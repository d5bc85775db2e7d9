"""CSV downloads from the admin: streamed, spreadsheet-friendly, and safe to open.

One place for every export (people, accounts, sync errors): rows are written as they come from
a server-side cursor, so a million rows never sit in memory; a UTF-8 byte-order mark makes
spreadsheets read accents right; text that a spreadsheet would run as a formula is neutralised.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def spreadsheet_safe(value: Any) -> Any:
    """Text from Salesforce exported to CSV: a leading quote keeps `=HYPERLINK(...)` inert."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Line:
    """csv.writer's file: hands back each written line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The BOM and header, then one neutralised line per row, as they are read."""
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(value) for value in row])


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
