"""NUL characters are refused at the door with a bilingual 400 (PostgreSQL text cannot hold U+0000)."""

from __future__ import annotations

import pytest
from django.test import Client

from onewindow.audit.models import AuditRecord


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/organisations/divisions?parent=%00", "/api/v1/calendar/days?year=20%0026", "/?q=a%00b"],
)
def test_nul_in_query_is_refused(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"
    assert "U+0000" in response.json()["message_en"]


@pytest.mark.django_db
def test_nul_in_json_body_is_refused_and_changes_nothing() -> None:
    records = AuditRecord.objects.count()
    response = Client().post(
        "/api/v1/auth/token",
        data='{"username": "a\\u0000", "password": "x"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert AuditRecord.objects.count() == records


@pytest.mark.django_db
def test_ordinary_requests_pass() -> None:
    assert Client().get("/healthz").status_code == 200
