"""Time-limited share links (issue #6 item 5): ``/licences/shared/<token>/`` shows the licence's
verification and serves its PDF while the link is valid; after expiry or revocation it answers 410 with
a bilingual message. Tokens are 32 random bytes, stored only as their SHA-256; created, revoked and opened
are audited, never with the token. PIPL Art. 6 (minimum necessary: the viewer sees the holder masked);
MLPS 2.0 (GB/T 22239-2019 §8.1.4.3, audit of security-relevant events).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.licences.actions import licence_revoke
from onewindow.licences.models import Licence, LicenceShare
from onewindow.licences.selectors import licence_pdf_bytes, today_in_china
from onewindow.licences.wallet import (
    SHARES_ACTIVE_MAX,
    ShareCreated,
    licence_share_create,
    licence_share_revoke,
)

pytestmark = pytest.mark.django_db

HOLDER = "enterprise_representative"


def _holder(role_users: dict[str, Any]) -> User:
    user = role_users[HOLDER]
    assert isinstance(user, User)
    return user


def _path(created: ShareCreated) -> str:
    return urlsplit(created.url).path


@pytest.fixture
def shared(licence: Licence, role_users: dict[str, Any]) -> ShareCreated:
    return licence_share_create(acting_user=_holder(role_users), licence=licence, hours=24, note="银行")


# --- The token --------------------------------------------------------------------------------------------


def test_the_token_is_32_random_bytes_kept_only_as_its_sha256(shared: ShareCreated) -> None:
    token = shared.url.rstrip("/").rsplit("/", 1)[-1]

    assert len(token) == 43  # base64url of 32 bytes
    assert shared.share.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps(list(LicenceShare.objects.values()), default=str)
    assert token not in stored
    audit = json.dumps(list(AuditRecord.objects.values("details", "object_id")), default=str)
    assert token not in audit


def test_two_links_never_share_a_token(licence: Licence, role_users: dict[str, Any]) -> None:
    links = {
        licence_share_create(acting_user=_holder(role_users), licence=licence, hours=1).url for _ in range(5)
    }

    assert len(links) == 5


# --- Opening a link ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_anyone_with_the_link_sees_the_verification_and_downloads_the_pdf(
    role: str,
    shared: ShareCreated,
    licence: Licence,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    client = Client() if role == "anonymous" else client_for(role_users[role])

    page = client.get(_path(shared), HTTP_ACCEPT_LANGUAGE="en")
    pdf = client.get(_path(shared) + "pdf/")

    assert page.status_code == 200
    text = page.content.decode()
    assert licence.number in text
    assert 'data-testid="verification-valid"' in text
    assert "银行" not in text  # the holder's note is the holder's
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "private, no-store"
    assert (pdf.status_code, pdf.content) == (200, licence_pdf_bytes(licence))
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert pdf["Content-Disposition"].startswith("attachment;")
    shared.share.refresh_from_db()
    assert shared.share.open_count == 2
    assert shared.share.last_opened_at is not None
    opened = AuditRecord.objects.filter(action="licence.share_opened").order_by("seq")
    assert [(record.details["what"], record.outcome, record.object_id) for record in opened] == [
        ("page", "success", licence.number),
        ("pdf", "success", licence.number),
    ]
    assert all(record.details["share_id"] == shared.share.pk for record in opened)


def test_the_viewer_sees_a_persons_name_and_id_number_masked(
    issue_valid_until: Callable[[dt.date], Licence], role_users: dict[str, Any], client: Client
) -> None:
    resident = role_users["resident"]
    permit = issue_valid_until(today_in_china() + dt.timedelta(days=30))
    created = licence_share_create(acting_user=resident, licence=permit, hours=1)

    text = client.get(_path(created)).content.decode()

    assert permit.number in text
    assert resident.id_number not in text
    assert "110105********002X" in text


def test_an_unknown_or_malformed_token_is_404(shared: ShareCreated, client: Client) -> None:
    token = urlsplit(shared.url).path.rstrip("/").rsplit("/", 1)[-1]
    wrong = ("A" if token[0] != "A" else "B") + token[1:]

    assert client.get(f"/licences/shared/{wrong}/").status_code == 404
    assert client.get("/licences/shared/short/").status_code == 404
    assert client.get(f"/licences/shared/{wrong}/pdf/").status_code == 404
    assert not AuditRecord.objects.filter(action="licence.share_opened").exists()


def test_an_expired_link_answers_410_in_both_languages(
    licence: Licence, role_users: dict[str, Any], client: Client
) -> None:
    created = licence_share_create(
        acting_user=_holder(role_users),
        licence=licence,
        hours=1,
        now=timezone.now() - dt.timedelta(hours=1, seconds=1),
    )

    chinese = client.get(_path(created))
    english = client.get(_path(created), HTTP_ACCEPT_LANGUAGE="en")
    pdf = client.get(_path(created) + "pdf/")

    assert (chinese.status_code, english.status_code, pdf.status_code) == (410, 410, 410)
    assert "此链接已过期。" in chinese.content.decode()
    assert "This link has expired." in english.content.decode()
    assert licence.number not in english.content.decode()
    assert english["Referrer-Policy"] == "no-referrer"
    created.share.refresh_from_db()
    assert created.share.open_count == 0
    refused = AuditRecord.objects.filter(action="licence.share_opened", outcome="denied")
    assert refused.count() == 3
    assert {record.details["refused"] for record in refused} == {"expired"}


def test_a_revoked_link_answers_410_from_the_next_request(
    shared: ShareCreated, role_users: dict[str, Any], client: Client
) -> None:
    assert client.get(_path(shared)).status_code == 200

    licence_share_revoke(acting_user=_holder(role_users), share=shared.share)

    english = client.get(_path(shared), HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 410
    assert "The holder revoked this link." in english.content.decode()
    assert client.get(_path(shared) + "pdf/").status_code == 410
    record = AuditRecord.objects.get(action="licence.share_revoked")
    assert record.details["share_id"] == shared.share.pk


def test_after_the_licence_is_revoked_the_link_shows_it_and_offers_no_pdf(
    shared: ShareCreated, licence: Licence, role_users: dict[str, Any], client: Client
) -> None:
    licence_revoke(
        acting_user=role_users["department_admin"], licence=licence, reason="吊销", reason_code="penalty"
    )

    page = client.get(_path(shared), HTTP_ACCEPT_LANGUAGE="en")
    pdf = client.get(_path(shared) + "pdf/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert 'data-testid="verification-invalid"' in page.content.decode()
    assert "This licence has been revoked." in page.content.decode()
    assert "/pdf/" not in page.content.decode()
    assert pdf.status_code == 410
    assert "no longer valid" in pdf.content.decode()


@override_settings(LICENCE_VERIFY_PER_MINUTE=2)
def test_opening_links_counts_against_the_verification_limit(shared: ShareCreated, client: Client) -> None:
    statuses = [client.get(_path(shared)).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


# --- The actions' own rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != HOLDER])
def test_only_the_holder_may_create_or_revoke(
    role: str, licence: Licence, shared: ShareCreated, role_users: dict[str, Any]
) -> None:
    user = role_users[role]

    with pytest.raises(PermissionDenied):
        licence_share_create(acting_user=user, licence=licence, hours=1)
    with pytest.raises(PermissionDenied):
        licence_share_revoke(acting_user=user, share=shared.share)

    assert LicenceShare.objects.count() == 1
    shared.share.refresh_from_db()
    assert shared.share.revoked_at is None
    assert AuditRecord.objects.filter(action="permission.denied", actor_id=user.pk).count() == 2


@pytest.mark.parametrize(
    ("hours", "note", "code"),
    [
        (0, "", "share_hours_invalid"),
        (721, "", "share_hours_invalid"),
        (True, "", "share_hours_invalid"),
        (1, "字" * 201, "share_note_too_long"),
    ],
)
def test_durations_and_notes_outside_the_rules_are_refused(
    hours: Any, note: str, code: str, licence: Licence, role_users: dict[str, Any]
) -> None:
    with pytest.raises(RuleViolation) as refused:
        licence_share_create(acting_user=_holder(role_users), licence=licence, hours=hours, note=note)

    assert refused.value.code == code
    assert not LicenceShare.objects.exists()


def test_thirty_days_is_the_longest(licence: Licence, role_users: dict[str, Any]) -> None:
    created = licence_share_create(acting_user=_holder(role_users), licence=licence, hours=720)

    assert created.share.expires_at - created.share.created_at == dt.timedelta(days=30)


def test_an_expired_licence_cannot_be_shared(
    issue_valid_until: Callable[[dt.date], Licence], role_users: dict[str, Any]
) -> None:
    expired = issue_valid_until(today_in_china() - dt.timedelta(days=1))

    with pytest.raises(RuleViolation) as refused:
        licence_share_create(acting_user=role_users["resident"], licence=expired, hours=1)

    assert (refused.value.code, refused.value.status) == ("licence_expired", 409)
    assert not LicenceShare.objects.exists()


def test_at_most_twenty_active_links_per_licence(licence: Licence, role_users: dict[str, Any]) -> None:
    holder = _holder(role_users)
    links = [
        licence_share_create(acting_user=holder, licence=licence, hours=1) for _ in range(SHARES_ACTIVE_MAX)
    ]

    with pytest.raises(RuleViolation) as refused:
        licence_share_create(acting_user=holder, licence=licence, hours=1)
    assert refused.value.code == "too_many_shares"

    licence_share_revoke(acting_user=holder, share=links[0].share)
    licence_share_create(acting_user=holder, licence=licence, hours=1)
    assert LicenceShare.objects.count() == SHARES_ACTIVE_MAX + 1


def test_creating_is_audited_with_expiry_and_note_but_not_the_token(
    shared: ShareCreated, licence: Licence, role_users: dict[str, Any]
) -> None:
    record = AuditRecord.objects.get(action="licence.share_created")

    assert (record.actor_id, record.object_id) == (_holder(role_users).pk, licence.number)
    assert record.details["share_id"] == shared.share.pk
    assert record.details["hours"] == 24
    assert record.details["note"] == "银行"
    assert set(record.details) == {"share_id", "hours", "expires_at", "note"}
