"""Verification for anyone (issue #6 item 4): by number (``GET /api/v1/licenses/{number}/verify``, the
page the QR code opens) and by uploaded file (``POST /api/v1/licenses/verify``, the form), answering
``{valid, status, licence_name, issuer, holder_masked, issued_at, algorithm, digest}``. Revocation and
expiry show at once; personal data is masked (PIPL Art. 6, minimum necessary); no more than the answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import VALID_FORM
from onewindow.licences.actions import licence_revoke
from onewindow.licences.canonical import jcs_dumps
from onewindow.licences.models import Licence
from onewindow.licences.selectors import (
    holder_masked,
    licence_pdf_bytes,
    licence_signed_json,
    licence_verification_url,
    licence_verify_by_number,
    licence_verify_upload,
    name_masked,
    today_in_china,
)
from onewindow.seals.actions import seal_revoke, seal_rotate
from onewindow.seals.models import Seal

pytestmark = pytest.mark.django_db

ANSWER_FIELDS = {
    "valid",
    "status",
    "licence_name",
    "issuer",
    "holder_masked",
    "issued_at",
    "algorithm",
    "digest",
}


def _upload(client: Client, content: bytes, name: str = "licence.json", content_type: str = "") -> Any:
    upload = SimpleUploadedFile(name, content, content_type or "application/octet-stream")
    return client.post("/api/v1/licenses/verify", {"file": upload})


def _tampered_json(licence: Licence, change: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(licence_signed_json(licence))
    change(document)
    return jcs_dumps(document)


# --- By number ---------------------------------------------------------------------------------------------


def test_a_valid_licence_verifies_by_number(licence: Licence, client: Client) -> None:
    response = client.get(f"/api/v1/licenses/{licence.number}/verify")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= ANSWER_FIELDS
    assert body["valid"] is True
    assert body["status"] == "valid"
    assert body["licence_name"] == "营业执照"
    assert body["issuer"] == "测试部门"
    assert body["holder_masked"] == f"{VALID_FORM['company_name']}（91350100M000100Y43）"  # public
    assert body["issued_at"] == licence.issued_on.isoformat()
    assert body["algorithm"] == "SM2-SM3"
    assert body["digest"] == licence.signature_digest
    assert body["reason_code"] is None
    assert body["verification_url"] == licence_verification_url(licence.number)


def test_an_unknown_number_is_404_with_a_bilingual_error(client: Client) -> None:
    response = client.get("/api/v1/licenses/NOPE-2026-000001/verify", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {
        "code": "licence_not_found",
        "message": "No licence has this number.",
        "message_zh": "没有该编号的证照。",
        "message_en": "No licence has this number.",
    }


def test_revocation_shows_at_once(licence: Licence, client: Client, role_users: dict[str, Any]) -> None:
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    licence_revoke(acting_user=admin, licence=licence, reason="以欺骗手段取得", reason_code="withdrawn")

    body = client.get(f"/api/v1/licenses/{licence.number}/verify", HTTP_ACCEPT_LANGUAGE="en").json()

    assert (body["valid"], body["status"], body["reason_code"]) == (False, "revoked", "revoked")
    assert body["revocation_reason_code"] == "withdrawn"
    assert body["reason"] == "This licence has been revoked."
    assert body["reason_zh"] == "该证照已注销。"
    assert "以欺骗手段取得" not in json.dumps(body, ensure_ascii=False)  # the free text stays internal
    # and an uploaded copy says the same
    assert licence_verify_upload(licence_pdf_bytes(licence)).status == "revoked"
    assert licence_verify_upload(licence_signed_json(licence)).status == "revoked"


def test_expiry_is_computed_at_verification_time_in_beijing(
    issue_valid_until: Callable[[dt.date], Licence],
) -> None:
    # Given a licence whose last valid day was yesterday (Beijing), not yet marked by the expiry job
    licence = issue_valid_until(today_in_china() - dt.timedelta(days=1))

    result = licence_verify_by_number(licence.number)

    assert result is not None
    assert (result.valid, result.status, result.reason_code) == (False, "expired", "expired")
    assert result.valid_until == licence.valid_until
    assert Licence.objects.get(pk=licence.pk).status == "valid"
    assert licence_verify_upload(licence_pdf_bytes(licence)).status == "expired"


def test_the_last_valid_day_is_still_valid(issue_valid_until: Callable[[dt.date], Licence]) -> None:
    licence = issue_valid_until(today_in_china())

    result = licence_verify_by_number(licence.number)

    assert result is not None
    assert (result.valid, result.status) == (True, "valid")


def test_a_register_record_changed_after_signing_does_not_verify(licence: Licence) -> None:
    Licence.objects.filter(pk=licence.pk).update(holder_name="冒名公司")

    result = licence_verify_by_number(licence.number)

    assert result is not None
    assert (result.valid, result.reason_code) == (False, "record_changed")


def test_a_licence_signed_by_a_seal_later_revoked_no_longer_verifies(
    licence: Licence, role_users: dict[str, Any], department: Any
) -> None:
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    seal_revoke(
        acting_user=admin,
        seal=Seal.objects.get(pk=licence.seal_id or 0),
        reason="泄露",
        reason_code="key_compromise",
    )

    for result in (
        licence_verify_by_number(licence.number),
        licence_verify_upload(licence_signed_json(licence)),
        licence_verify_upload(licence_pdf_bytes(licence)),
    ):
        assert result is not None
        assert (result.valid, result.status, result.reason_code) == (False, "valid", "seal_revoked")


def test_a_licence_signed_by_a_retired_seal_still_verifies(licence: Licence, department: Any) -> None:
    seal_rotate(acting_user=None, department=department)

    assert licence_verify_by_number(licence.number).valid  # type: ignore[union-attr]
    assert licence_verify_upload(licence_signed_json(licence)).valid
    assert licence_verify_upload(licence_pdf_bytes(licence)).valid


def test_a_personal_holder_is_masked(
    issue: Callable[..., Licence], make_application: Callable[..., Application]
) -> None:
    licence = issue(application=make_application("TSVC", form=dict(VALID_FORM)), data={})

    assert holder_masked(licence) == f"{name_masked(licence.holder_name)}（110105********002X）"
    assert licence_verify_by_number(licence.number).holder_masked == holder_masked(licence)  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "*"), ("", "")])
def test_person_names_keep_only_the_first_character(name: str, masked: str) -> None:
    assert name_masked(name) == masked


# --- By signed JSON -------------------------------------------------------------------------------------


def test_the_signed_json_verifies(licence: Licence, client: Client) -> None:
    body = _upload(client, licence_signed_json(licence), content_type="application/json").json()

    assert (body["valid"], body["status"], body["number"]) == (True, "valid", licence.number)
    assert (body["algorithm"], body["digest"]) == ("SM2-SM3", licence.signature_digest)


def test_whitespace_and_member_order_do_not_matter(licence: Licence) -> None:
    document = json.loads(licence_signed_json(licence))
    pretty = json.dumps(document, ensure_ascii=True, indent=2, sort_keys=False).encode()

    assert licence_verify_upload(pretty).valid


def _set_capital(document: dict[str, Any]) -> None:
    document["licence"]["data"]["registered_capital"] = 1000


def _set_capital_and_digest(document: dict[str, Any]) -> None:
    from onewindow.crypto.sm3 import sm3_hex

    _set_capital(document)
    document["signature"]["digest"] = sm3_hex(jcs_dumps(document["licence"]))


def _set_signature(document: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(document["signature"]["value"]))
    raw[-1] ^= 1
    document["signature"]["value"] = base64.b64encode(bytes(raw)).decode()


def _set_fingerprint(document: dict[str, Any]) -> None:
    document["signature"]["key_fingerprint"] = "0" * 64


def _set_algorithm(document: dict[str, Any]) -> None:
    document["signature"]["algorithm"] = "ECDSA-SHA256"


def _set_signer_id(document: dict[str, Any]) -> None:
    document["signature"]["signer_id"] = "another id"


@pytest.mark.parametrize(
    ("change", "reason_code"),
    [
        (_set_capital, "digest_mismatch"),
        (_set_capital_and_digest, "signature_invalid"),
        (_set_signature, "signature_invalid"),
        (_set_signer_id, "signature_invalid"),
        (_set_fingerprint, "unknown_key"),
        (_set_algorithm, "algorithm_unsupported"),
    ],
)
def test_one_changed_value_makes_the_signed_json_not_valid(
    licence: Licence, client: Client, change: Callable[[dict[str, Any]], None], reason_code: str
) -> None:
    body = _upload(client, _tampered_json(licence, change)).json()

    assert body["valid"] is False
    assert body["reason_code"] == reason_code
    assert body["number"] is None
    assert body["reason_zh"]
    assert body["reason_en"]


# --- Uploads that are not licences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n not a licence", "file_type_unsupported"),
        (b"", "file_type_unsupported"),
        (b"hello", "file_type_unsupported"),
        (b'{"licence": 1}', "file_not_signed_licence"),
        (b'{"licence": {}, "signature": {}, "licence": {}}', "file_not_signed_licence"),
        (b"{not json", "file_not_signed_licence"),
        (b'{"licence": {}, "signature": {"value": "***"}}', "file_not_signed_licence"),
    ],
)
def test_garbage_is_refused_422_with_a_bilingual_error(
    content: bytes, code: str, client: Client, licence: Licence
) -> None:
    response = _upload(client, content, name="x.bin")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code
    assert body["field"] == "file"
    assert body["message_zh"]
    assert body["message_en"]


def test_an_upload_without_the_file_field_is_422(client: Client) -> None:
    assert client.post("/api/v1/licenses/verify", {}).status_code == 422


def test_a_file_over_10_mb_is_refused_413(client: Client) -> None:
    response = _upload(client, b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


@override_settings(LICENCE_VERIFY_PER_MINUTE=3)
def test_verifications_are_limited_per_address(licence: Licence, client: Client) -> None:
    url = f"/api/v1/licenses/{licence.number}/verify"
    statuses = [client.get(url).status_code for _ in range(3)]

    refused = client.get(url)
    upload = _upload(client, licence_signed_json(licence))
    page = client.get(f"/licences/verify/{licence.number}/")
    other_address = client.get(url, REMOTE_ADDR="192.0.2.7")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_verifications"
    assert upload.status_code == 429
    assert page.status_code == 429
    assert other_address.status_code == 200


# --- Pages ------------------------------------------------------------------------------------------------


def test_the_qr_code_page_shows_the_status_in_words(licence: Licence, client: Client) -> None:
    response = client.get(f"/licences/verify/{licence.number}/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="verification-valid"' in text
    assert "有效" in text
    assert VALID_FORM["company_name"] in text
    assert licence.signature_digest in text


def test_the_page_of_a_revoked_licence_says_so_in_words(
    licence: Licence, client: Client, role_users: dict[str, Any]
) -> None:
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    licence_revoke(acting_user=admin, licence=licence, reason="吊销", reason_code="penalty")

    response = client.get(f"/licences/verify/{licence.number}/", HTTP_ACCEPT_LANGUAGE="en")

    text = response.content.decode()
    assert 'data-testid="verification-invalid"' in text
    assert "Not valid" in text
    assert "This licence has been revoked." in text
    assert "Revoked as a penalty" in text


def test_the_page_of_an_unknown_number_is_404(client: Client) -> None:
    response = client.get("/licences/verify/NOPE-1/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert "No licence with the number NOPE-1 was issued on this platform." in response.content.decode()


def test_the_form_sends_a_number_to_its_page(licence: Licence, client: Client) -> None:
    assert client.get("/licences/verify/").status_code == 200

    response = client.get("/licences/verify/", {"number": f" {licence.number} "})

    assert response.status_code == 302
    assert response["Location"] == f"/licences/verify/{licence.number}/"


def test_the_form_checks_an_uploaded_file(licence: Licence, client: Client) -> None:
    valid = client.post(
        "/licences/verify/", {"file": SimpleUploadedFile("l.pdf", licence_pdf_bytes(licence))}
    )
    garbage = client.post("/licences/verify/", {"file": SimpleUploadedFile("l.txt", b"hello")})
    empty = client.post("/licences/verify/", {})

    assert valid.status_code == 200
    assert 'data-testid="verification-valid"' in valid.content.decode()
    assert garbage.status_code == 422
    assert "govuk-error-summary" in garbage.content.decode()
    assert empty.status_code == 422


def test_the_verification_pages_are_for_everyone_signed_in_or_not(
    licence: Licence, client_for: Callable[[object], Client], role_users: dict[str, Any]
) -> None:
    for user in role_users.values():
        assert client_for(user).get(f"/licences/verify/{licence.number}/").status_code == 200
    assert timezone.now()  # (anonymous is covered by the tests above)
