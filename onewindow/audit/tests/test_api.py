"""``/api/v1/audit/``: auditors only, every read audited (MLPS 2.0 / GB/T 22239-2019).

§8.1.4.2 c, §8.1.5.2: separation of duties — the system administrator cannot read audit records;
§8.1.4.3 a: refusals and the auditor's own reads are audited; §8.1.4.3 c: verification reports tampering.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import ALL_ROLES
from onewindow.audit.actions import audit_append
from onewindow.audit.export import BOM, COLUMNS
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

BASE = "/api/v1/audit"
ENDPOINTS = [f"{BASE}/records", f"{BASE}/records/1", f"{BASE}/export.csv", f"{BASE}/verify"]
REFUSED_ROLES = [role for role in ALL_ROLES if role != "auditor"]
TokenFor = Callable[[object], str]


def _head() -> int:
    return AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _since(head: int) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(seq__gt=head).order_by("seq"))


def _bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def auditor_api(role_users: dict[str, Any], api_token_for: TokenFor) -> Client:
    return _bearer(api_token_for(role_users["auditor"]))


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_every_other_role_is_refused_and_the_refusal_audited(
    role: str, path: str, role_users: dict[str, Any], api_token_for: TokenFor
) -> None:
    # given a record and a caller holding a valid token but not the auditor's permission
    audit_append(action="test.secret", acting_user=None)
    user = role_users[role]
    client = _bearer(api_token_for(user))
    head = _head()
    records_before = list(AuditRecord.objects.values_list("seq", "hash"))

    # when they call the endpoint
    response = client.get(path)

    # then 403 with the bilingual error body, and exactly the refusal was recorded
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["message_zh"] == "您无权执行此操作。"
    (denial,) = _since(head)
    assert (denial.action, denial.outcome, denial.actor_username, denial.channel) == (
        "permission.denied",
        "denied",
        user.username,
        "api",
    )
    assert list(AuditRecord.objects.filter(seq__lte=head).values_list("seq", "hash")) == records_before


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_callers_get_401_and_nothing_is_recorded(path: str) -> None:
    audit_append(action="test.secret", acting_user=None)
    head = _head()

    response = Client().get(path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert _since(head) == []


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_auditor_may_call_every_endpoint(path: str, auditor_api: Client) -> None:
    audit_append(action="test.visible", acting_user=None)

    response = auditor_api.get(path)

    assert response.status_code == 200


def test_records_returns_filtered_records_with_hashes_and_a_cursor(auditor_api: Client) -> None:
    # given five login failures and another record
    failures = [
        audit_append(action="auth.login_failed", acting_user=None, actor_username=f"u{n}", outcome="failure")
        for n in range(5)
    ]
    audit_append(action="case.accepted", acting_user=None)
    head = _head()
    client = auditor_api

    # when the auditor pages through failures two at a time
    first = client.get(f"{BASE}/records", {"action": "auth.", "outcome": "failure", "limit": "2"})
    cursor = first.json()["next_before_seq"]
    second = client.get(
        f"{BASE}/records",
        {"action": "auth.", "outcome": "failure", "limit": "2", "before_seq": str(cursor)},
    )

    # then the newest come first, with hashes, and the cursor leads on
    items = first.json()["items"]
    assert [item["actor_username"] for item in items] == ["u4", "u3"]
    assert items[0]["hash"] == failures[4].hash
    assert items[0]["prev_hash"] == failures[4].prev_hash
    assert cursor == failures[3].seq
    assert [item["actor_username"] for item in second.json()["items"]] == ["u2", "u1"]
    # and each search was recorded with its filters
    searches = _since(head)
    assert [record.action for record in searches] == ["audit.searched", "audit.searched"]
    assert searches[1].details == {
        "filters": {"action": "auth.", "outcome": "failure"},
        "before_seq": failures[3].seq,
    }


def test_records_query_count_does_not_grow_with_the_page(auditor_api: Client) -> None:
    for n in range(60):
        audit_append(action=f"bulk.{n}", acting_user=None)
    client = auditor_api
    client.get(f"{BASE}/records", {"limit": 1})  # the token's first use records it (once a minute)

    with CaptureQueriesContext(connection) as small:
        client.get(f"{BASE}/records", {"limit": 5})
    with CaptureQueriesContext(connection) as large:
        client.get(f"{BASE}/records", {"limit": 50})

    assert len(large.captured_queries) == len(small.captured_queries)


def test_an_inverted_date_range_is_refused(auditor_api: Client) -> None:
    head = _head()

    response = auditor_api.get(
        f"{BASE}/records",
        {"date_from": "2026-03-02", "date_to": "2026-03-01"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_date_range"
    assert _since(head) == []


def test_one_record_and_a_missing_one(auditor_api: Client) -> None:
    record = audit_append(action="test.one", acting_user=None, details={"k": "值"})

    found = auditor_api.get(f"{BASE}/records/{record.seq}")
    missing = auditor_api.get(f"{BASE}/records/99999")

    assert found.status_code == 200
    assert found.json()["details"] == {"k": "值"}
    assert found.json()["hash"] == record.hash
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_export_streams_csv_and_is_audited(auditor_api: Client) -> None:
    audit_append(action="case.accepted", acting_user=None, details={"name": "李四"})
    head = _head()

    response = auditor_api.get(f"{BASE}/export.csv", {"action": "case."})

    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(cast(Iterator[bytes], response.streaming_content)).decode("utf-8")
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert rows[0] == list(COLUMNS)
    assert [row[6] for row in rows[1:]] == ["case.accepted"]
    (exported,) = _since(head)
    assert (exported.action, exported.details["filters"]) == ("audit.exported", {"action": "case."})


def test_verify_reports_an_intact_chain_and_is_audited(auditor_api: Client) -> None:
    audit_append(action="test.one", acting_user=None)
    head = _head()

    response = auditor_api.get(f"{BASE}/verify")

    body = response.json()
    assert (body["intact"], body["checked"], body["problem"], body["problem_seq"]) == (True, head, "", None)
    (verified,) = _since(head)
    assert (verified.action, verified.outcome) == ("audit.verified", "success")
    assert verified.details == {"intact": True, "checked": head, "problem": ""}


def test_verify_names_an_altered_record(auditor_api: Client, tamper: Any) -> None:
    record = audit_append(action="test.one", acting_user=None)
    tamper("UPDATE audit_auditrecord SET object_id = 'x' WHERE seq = %s", [record.seq])

    response = auditor_api.get(f"{BASE}/verify", headers={"Accept-Language": "en"})

    body = response.json()
    assert (body["intact"], body["problem_kind"], body["problem_seq"]) == (False, "altered", record.seq)
    assert body["problem_zh"] == f"记录 #{record.seq} 已被篡改：哈希与内容不符"
    assert body["problem_en"] == f"record #{record.seq} altered: its hash does not match its contents"
    assert AuditRecord.objects.order_by("-seq").first().outcome == "failure"  # type: ignore[union-attr]
