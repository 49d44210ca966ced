"""The applications API: shapes of issue #3, idempotency, states, documents, and every role's access."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from conftest import ALL_ROLES
from onewindow.applications.actions import application_decide
from onewindow.applications.models import Application, Document, Review
from onewindow.applications.tests.factories import VALID_FORM, uploaded_material
from onewindow.audit.models import AuditRecord
from onewindow.services.models import Service

pytestmark = pytest.mark.django_db

WALK_IN_ID = "440524188001010014"


@pytest.fixture
def bearer(api_token_for: Callable[[object], str]) -> Callable[[object], Client]:
    def make(user: object) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")

    return make


def _post(client: Client, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return client.post(path, body or {}, content_type="application/json", headers=headers)


def test_submit_returns_201_with_receipt_and_replays(
    role_users: dict[str, Any], service: Service, bearer: Callable[[object], Client]
) -> None:
    client = bearer(role_users["resident"])
    body = {"service_code": "TSVC", "form": VALID_FORM}
    first = _post(client, "/api/v1/applications", body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert set(data) == {"tracking_no", "status", "due_date", "receipt_url"}
    assert data["status"] == "submitted"
    assert data["receipt_url"].startswith(f"/api/v1/applications/{data['tracking_no']}/documents/")
    again = _post(client, "/api/v1/applications", body, **{"Idempotency-Key": "abc-1"})
    assert (again.status_code, again.json()) == (201, data)
    assert Application.objects.get().channel == "api"
    other = _post(
        client,
        "/api/v1/applications",
        {**body, "form": {**VALID_FORM, "employees": 7}},
        **{"Idempotency-Key": "abc-1"},
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Application.objects.count() == 1


def test_invalid_form_is_422_with_field_errors(
    role_users: dict[str, Any], service: Service, client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["resident"])
    audit_before = AuditRecord.objects.count()
    response = _post(client, "/api/v1/applications", {"service_code": "TSVC", "form": {"employees": "x"}})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "form_invalid"
    assert {error["field"] for error in body["errors"]} == {"company_name", "employees"}
    assert all(set(error) == {"field", "code", "message_zh", "message_en"} for error in body["errors"])
    assert Application.objects.count() == 0
    assert AuditRecord.objects.count() == audit_before


def test_window_clerk_submits_for_walk_in(
    role_users: dict[str, Any], service: Service, client_for: Callable[[object], Client]
) -> None:
    response = _post(
        client_for(role_users["window_clerk"]),
        "/api/v1/applications",
        {
            "service_code": "TSVC",
            "form": VALID_FORM,
            "on_behalf_of": {"name": "王五", "identifier": WALK_IN_ID, "id_checked": True},
        },
    )
    assert response.status_code == 201, response.content
    assert Application.objects.get().channel == "window"


def test_detail_timeline_documents_and_pdf(
    role_users: dict[str, Any], submit: Callable[..., Application], client_for: Callable[[object], Client]
) -> None:
    resident = role_users["resident"]
    application = submit(codes=("LEASE",))
    client = client_for(resident)
    response = client.get(f"/api/v1/applications/{application.tracking_no}")
    assert response.status_code == 200
    data = response.json()
    assert data["tracking_no"] == application.tracking_no
    assert data["service_code"] == "TSVC"
    assert [entry["status"] for entry in data["timeline"]] == ["submitted"]
    assert data["pending_departments"] == []
    assert data["decision"] is None
    [receipt] = data["documents"]
    assert receipt["kind"] == "receipt"
    assert receipt["content_type"] == "application/pdf"
    pdf = client.get(receipt["url"])
    assert pdf.status_code == 200
    content = b"".join(pdf.streaming_content)  # type: ignore[attr-defined]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert application.tracking_no in text
    assert "110105********002X" in text  # ID number masked (PIPL)
    document = Document.objects.get(pk=receipt["id"])
    assert document.file.name
    assert len(document.sha256) == 64
    # Served from storage afterwards: the same bytes.
    again = b"".join(client.get(receipt["url"]).streaming_content)  # type: ignore[attr-defined]
    assert again == content


def test_list_endpoints_have_bounded_queries(
    role_users: dict[str, Any], submit: Callable[..., Application], client_for: Callable[[object], Client]
) -> None:
    for _ in range(3):
        submit()
    resident_client = client_for(role_users["resident"])
    clerk_client = client_for(role_users["window_clerk"])
    resident_client.get("/api/v1/applications")
    with CaptureQueriesContext(connection) as few:
        assert len(resident_client.get("/api/v1/applications").json()) == 3
    submit()
    submit()
    with CaptureQueriesContext(connection) as more:
        assert len(resident_client.get("/api/v1/applications").json()) == 5
    assert len(more) == len(few) <= 8
    clerk_client.get("/api/v1/applications/queue")
    with CaptureQueriesContext(connection) as queue:
        assert len(clerk_client.get("/api/v1/applications/queue").json()) == 5
    assert len(queue) <= 8


def test_wrong_state_is_409(
    role_users: dict[str, Any], submit: Callable[..., Application], client_for: Callable[[object], Client]
) -> None:
    application = submit()
    clerk = client_for(role_users["window_clerk"])
    assert _post(clerk, f"/api/v1/applications/{application.tracking_no}/accept").status_code == 200
    response = _post(clerk, f"/api/v1/applications/{application.tracking_no}/accept")
    # The clerk acted on it, so they still read it; accepting twice is a conflict.
    assert (response.status_code, response.json()["code"]) == (409, "application_wrong_status")


def test_supplement_round_trip_and_missing_items(
    role_users: dict[str, Any], submit: Callable[..., Application], client_for: Callable[[object], Client]
) -> None:
    application = submit(codes=("LEASE",))
    clerk = client_for(role_users["window_clerk"])
    missing = clerk.get(f"/api/v1/applications/{application.tracking_no}/missing")
    assert [item["material_code"] for item in missing.json()] == ["CHARTER"]
    notice = _post(
        clerk,
        f"/api/v1/applications/{application.tracking_no}/request-supplement",
        {"items": [{"field": "company_name", "reason": "名称与核名不一致", "reason_en": "Name differs"}]},
    )
    assert notice.status_code == 201, notice.content
    assert [item["field"] or item["material_code"] for item in notice.json()["items"]] == [
        "company_name",
        "CHARTER",
    ]
    resident = role_users["resident"]
    charter = uploaded_material(resident, "CHARTER")
    answer = _post(
        client_for(resident),
        f"/api/v1/applications/{application.tracking_no}/supplement",
        {"form": {**VALID_FORM, "company_name": "福州新名称有限公司"}, "materials": [str(charter.pk)]},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "submitted"


def test_withdraw_and_review_flow(
    role_users: dict[str, Any], submit: Callable[..., Application], client_for: Callable[[object], Client]
) -> None:
    resident = client_for(role_users["resident"])
    withdrawn = submit()
    response = _post(resident, f"/api/v1/applications/{withdrawn.tracking_no}/withdraw", {"reason": "不办了"})
    assert response.json()["status"] == "withdrawn"
    decided = submit()
    _post(client_for(role_users["window_clerk"]), f"/api/v1/applications/{decided.tracking_no}/accept")
    decided.refresh_from_db()
    application_decide(acting_user=None, application=decided, outcome="approved")
    rated = _post(
        resident, f"/api/v1/applications/{decided.tracking_no}/review", {"score": 1, "comment": "太慢"}
    )
    assert rated.status_code == 201, rated.content
    assert rated.json()["level"] == "very_dissatisfied"
    assert rated.json()["follow_up_due_date"]
    twice = _post(resident, f"/api/v1/applications/{decided.tracking_no}/review", {"score": 5})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_reviewed")
    handler = client_for(role_users["department_handler"])
    [follow_up] = handler.get("/api/v1/reviews/follow-ups").json()
    answered = _post(handler, f"/api/v1/reviews/follow-ups/{follow_up['id']}/answer", {"response": "已整改"})
    assert answered.json()["status"] == "answered"
    stats = client_for(role_users["leader"]).get("/api/v1/reviews/stats?by=department").json()
    assert stats == [
        {
            "code": "TDEPT",
            "name": "测试部门",
            "name_en": "Test department",
            "count": 1,
            "average_score": 1.0,
            "bad_count": 1,
            "bad_rate": 1.0,
        }
    ]


# --- Every endpoint for every role (and anonymous): refused calls change nothing --------------------------

READERS = {"resident", "window_clerk", "department_handler", "department_admin"}  # applicant, clerk, TDEPT


def _state() -> tuple[Any, ...]:
    return (
        list(Application.objects.values_list("tracking_no", "status", "row_version")),
        Review.objects.count(),
        Document.objects.exclude(file="").count(),
    )


ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    # (method, path suffix, body, roles allowed)
    ("get", "", None, READERS),
    ("get", "/missing", None, {"window_clerk", "department_handler", "department_admin"}),
    ("post", "/accept", {}, {"window_clerk", "department_handler", "department_admin"}),
    (
        "post",
        "/refuse",
        {"reason": "不符合受理条件"},
        {"window_clerk", "department_handler", "department_admin"},
    ),
    (
        "post",
        "/request-supplement",
        {"items": []},
        {"window_clerk", "department_handler", "department_admin"},
    ),
    ("post", "/withdraw", {}, {"resident"}),
    ("post", "/supplement", {}, set()),  # nobody: not in supplement_requested (409 for the applicant)
    ("post", "/review", {"score": 5}, set()),  # nobody: not decided (409 for the applicant)
]


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
@pytest.mark.parametrize(("method", "suffix", "body", "allowed"), ENDPOINTS)
def test_application_endpoint_access(
    role_users: dict[str, Any],
    submit: Callable[..., Application],
    client_for: Callable[[object], Client],
    role: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    allowed: set[str],
) -> None:
    application = submit(codes=("LEASE",))
    client = Client() if role == "anonymous" else client_for(role_users[role])
    before = _state()
    path = f"/api/v1/applications/{application.tracking_no}{suffix}"
    response = client.get(path) if method == "get" else _post(client, path, body)
    if role == "anonymous":
        assert response.status_code == 401
    elif role in allowed:
        assert response.status_code in {200, 201}, response.content
        return
    elif role in READERS:
        assert response.status_code in {403, 409}, response.content  # reads it, may not do this
    else:
        assert response.status_code == 404, response.content  # not even its existence is revealed
    assert _state() == before


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_collection_endpoint_access(
    role_users: dict[str, Any],
    submit: Callable[..., Application],
    client_for: Callable[[object], Client],
    role: str,
) -> None:
    submit()
    client = Client() if role == "anonymous" else client_for(role_users[role])
    before = _state()
    mine = client.get("/api/v1/applications")
    queue = client.get("/api/v1/applications/queue")
    stats = client.get("/api/v1/reviews/stats?by=service")
    follow_ups = client.get("/api/v1/reviews/follow-ups")
    submitted = _post(client, "/api/v1/applications", {"service_code": "TSVC", "form": VALID_FORM})
    codes = (mine.status_code, queue.status_code, stats.status_code, follow_ups.status_code)
    if role == "anonymous":
        assert codes == (401, 401, 401, 401)
        assert submitted.status_code == 401
        assert _state() == before
        return
    assert len(mine.json()) == (1 if role == "resident" else 0)
    assert queue.status_code == (
        200 if role in {"window_clerk", "department_handler", "department_admin"} else 403
    )
    assert stats.status_code == (200 if role in {"leader", "supervisor"} else 403)
    assert follow_ups.status_code == (200 if role in {"department_handler", "department_admin"} else 403)
    if role in {"resident", "enterprise_representative"}:
        assert submitted.status_code == 201
    else:
        assert submitted.status_code == 403, submitted.content
        assert _state() == before


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_document_download_access(
    role_users: dict[str, Any],
    submit: Callable[..., Application],
    client_for: Callable[[object], Client],
    role: str,
) -> None:
    application = submit()
    document = application.documents.get()
    client = Client() if role == "anonymous" else client_for(role_users[role])
    response = client.get(f"/api/v1/applications/{application.tracking_no}/documents/{document.pk}")
    expected = 401 if role == "anonymous" else 200 if role in READERS else 404
    assert response.status_code == expected
    downloads = AuditRecord.objects.filter(action="document.downloaded", object_id=application.tracking_no)
    if expected != 200:
        document.refresh_from_db()
        assert document.file.name == ""
        assert not downloads.exists()
    else:
        # Every download of a document with personal data is on the audit trail.
        assert list(downloads.values_list("actor_username", flat=True)) == [role_users[role].username]
