"""Auditor pages: search, detail and CSV export (MLPS 2.0 / GB/T 22239-2019).

§8.1.4.2 c and §8.1.5.2 (separation of duties, 三员分立): only the auditor reads audit records; the system
administrator and every other role are refused. §8.1.4.3 a and §8.1.5.2: the refusals and the auditor's
own reads are audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.audit.export import BOM, COLUMNS
from onewindow.audit.models import AuditRecord, Outcome
from onewindow.core.context import RequestContext, reset_request_context, set_request_context

pytestmark = pytest.mark.django_db

SEARCH = "/audit/"
EXPORT = "/audit/export.csv"
PAGES = [SEARCH, "/audit/1/", EXPORT]
REFUSED_ROLES = [role for role in ALL_ROLES if role != "auditor"]
ClientFor = Callable[[object], Client]
ROW_ACTION = re.compile(r">bulk\.\d{3}<")


def _head() -> int:
    return AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _since(head: int) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(seq__gt=head).order_by("seq"))


def _body(response: Any) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode("utf-8")  # type: ignore[arg-type]
    return str(response.content.decode("utf-8"))


@pytest.fixture
def auditor(role_users: dict[str, Any], client_for: ClientFor) -> Client:
    return client_for(role_users["auditor"])


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_every_other_role_is_refused_and_the_refusal_audited(
    role: str, path: str, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    # given a record to ask for and a signed-in user without the auditor's permission
    audit_append(action="test.secret", acting_user=None, details={"n": 1})
    user = role_users[role]
    client = client_for(user)
    head = _head()
    records_before = list(AuditRecord.objects.values_list("seq", "hash"))

    # when they open an audit page
    response = client.get(path)

    # then they are refused, nothing of the trail is shown, and exactly the refusal was recorded
    assert response.status_code == 403
    assert "test.secret" not in _body(response)
    (denial,) = _since(head)
    assert (denial.action, denial.outcome, denial.actor_username) == (
        "permission.denied",
        "denied",
        user.username,
    )
    assert denial.details == {"permission": "view_audit"}
    assert denial.client_address == "127.0.0.1"
    assert list(AuditRecord.objects.filter(seq__lte=head).values_list("seq", "hash")) == records_before


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_is_recorded(path: str) -> None:
    audit_append(action="test.secret", acting_user=None)
    head = _head()

    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert _since(head) == []


@pytest.mark.parametrize("path", PAGES)
def test_the_auditor_may_open_every_page(path: str, auditor: Client) -> None:
    audit_append(action="test.visible", acting_user=None)

    response = auditor.get(path)

    assert response.status_code == 200


def test_search_shows_matching_records_and_audits_the_search(
    auditor: Client, role_users: dict[str, Any]
) -> None:
    # given records by two actors
    clerk: User = role_users["window_clerk"]
    audit_append(action="case.accepted", acting_user=clerk, object_type="case", object_id=7)
    audit_append(action="case.rejected", acting_user=None, actor_username="someone", outcome=Outcome.FAILURE)
    head = _head()

    # when the auditor filters by actor and action prefix
    response = auditor.get(SEARCH, {"actor": "t_window_clerk", "action": "case."})

    # then only the clerk's record is listed, in an accessible table
    body = _body(response)
    assert response.status_code == 200
    assert "<caption" in body
    assert "case.accepted" in body
    assert "case.rejected" not in body
    # and the search itself was recorded with its filters (auditors are audited)
    (searched,) = _since(head)
    assert (searched.action, searched.actor_username, searched.actor_role) == (
        "audit.searched",
        "t_auditor",
        "auditor",
    )
    assert searched.details == {"filters": {"actor": "t_window_clerk", "action": "case."}}


def test_search_filters_by_outcome_object_request_and_dates(auditor: Client) -> None:
    token = set_request_context(RequestContext(request_id="req-aaaaaaaa"))
    try:
        audit_append(
            action="a.one", acting_user=None, object_type="case", object_id="1", outcome=Outcome.DENIED
        )
    finally:
        reset_request_context(token)
    with mock.patch.object(timezone, "now", return_value=timezone.now() - dt.timedelta(days=10)):
        audit_append(action="a.old", acting_user=None, object_type="case", object_id="2")

    def listed(**filters: str) -> set[str]:
        body = _body(auditor.get(SEARCH, filters))
        return {action for action in ("a.one", "a.old") if action in body}

    today = timezone.localdate()
    assert listed(outcome="denied") == {"a.one"}
    assert listed(object_type="case", object_id="2") == {"a.old"}
    assert listed(request_id="req-aaaaaaaa") == {"a.one"}
    assert listed(date_from=today.isoformat()) == {"a.one"}
    assert listed(date_to=(today - dt.timedelta(days=5)).isoformat()) == {"a.old"}
    assert listed() == {"a.one", "a.old"}


def test_search_pages_fifty_records_newest_first(auditor: Client) -> None:
    # given 120 records
    seqs = [audit_append(action=f"bulk.{n:03d}", acting_user=None).seq for n in range(120)]

    # when the auditor pages through those records
    first = _body(auditor.get(SEARCH, {"action": "bulk."}))
    second = _body(auditor.get(SEARCH, {"action": "bulk.", "before": str(seqs[70])}))
    third = _body(auditor.get(SEARCH, {"action": "bulk.", "before": str(seqs[20])}))

    # then each page holds 50 (the last 20), newest first, linked by "older" cursors
    assert len(ROW_ACTION.findall(first)) == 50
    assert first.index("bulk.119") < first.index("bulk.070")
    assert "bulk.069" not in first
    assert f'before={seqs[70]}" rel="next"' in first
    assert len(ROW_ACTION.findall(second)) == 50
    assert "bulk.069" in second
    assert "bulk.020" in second
    assert f'before={seqs[20]}" rel="next"' in second
    assert len(ROW_ACTION.findall(third)) == 20
    assert 'rel="next"' not in third


def test_an_invalid_filter_shows_an_error_and_searches_nothing(auditor: Client) -> None:
    head = _head()

    response = auditor.get(SEARCH, {"date_from": "2026-02-10", "date_to": "2026-02-01"})

    assert response.status_code == 400
    assert "govuk-error-summary" in _body(response)
    assert _since(head) == []


def test_detail_shows_hashes_and_audits_the_view(auditor: Client) -> None:
    record = audit_append(action="test.detail", acting_user=None, details={"note": "中文"})
    head = _head()

    response = auditor.get(f"/audit/{record.seq}/")

    body = _body(response)
    assert response.status_code == 200
    assert record.hash in body
    assert record.prev_hash in body
    assert "中文" in body
    assert "govuk-tag--green" in body
    (viewed,) = _since(head)
    assert (viewed.action, viewed.object_type, viewed.object_id) == (
        "audit.viewed",
        "audit_record",
        str(record.seq),
    )


def test_detail_warns_of_an_altered_record(auditor: Client, tamper: Any) -> None:
    record = audit_append(action="test.detail", acting_user=None)
    tamper("UPDATE audit_auditrecord SET action = 'test.changed' WHERE seq = %s", [record.seq])

    body = _body(auditor.get(f"/audit/{record.seq}/"))

    assert "govuk-warning-text" in body
    assert "govuk-tag--green" not in body


def test_detail_of_a_missing_record_is_404_and_audited(auditor: Client) -> None:
    head = _head()

    response = auditor.get("/audit/999/")

    assert response.status_code == 404
    (viewed,) = _since(head)
    assert (viewed.action, viewed.outcome, viewed.object_id) == ("audit.viewed", "failure", "999")


def test_export_is_utf8_csv_with_bom_and_audited(auditor: Client, role_users: dict[str, Any]) -> None:
    # given records with Chinese details and a cell a spreadsheet would run as a formula
    stored = audit_append(
        action="case.accepted", acting_user=role_users["window_clerk"], details={"name": "张三"}
    )
    audit_append(action="login.failed", acting_user=None, actor_username="=HYPERLINK(1)")
    head = _head()

    # when the auditor exports login and case events
    response = auditor.get(EXPORT, {"action": "case."})

    # then the response streams a CSV that Excel opens as UTF-8
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-records.csv"'
    text = _body(response)
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert (row["seq"], row["actor_username"], row["action"], row["hash"], row["prev_hash"]) == (
        str(stored.seq),
        "t_window_clerk",
        "case.accepted",
        stored.hash,
        stored.prev_hash,
    )
    assert row["details"] == '{"name": "张三"}'
    # and the export was recorded before a byte was sent
    (exported,) = _since(head)
    assert exported.action == "audit.exported"
    assert exported.details == {"filters": {"action": "case."}, "max_rows": 100_000, "format": "csv"}


def test_export_defuses_formula_cells_and_respects_the_cap(auditor: Client, settings: Any) -> None:
    settings.AUDIT_EXPORT_MAX_ROWS = 2
    audit_append(action="login.failed", acting_user=None, actor_username="=HYPERLINK(1)")
    audit_append(action="login.failed", acting_user=None, actor_username="+1")
    audit_append(action="login.failed", acting_user=None, actor_username="third")

    text = _body(auditor.get(EXPORT, {"action": "login."}))

    rows = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert [row[3] for row in rows[1:]] == ["'=HYPERLINK(1)", "'+1"]
