"""The holder's licence wallet pages (issue #6 item 5): a resident sees the licences held by their ID number,
an enterprise representative those held by their enterprise's credit code, with status in words; they
download the signed PDF and JSON; nobody else sees them (another holder: 404 like an unknown number, so the
wallet does not tell whether a licence exists; staff: 403), and a refused call changes nothing.

Electronic Signature Law Art. 13 (the holder gets the signed originals); PIPL Art. 6 (minimum necessary:
only the holder sees their licences).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind
from onewindow.accounts.tests.factories import UserFactory
from onewindow.audit.models import AuditRecord
from onewindow.licences.actions import licence_revoke
from onewindow.licences.models import Licence, LicenceShare
from onewindow.licences.selectors import licence_pdf_bytes, licence_signed_json, today_in_china
from onewindow.licences.wallet import licence_share_create

pytestmark = pytest.mark.django_db

HOLDER = "enterprise_representative"  # holds the ``licence`` fixture (credit code 91350100M000100Y43)
HOLDERS = {"resident", "enterprise_representative"}


def _user(role_users: dict[str, Any], role: str) -> User:
    user = role_users[role]
    assert isinstance(user, User)
    return user


def _no_shares(licence: Licence) -> None:
    assert not LicenceShare.objects.filter(licence=licence).exists()
    assert not AuditRecord.objects.filter(action="licence.share_created").exists()


# --- Every role on every page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_wallet_pages_for_every_role(
    role: str, licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[role])
    number = licence.number

    listing = client.get("/licences/mine/")
    detail = client.get(f"/licences/mine/{number}/")
    pdf = client.get(f"/licences/mine/{number}/pdf/")
    signed_json = client.get(f"/licences/mine/{number}/signed-json/")
    share = client.post(f"/licences/mine/{number}/shares/", {"hours": "24", "note": "银行"})

    statuses = (detail.status_code, pdf.status_code, signed_json.status_code, share.status_code)
    if role == HOLDER:
        assert listing.status_code == 200
        assert number in listing.content.decode()
        assert statuses == (200, 200, 200, 201)
        assert LicenceShare.objects.filter(licence=licence).count() == 1
    elif role in HOLDERS:  # another holder: their (empty) wallet, and 404 for this licence
        assert listing.status_code == 200
        assert number not in listing.content.decode()
        assert statuses == (404, 404, 404, 404)
        _no_shares(licence)
        assert (
            AuditRecord.objects.filter(
                action="licence.wallet_read_denied", actor_id=role_users[role].pk, object_id=number
            ).count()
            == 4
        )
    else:  # staff have no wallet: the issuing department uses /licences/manage/
        assert listing.status_code == 403
        assert statuses == (403, 403, 403, 403)
        _no_shares(licence)
        assert AuditRecord.objects.filter(action="permission.denied", actor_id=role_users[role].pk).exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_revoking_a_share_link_on_the_page_for_every_role(
    role: str, licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    created = licence_share_create(acting_user=_user(role_users, HOLDER), licence=licence, hours=1)

    response = client_for(role_users[role]).post(
        f"/licences/mine/{licence.number}/shares/{created.share.pk}/revoke/"
    )

    created.share.refresh_from_db()
    if role == HOLDER:
        assert response.status_code == 302
        assert created.share.revoked_at is not None
    else:
        assert response.status_code == (404 if role in HOLDERS else 403)
        assert created.share.revoked_at is None
        assert not AuditRecord.objects.filter(action="licence.share_revoked").exists()


def test_anonymous_visitors_go_to_sign_in_and_change_nothing(licence: Licence, client: Client) -> None:
    for path in (
        "/licences/mine/",
        f"/licences/mine/{licence.number}/",
        f"/licences/mine/{licence.number}/pdf/",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert "next=" in response["Location"]
    assert client.post(f"/licences/mine/{licence.number}/shares/", {"hours": "24"}).status_code == 302
    _no_shares(licence)


def test_an_unknown_number_and_another_holders_licence_look_the_same(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["resident"])

    unknown = client.get("/licences/mine/TDEPT-2026-999999/")
    others = client.get(f"/licences/mine/{licence.number}/")

    assert unknown.status_code == others.status_code == 404
    assert licence.holder_name not in others.content.decode()


# --- What the holder sees ----------------------------------------------------------------------------------


def test_a_resident_sees_the_licences_held_by_their_id_number(
    issue_valid_until: Callable[[dt.date], Licence],
    licence: Licence,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    # Given a permit held by the resident (a person) and a business licence held by an enterprise
    permit = issue_valid_until(today_in_china() + dt.timedelta(days=200))
    resident = _user(role_users, "resident")
    assert (permit.holder_kind, permit.holder_code) == ("person", resident.id_number)

    # When the resident opens their wallet
    page = client_for(resident).get("/licences/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Then only the permit is listed, with its particulars and its status in words
    assert permit.number in page
    assert licence.number not in page
    assert "测试许可证" in page
    assert permit.valid_until is not None
    assert permit.valid_until.isoformat() in page
    assert "Valid" in page


def test_an_enterprise_wallet_excludes_a_person_with_the_same_code(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # Given a resident account whose ID number field happens to equal the enterprise's credit code
    odd = UserFactory.create(username="odd_resident", kind=Kind.RESIDENT, id_number=licence.holder_code)

    # Then the enterprise's licence is not theirs: the holder kind must match too
    assert licence.number not in client_for(odd).get("/licences/mine/").content.decode()
    assert client_for(odd).get(f"/licences/mine/{licence.number}/").status_code == 404


def test_revoked_and_expired_licences_stay_listed_with_their_status(
    issue_valid_until: Callable[[dt.date], Licence],
    licence: Licence,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    licence_revoke(
        acting_user=_user(role_users, "department_admin"),
        licence=licence,
        reason="吊销",
        reason_code="penalty",
    )
    expired = issue_valid_until(today_in_china() - dt.timedelta(days=1))

    enterprise = client_for(role_users[HOLDER])
    resident = client_for(role_users["resident"])
    enterprise_page = enterprise.get("/licences/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    resident_page = resident.get("/licences/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    detail = enterprise.get(f"/licences/mine/{licence.number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert licence.number in enterprise_page
    assert "Revoked" in enterprise_page
    assert expired.number in resident_page
    assert "Expired" in resident_page
    assert "This licence has been revoked: it cannot be shared." in detail
    assert 'name="hours"' not in detail
    # the holder can still download what was issued to them
    assert enterprise.get(f"/licences/mine/{licence.number}/pdf/").status_code == 200


def test_the_wallet_is_in_chinese_by_default(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    page = client_for(role_users[HOLDER]).get("/licences/mine/").content.decode()

    assert "我的证照" in page
    assert "有效" in page


# --- Downloads ---------------------------------------------------------------------------------------------


def test_the_pdf_and_the_signed_json_download_as_issued(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[HOLDER])

    pdf = client.get(f"/licences/mine/{licence.number}/pdf/")
    signed = client.get(f"/licences/mine/{licence.number}/signed-json/")

    assert pdf.content == licence_pdf_bytes(licence)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == (
        f'attachment; filename="{licence.number}.pdf"; '
        f"filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7-{licence.number}.pdf"
    )
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert pdf["Cache-Control"] == "private, no-store"
    assert signed.content == licence_signed_json(licence)
    assert signed["Content-Type"] == "application/json"
    assert f'filename="{licence.number}.signed.json"' in signed["Content-Disposition"]
    assert signed["X-Content-Type-Options"] == "nosniff"
    assert json.loads(signed.content)["signature"]["algorithm"] == "SM2-SM3"


def test_a_licence_recorded_before_signing_has_nothing_to_download(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    Licence.objects.filter(pk=licence.pk).update(signed_at=None, pdf="")
    client = client_for(role_users[HOLDER])

    response = client.get(f"/licences/mine/{licence.number}/pdf/")
    detail = client.get(f"/licences/mine/{licence.number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    share = client.post(f"/licences/mine/{licence.number}/shares/", {"hours": "24"})

    assert response.status_code == 302
    assert "there is no file to download" in detail
    assert share.status_code == 422
    _no_shares(licence)


# --- Share links on the pages ------------------------------------------------------------------------


def test_the_holder_creates_a_link_sees_it_once_and_revokes_it(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[HOLDER])

    created = client.post(
        f"/licences/mine/{licence.number}/shares/",
        {"hours": "168", "note": "  招商银行   开户 "},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert created.status_code == 201
    share = LicenceShare.objects.get(licence=licence)
    assert share.note == "招商银行 开户"
    assert share.expires_at - share.created_at == dt.timedelta(days=7)
    page = created.content.decode()
    assert "http://testserver/licences/shared/" in page or "/licences/shared/" in page
    assert created["Cache-Control"] == "private, no-store"
    # shown once: the detail page lists the link without its address
    again = client.get(f"/licences/mine/{licence.number}/").content.decode()
    assert "招商银行 开户" in again
    assert "/licences/shared/" not in again

    revoked = client.post(f"/licences/mine/{licence.number}/shares/{share.pk}/revoke/")

    assert revoked.status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is not None
    assert "招商银行 开户" not in client.get(f"/licences/mine/{licence.number}/").content.decode()


@pytest.mark.parametrize(("hours", "note"), [("2", ""), ("", ""), ("24", "x" * 201)])
def test_the_share_form_refuses_what_it_does_not_offer(
    hours: str,
    note: str,
    licence: Licence,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    response = client_for(role_users[HOLDER]).post(
        f"/licences/mine/{licence.number}/shares/", {"hours": hours, "note": note}
    )

    assert response.status_code == 422
    assert "govuk-error-summary" in response.content.decode()
    _no_shares(licence)


def test_sharing_a_revoked_licence_is_refused_with_the_reason(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    licence_revoke(
        acting_user=_user(role_users, "department_admin"),
        licence=licence,
        reason="吊销",
        reason_code="penalty",
    )

    response = client_for(role_users[HOLDER]).post(
        f"/licences/mine/{licence.number}/shares/", {"hours": "24"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 422
    assert "This licence has been revoked: it cannot be shared." in response.content.decode()
    _no_shares(licence)


def test_a_share_link_of_another_licence_is_not_revoked_through_this_one(
    licence: Licence,
    issue: Callable[..., Licence],
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    holder = _user(role_users, HOLDER)
    second = issue()
    created = licence_share_create(acting_user=holder, licence=second, hours=1)

    response = client_for(holder).post(f"/licences/mine/{licence.number}/shares/{created.share.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"].endswith(f"/licences/mine/{second.number}/")
    created.share.refresh_from_db()
    assert created.share.revoked_at is None


# --- Navigation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_my_licences_tile_is_for_holders_only(
    role: str, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    from onewindow.web.navigation import AUDIENCE_BY_KEY, TILES, tiles_for

    user = _user(role_users, role)
    shown = [
        tile.url
        for key, tiles in TILES.items()
        if AUDIENCE_BY_KEY[key].allows(user)
        for tile in tiles_for(user, tiles)
    ]

    assert ("/licences/mine/" in shown) is (role in HOLDERS)
