"""The wallet's API (issue #6 item 5): ``GET /api/v1/licenses/mine``, ``GET .../{number}/pdf`` and
``.../signed-json``, ``POST``/``GET .../{number}/shares`` and ``DELETE .../shares/{id}``: for the holder only.
Every role on every endpoint; 401 without a caller; another holder gets 404 (existence not leaked); staff
403 (audited); a refused call changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.licences.actions import licence_revoke
from onewindow.licences.models import Licence, LicenceShare
from onewindow.licences.selectors import licence_pdf_bytes, licence_signed_json, today_in_china
from onewindow.licences.wallet import licence_share_create

pytestmark = pytest.mark.django_db

HOLDER = "enterprise_representative"
HOLDERS = {"resident", "enterprise_representative"}


def _auth(token_for: Callable[[object], str], user: object) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}


def _expected(role: str, allowed: int) -> int:
    return allowed if role == HOLDER else 404 if role in HOLDERS else 403


@pytest.mark.parametrize("role", ALL_ROLES)
def test_wallet_api_for_every_role(
    role: str,
    licence: Licence,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    client: Client,
) -> None:
    user = role_users[role]
    auth = _auth(api_token_for, user)
    base = f"/api/v1/licenses/{licence.number}"
    existing = licence_share_create(acting_user=role_users[HOLDER], licence=licence, hours=1)

    mine = client.get("/api/v1/licenses/mine", **auth)
    pdf = client.get(f"{base}/pdf", **auth)
    signed = client.get(f"{base}/signed-json", **auth)
    listed = client.get(f"{base}/shares", **auth)
    created = client.post(
        f"{base}/shares", {"hours": 24, "note": "银行"}, content_type="application/json", **auth
    )
    deleted = client.delete(f"/api/v1/licenses/shares/{existing.share.pk}", **auth)

    assert mine.status_code == (200 if role in HOLDERS else 403)
    assert (pdf.status_code, signed.status_code, listed.status_code, created.status_code) == (
        _expected(role, 200),
        _expected(role, 200),
        _expected(role, 200),
        _expected(role, 201),
    )
    assert deleted.status_code == _expected(role, 204)
    existing.share.refresh_from_db()
    if role == HOLDER:
        assert [row["number"] for row in mine.json()] == [licence.number]
        assert existing.share.revoked_at is not None
        assert LicenceShare.objects.filter(licence=licence).count() == 2
    else:
        if role in HOLDERS:
            assert mine.json() == []
            assert pdf.json()["code"] == "not_found"
        else:
            assert pdf.json()["code"] == "permission_denied"
            assert AuditRecord.objects.filter(action="permission.denied", actor_id=user.pk).exists()
        # nothing changed: the holder's one link still active, no other created, none revoked
        assert existing.share.revoked_at is None
        assert LicenceShare.objects.filter(licence=licence).count() == 1
        assert not AuditRecord.objects.filter(action="licence.share_revoked").exists()
        assert AuditRecord.objects.filter(action="licence.share_created").count() == 1


def test_the_wallet_api_needs_a_caller(licence: Licence, client: Client) -> None:
    base = f"/api/v1/licenses/{licence.number}"
    responses = [
        client.get("/api/v1/licenses/mine"),
        client.get(f"{base}/pdf"),
        client.get(f"{base}/signed-json"),
        client.get(f"{base}/shares"),
        client.post(f"{base}/shares", {"hours": 1}, content_type="application/json"),
        client.delete("/api/v1/licenses/shares/1"),
    ]

    assert [response.status_code for response in responses] == [401] * 6
    assert not LicenceShare.objects.exists()


def test_the_list_gives_status_links_and_particulars(
    licence: Licence,
    issue_valid_until: Callable[[dt.date], Licence],
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    client: Client,
) -> None:
    licence_revoke(
        acting_user=role_users["department_admin"], licence=licence, reason="吊销", reason_code="penalty"
    )
    expired = issue_valid_until(today_in_china() - dt.timedelta(days=1))

    enterprise = client.get("/api/v1/licenses/mine", **_auth(api_token_for, role_users[HOLDER])).json()
    resident = client.get("/api/v1/licenses/mine", **_auth(api_token_for, role_users["resident"])).json()

    assert len(enterprise) == 1
    row = enterprise[0]
    assert (row["number"], row["status"], row["revocation_reason_code"], row["licence_name"]) == (
        licence.number,
        "revoked",
        "penalty",
        "营业执照",
    )
    assert (row["issuer"], row["holder_code"], row["valid_until"], row["signed"]) == (
        "测试部门",
        licence.holder_code,
        None,
        True,
    )
    assert row["pdf_url"] == f"/api/v1/licenses/{licence.number}/pdf"
    assert row["signed_json_url"] == f"/api/v1/licenses/{licence.number}/signed-json"
    assert row["verification_url"].endswith(f"/licences/verify/{licence.number}/")
    assert [(item["number"], item["status"]) for item in resident] == [(expired.number, "expired")]


def test_the_list_costs_the_same_queries_for_one_licence_or_many(
    issue: Callable[..., Licence],
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    client: Client,
) -> None:
    auth = _auth(api_token_for, role_users[HOLDER])
    issue()
    client.get("/api/v1/licenses/mine", **auth)  # warm up per-process caches
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/licenses/mine", **auth).json()) == 1
    issue()
    issue()
    with CaptureQueriesContext(connection) as three:
        assert len(client.get("/api/v1/licenses/mine", **auth).json()) == 3

    assert len(three.captured_queries) == len(one.captured_queries)


def test_downloads_are_the_files_as_issued(
    licence: Licence, role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    auth = _auth(api_token_for, role_users[HOLDER])

    pdf = client.get(f"/api/v1/licenses/{licence.number}/pdf", **auth)
    signed = client.get(f"/api/v1/licenses/{licence.number}/signed-json", **auth)

    assert (pdf.status_code, pdf["Content-Type"], pdf.content) == (
        200,
        "application/pdf",
        licence_pdf_bytes(licence),
    )
    assert pdf["Content-Disposition"].startswith(f'attachment; filename="{licence.number}.pdf"')
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert (signed["Content-Type"], signed.content) == ("application/json", licence_signed_json(licence))
    assert signed["X-Content-Type-Options"] == "nosniff"


def test_an_unsigned_licence_answers_409(
    licence: Licence, role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    Licence.objects.filter(pk=licence.pk).update(signed_at=None, pdf="")
    auth = _auth(api_token_for, role_users[HOLDER])

    pdf = client.get(f"/api/v1/licenses/{licence.number}/pdf", **auth)
    share = client.post(
        f"/api/v1/licenses/{licence.number}/shares", {"hours": 1}, content_type="application/json", **auth
    )

    assert (pdf.status_code, pdf.json()["code"]) == (409, "licence_not_signed")
    assert (share.status_code, share.json()["code"]) == (409, "licence_not_signed")
    assert {"message_en", "message_zh"} <= set(pdf.json())


def test_creating_listing_and_revoking_share_links(
    licence: Licence, role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    auth = _auth(api_token_for, role_users[HOLDER])
    base = f"/api/v1/licenses/{licence.number}/shares"

    created = client.post(base, {"hours": 2, "note": "房东"}, content_type="application/json", **auth)

    assert created.status_code == 201
    body = created.json()
    assert body["url"].startswith("http://")
    assert "/licences/shared/" in body["url"]
    share = LicenceShare.objects.get(pk=body["id"])
    assert share.expires_at - share.created_at == dt.timedelta(hours=2)
    listed = client.get(base, **auth).json()
    assert [(row["id"], row["note"], row["open_count"]) for row in listed] == [(share.pk, "房东", 0)]
    assert "url" not in listed[0]

    first = client.delete(f"/api/v1/licenses/shares/{share.pk}", **auth)
    second = client.delete(f"/api/v1/licenses/shares/{share.pk}", **auth)

    assert (first.status_code, second.status_code) == (204, 409)
    assert second.json()["code"] == "share_already_revoked"
    assert client.get(base, **auth).json() == []
    assert client.get(urlsplit(body["url"]).path).status_code == 410


@pytest.mark.parametrize(
    "payload", [{"hours": 0}, {"hours": 721}, {"hours": "x"}, {"hours": 1, "note": "x" * 201}]
)
def test_bad_share_requests_are_422(
    payload: dict[str, Any],
    licence: Licence,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    client: Client,
) -> None:
    response = client.post(
        f"/api/v1/licenses/{licence.number}/shares",
        payload,
        content_type="application/json",
        **_auth(api_token_for, role_users[HOLDER]),
    )

    assert response.status_code == 422
    assert not LicenceShare.objects.exists()


def test_sharing_a_revoked_licence_is_409_with_the_reason(
    licence: Licence, role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    licence_revoke(
        acting_user=role_users["department_admin"], licence=licence, reason="吊销", reason_code="penalty"
    )

    response = client.post(
        f"/api/v1/licenses/{licence.number}/shares",
        {"hours": 24},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **_auth(api_token_for, role_users[HOLDER]),
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "licence_revoked",
        "message": "This licence has been revoked: it cannot be shared.",
        "message_zh": "该证照已注销，不能分享。",
        "message_en": "This licence has been revoked: it cannot be shared.",
    }
    assert not LicenceShare.objects.exists()


def test_the_openapi_schema_lists_the_wallet(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert {
        "/api/v1/licenses/mine",
        "/api/v1/licenses/{number}/pdf",
        "/api/v1/licenses/{number}/signed-json",
        "/api/v1/licenses/{number}/shares",
        "/api/v1/licenses/shares/{share_id}",
    } <= set(paths)
    assert set(paths["/api/v1/licenses/{number}/shares"]) == {"get", "post"}
