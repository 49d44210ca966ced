"""Account actions: real-name identity (GB 11643-1999 ID numbers, GB 32100-2015 credit codes), password policy
and change (MLPS 2.0, GB/T 22239-2019 §8.1.4.1 a: unique identities, complex passwords changed regularly),
deactivation, all audited (§8.1.4.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.actions import password_change, user_create, user_deactivate
from onewindow.accounts.api_auth import user_for_token
from onewindow.accounts.models import ApiToken, User
from onewindow.accounts.roles import Kind
from onewindow.accounts.tests.factories import TEST_PASSWORD, UserFactory
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import InvalidIdentifier

pytestmark = pytest.mark.django_db

STRONG = "Lantern-Harbour-93"


def _last_seq() -> int:
    return AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_user_create_resident_normalises_and_audits() -> None:
    user = user_create(
        username="zhang_san",
        kind=Kind.RESIDENT,
        password=STRONG,
        display_name="张三",
        id_number="11010519491231002x",
        mobile="13800138000",
        acting_user=None,
    )
    user.refresh_from_db()
    assert user.id_number == "11010519491231002X"
    assert user.kind == Kind.RESIDENT
    assert user.real_name_verified is False  # a valid check digit is not a registry match
    assert user.check_password(STRONG)
    assert user.password_changed_at is not None
    record = AuditRecord.objects.get(action="user.created")
    assert record.object_id == str(user.pk)
    assert record.details == {"username": "zhang_san", "kind": "resident"}
    assert "11010519491231002X" not in str(record.details)


def test_user_create_refuses_a_bad_id_number() -> None:
    with pytest.raises(InvalidIdentifier):
        user_create(
            username="li_si",
            kind=Kind.RESIDENT,
            password=STRONG,
            display_name="李四",
            id_number="110105194912310021",  # wrong check character
            acting_user=None,
        )
    assert not User.objects.filter(username="li_si").exists()
    assert not AuditRecord.objects.filter(action="user.created").exists()


def test_user_create_resident_needs_an_id_number() -> None:
    with pytest.raises(ValidationError, match="needs an ID number"):
        user_create(username="r", kind=Kind.RESIDENT, password=STRONG, display_name="R", acting_user=None)
    assert not User.objects.filter(username="r").exists()


def test_user_create_enterprise_needs_a_valid_credit_code() -> None:
    with pytest.raises(ValidationError, match="unified social credit code"):
        user_create(username="e1", kind=Kind.ENTERPRISE, password=STRONG, display_name="E", acting_user=None)
    with pytest.raises(InvalidIdentifier):
        user_create(
            username="e2",
            kind=Kind.ENTERPRISE,
            password=STRONG,
            display_name="E",
            enterprise_credit_code="91350100M000100Y44",
            acting_user=None,
        )
    user = user_create(
        username="e3",
        kind=Kind.ENTERPRISE,
        password=STRONG,
        display_name="E",
        enterprise_credit_code="91350100M000100Y43",
        enterprise_name="示例有限公司",
        acting_user=None,
    )
    assert user.enterprise_credit_code == "91350100M000100Y43"
    assert list(User.objects.filter(username__startswith="e").values_list("username", flat=True)) == ["e3"]


def test_user_create_applies_the_password_policy() -> None:
    with pytest.raises(ValidationError) as caught:
        user_create(username="weak", kind=Kind.STAFF, password="abcdefgh", display_name="W", acting_user=None)
    codes = {error.code for error in caught.value.error_list}
    assert codes == {"password_too_short", "password_too_common", "password_too_simple"}
    assert not User.objects.filter(username="weak").exists()


def test_user_create_refuses_a_duplicate_id_number() -> None:
    UserFactory.create(username="first", id_number="11010519491231002X")
    with pytest.raises(ValidationError, match="already in use"):
        user_create(
            username="second",
            kind=Kind.RESIDENT,
            password=STRONG,
            display_name="S",
            id_number="11010519491231002X",
            acting_user=None,
        )
    assert not User.objects.filter(username="second").exists()


def test_user_create_only_by_system_admin(role_users: dict[str, object]) -> None:
    for role_name, actor in role_users.items():
        if role_name == "system_admin":
            continue
        with pytest.raises(PermissionDenied):
            user_create(
                username="new_staff",
                kind=Kind.STAFF,
                password=STRONG,
                display_name="N",
                acting_user=actor,  # type: ignore[arg-type]
            )
    assert not User.objects.filter(username="new_staff").exists()
    assert AuditRecord.objects.filter(action="permission.denied").count() == len(role_users) - 1
    created = user_create(
        username="new_staff",
        kind=Kind.STAFF,
        password=STRONG,
        display_name="N",
        acting_user=role_users["system_admin"],  # type: ignore[arg-type]
    )
    assert AuditRecord.objects.get(action="user.created").actor_username == "t_system_admin"
    assert created.kind == Kind.STAFF


def test_real_name_verification_needs_an_id_number() -> None:
    # GB/T 22239-2019 §8.1.4.1 a: identities are unique; a verified real name is an ID number.
    user = UserFactory.create(username="unverified")
    user.real_name_verified = True
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()


def test_user_deactivate_stops_sign_in_and_tokens(
    role_users: dict[str, object], api_token_for: object
) -> None:
    user = UserFactory.create(username="leaving")
    token = api_token_for(user)  # type: ignore[operator]
    user_deactivate(user=user, acting_user=role_users["system_admin"])  # type: ignore[arg-type]
    user.refresh_from_db()
    assert user.is_active is False
    assert user_for_token(token) is None
    assert ApiToken.objects.get(user=user).revoked_at is not None
    record = AuditRecord.objects.get(action="user.deactivated")
    assert record.details == {"username": "leaving", "api_access_revoked": 1}


def test_user_deactivate_refused_for_security_officer(role_users: dict[str, object]) -> None:
    user = UserFactory.create(username="staying")
    with pytest.raises(PermissionDenied):
        user_deactivate(user=user, acting_user=role_users["security_officer"])  # type: ignore[arg-type]
    user.refresh_from_db()
    assert user.is_active is True
    assert not AuditRecord.objects.filter(action="user.deactivated").exists()


def test_password_change_sets_date_revokes_tokens_and_audits(api_token_for: object) -> None:
    user = UserFactory.create(username="changer", kind=Kind.STAFF)
    token = api_token_for(user)  # type: ignore[operator]
    before = timezone.now()
    password_change(user=user, old_password=TEST_PASSWORD, new_password=STRONG)
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert user.password_changed_at is not None
    assert user.password_changed_at >= before
    assert user_for_token(token) is None
    record = AuditRecord.objects.get(action="auth.password_changed")
    assert record.details == {"api_access_revoked": 1}
    assert STRONG not in str(AuditRecord.objects.values_list("details", flat=True))


def test_password_change_with_wrong_old_password_changes_nothing() -> None:
    user = UserFactory.create(username="guesser")
    with pytest.raises(ValidationError, match="current password is not correct"):
        password_change(user=user, old_password="Not-The-Password-1", new_password=STRONG)
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert user.password_changed_at is None
    record = AuditRecord.objects.get(action="auth.password_change_failed")
    assert record.outcome == "failure"
    assert record.details == {"reason": "old_password_wrong"}


@pytest.mark.parametrize(
    ("new_password", "expected_codes"),
    [
        ("Short-1", {"password_too_short"}),
        ("alllowercaseletters", {"password_too_simple"}),
        ("12345678901234", {"password_entirely_numeric", "password_too_simple"}),
        (TEST_PASSWORD, {"unchanged"}),
    ],
)
def test_password_change_policy(new_password: str, expected_codes: set[str]) -> None:
    user = UserFactory.create(username="policy")
    with pytest.raises(ValidationError) as caught:
        password_change(user=user, old_password=TEST_PASSWORD, new_password=new_password)
    assert {error.code for error in caught.value.error_list} == expected_codes
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_changed_at_can_be_old(settings: object) -> None:
    from onewindow.accounts.selectors import password_expired

    staff = UserFactory.create(username="old_password", kind=Kind.STAFF)
    staff.password_changed_at = timezone.now() - timedelta(days=91)
    assert password_expired(staff) is True
    staff.password_changed_at = timezone.now() - timedelta(days=89)
    assert password_expired(staff) is False
    resident = UserFactory.create(username="old_resident")
    resident.password_changed_at = timezone.now() - timedelta(days=365)
    assert password_expired(resident) is False
    settings.PASSWORD_MAX_AGE_DAYS = 0  # type: ignore[attr-defined]
    staff.password_changed_at = timezone.now() - timedelta(days=1000)
    assert password_expired(staff) is False
