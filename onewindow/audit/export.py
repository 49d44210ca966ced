"""CSV export of audit records, streamed row by row (shared by the auditor page and the API)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from onewindow.audit.chain import HASHED_FIELDS
from onewindow.audit.models import AuditRecord

# Excel needs the byte-order mark to read UTF-8 (and so Chinese) correctly.
BOM = "\ufeff"
# Every hashed field plus the hash itself, so an exported row can be re-verified on its own.
COLUMNS = (*HASHED_FIELDS, "hash")
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection); such
# cells get a leading apostrophe. The API returns the raw values.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _row(record: AuditRecord) -> list[str]:
    return [
        str(record.seq),
        timezone.localtime(record.recorded_at).isoformat(),
        "" if record.actor_id is None else str(record.actor_id),
        _cell(record.actor_username),
        _cell(record.actor_role),
        _cell(record.department_code),
        _cell(record.action),
        _cell(record.object_type),
        _cell(record.object_id),
        _cell(record.outcome),
        _cell(record.client_address),
        _cell(record.request_id),
        _cell(record.channel),
        _cell(json.dumps(record.details, ensure_ascii=False, sort_keys=True)),
        record.prev_hash,
        record.hash,
    ]


def csv_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(COLUMNS)
    for record in records:
        yield writer.writerow(_row(record))


def csv_response(
    records: Iterable[AuditRecord], *, filename: str = "audit-records.csv"
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(records), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
