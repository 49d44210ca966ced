"""Signing with a seal: only its holders sign by hand (Electronic Signature Law Art. 13 (2): only the signer
controls the signing data at signing), the engine seals a case its department decides, every signature and
every refusal is audited without the payload, rotation keeps old signatures verifiable, revoked and retired
seals sign nothing.
"""

from __future__ import annotations

from typing import Any

import gmalg
import pytest
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Role
from onewindow.applications.actions.submit import application_submit
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import published_service
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PublicKey, signature_to_raw
from onewindow.crypto.sm3 import sm3_hex
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.seals import selectors
from onewindow.seals.actions import (
    seal_holder_appoint,
    seal_holder_remove,
    seal_revoke,
    seal_rotate,
    seal_sign,
    seal_sign_for_decision,
)
from onewindow.seals.models import Seal, SealHolder, SealStatus
from onewindow.seals.tests.conftest import staff_of

pytestmark = pytest.mark.django_db

PAYLOAD = "营业执照 91350100M000100Y43 福州测试有限公司".encode()


def _audit(action: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


# --- Who may sign -----------------------------------------------------------------------------------------


def test_a_holder_signs_and_the_signature_verifies_with_the_seal_key(holder: User, seal: Seal) -> None:
    signature = seal_sign(holder, seal, PAYLOAD, purpose="营业执照")

    SM2PublicKey.from_der(bytes(seal.sm2_public_key_der)).verify(signature.value, PAYLOAD)
    assert selectors.seal_verify(seal, PAYLOAD, signature.value)
    assert not selectors.seal_verify(seal, PAYLOAD + b"!", signature.value)
    assert signature.digest == sm3_hex(PAYLOAD)
    assert signature.key_fingerprint == seal.sm2_key_fingerprint
    assert selectors.seal_by_key_fingerprint(signature.key_fingerprint) == seal
    assert (signature.department_code, signature.seal_version, signature.algorithm) == (
        "TDEPT",
        1,
        "SM2-with-SM3",
    )


def test_a_seal_signature_verifies_with_an_independent_sm2_implementation(holder: User, seal: Seal) -> None:
    # gmalg is pure Python and shares no code with gmalglib (GB/T 32918.2 §7).
    signature = seal_sign(holder, seal, PAYLOAD, purpose="互通检验")
    raw = signature_to_raw(signature.value)
    point = SM2PublicKey.from_der(bytes(seal.sm2_public_key_der)).to_bytes()

    assert gmalg.SM2(pk=point, uid=DEFAULT_SIGNER_ID).verify(PAYLOAD, raw[:32], raw[32:])


def test_signing_is_audited_with_who_seal_digest_and_purpose_never_the_payload(
    holder: User, seal: Seal
) -> None:
    seal_sign(holder, seal, PAYLOAD, purpose="营业执照")

    (record,) = _audit("seals.signed")
    assert record.actor_username == "t_seal_holder"
    assert (record.object_type, record.object_id, record.department_code) == ("seal", str(seal.pk), "TDEPT")
    assert record.details == {
        "department": "TDEPT",
        "version": 1,
        "algorithm": "SM2-with-SM3",
        "digest_sm3": sm3_hex(PAYLOAD),
        "key_fingerprint": seal.sm2_key_fingerprint,
        "purpose": "营业执照",
    }
    assert "福州测试" not in str(record.details)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_but_the_holder_is_refused_and_nothing_is_signed(
    role: str, role_users: dict[str, Any], seal: Seal
) -> None:
    # department_admin and department_handler belong to TDEPT, system_admin administers every seal:
    # none of them holds the seal, so none signs.
    user = role_users[role]

    with pytest.raises(PermissionDenied):
        seal_sign(user, seal, PAYLOAD, purpose="营业执照")

    assert _audit("seals.signed") == []
    (refusal,) = _audit("permission.denied")
    assert refusal.details == {"permission": "seal_sign"}
    assert (refusal.object_type, refusal.object_id) == ("seal", str(seal.pk))


def test_anonymous_and_system_callers_are_refused(seal: Seal) -> None:
    from django.contrib.auth.models import AnonymousUser

    for caller in (AnonymousUser(), None):
        with pytest.raises(PermissionDenied):
            seal_sign(caller, seal, PAYLOAD, purpose="营业执照")
    assert _audit("seals.signed") == []
    assert len(_audit("permission.denied")) == 2


def test_a_holder_of_another_departments_seal_is_refused(
    holder: User, seal: Seal, role_users: dict[str, Any]
) -> None:
    other = DepartmentFactory.create(code="OTHER")
    other_seal = seal_rotate(acting_user=None, department=other)

    with pytest.raises(PermissionDenied):
        seal_sign(holder, other_seal, PAYLOAD, purpose="营业执照")
    assert _audit("seals.signed") == []


def test_a_removed_holder_or_one_who_left_the_department_signs_no_more(
    holder: User, seal: Seal, role_users: dict[str, Any], department: Department
) -> None:
    seal_sign(holder, seal, PAYLOAD, purpose="first")
    Membership.objects.filter(user=holder).delete()
    with pytest.raises(PermissionDenied):
        seal_sign(User.objects.get(pk=holder.pk), seal, PAYLOAD, purpose="left the department")

    Membership.objects.create(user=holder, role="department_handler", department=department)
    seal_holder_remove(acting_user=role_users["department_admin"], department=department, user=holder)
    with pytest.raises(PermissionDenied):
        seal_sign(User.objects.get(pk=holder.pk), seal, PAYLOAD, purpose="removed")
    assert len(_audit("seals.signed")) == 1


def test_a_purpose_is_required(holder: User, seal: Seal) -> None:
    with pytest.raises(RuleViolation) as refused:
        seal_sign(holder, seal, PAYLOAD, purpose="  ")
    assert refused.value.code == "purpose_required"
    assert _audit("seals.signed") == []


# --- Rotation and revocation ------------------------------------------------------------------------------


def test_rotation_retires_the_old_seal_and_its_signatures_still_verify(
    holder: User, seal: Seal, department: Department
) -> None:
    old_signature = seal_sign(holder, seal, PAYLOAD, purpose="before rotation")

    new = seal_rotate(acting_user=None, department=department)

    seal.refresh_from_db()
    assert (seal.status, new.status, new.version) == (SealStatus.RETIRED, SealStatus.ACTIVE, 2)
    assert seal.retired_at is not None
    assert new.sm2_key_fingerprint != seal.sm2_key_fingerprint
    assert new.certificate_serial != seal.certificate_serial
    # the old key still verifies what it signed, and is still found by its fingerprint
    assert selectors.seal_by_key_fingerprint(old_signature.key_fingerprint) == seal
    assert selectors.seal_verify(seal, PAYLOAD, old_signature.value)
    assert not selectors.seal_verify(new, PAYLOAD, old_signature.value)
    # the holder signs with the new version only
    with pytest.raises(RuleViolation) as refused:
        seal_sign(holder, seal, PAYLOAD, purpose="retired")
    assert (refused.value.code, refused.value.status) == ("seal_not_active", 409)
    assert selectors.seal_verify(new, PAYLOAD, seal_sign(holder, new, PAYLOAD, purpose="after").value)
    assert selectors.seal_active("TDEPT") == new


def test_rotation_is_audited_with_the_retired_version(seal: Seal, role_users: dict[str, Any]) -> None:
    admin = role_users["department_admin"]
    new = seal_rotate(acting_user=admin, department=seal.department)

    record = _audit("seals.seal_issued")[-1]
    assert record.actor_username == "t_department_admin"
    assert record.details == {
        "department": "TDEPT",
        "version": 2,
        "certificate_serial": new.certificate_serial,
        "key_fingerprint": new.sm2_key_fingerprint,
        "retired_version": 1,
    }


def test_a_revoked_seal_signs_nothing_and_is_listed_publicly(
    holder: User, seal: Seal, role_users: dict[str, Any]
) -> None:
    seal_revoke(
        acting_user=role_users["department_admin"],
        seal=seal,
        reason="印章密钥泄露",
        reason_code="key_compromise",
    )

    with pytest.raises(RuleViolation) as refused:
        seal_sign(holder, Seal.objects.get(pk=seal.pk), PAYLOAD, purpose="after revocation")
    assert refused.value.code == "seal_not_active"
    (revoked,) = selectors.seals_revoked()
    assert revoked.pk == seal.pk
    assert (revoked.revocation_reason, revoked.revocation_reason_code) == ("印章密钥泄露", "key_compromise")
    assert revoked.revoked_at is not None
    assert revoked.revoked_by == role_users["department_admin"]
    assert _audit("seals.signed") == []
    assert _audit("seals.seal_revoked")[0].details["reason"] == "印章密钥泄露"


def test_a_revocation_needs_a_reason_and_happens_once(seal: Seal) -> None:
    with pytest.raises(RuleViolation) as missing:
        seal_revoke(acting_user=None, seal=seal, reason=" ")
    assert missing.value.code == "reason_required"
    seal_revoke(acting_user=None, seal=seal, reason="停用")
    with pytest.raises(RuleViolation) as again:
        seal_revoke(acting_user=None, seal=seal, reason="again")
    assert (again.value.code, again.value.status) == ("seal_already_revoked", 409)
    assert len(_audit("seals.seal_revoked")) == 1


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_department_and_system_administrators_rotate_and_revoke(
    role: str, role_users: dict[str, Any], seal: Seal
) -> None:
    user = role_users[role]
    allowed = role in {"department_admin", "system_admin"}
    before = list(Seal.objects.values_list("pk", "status", "version"))

    if allowed:
        seal_rotate(acting_user=user, department=seal.department)
        seal_revoke(acting_user=user, seal=seal, reason="测试")
        assert Seal.objects.count() == 2
        return
    with pytest.raises(PermissionDenied):
        seal_rotate(acting_user=user, department=seal.department)
    with pytest.raises(PermissionDenied):
        seal_revoke(acting_user=user, seal=seal, reason="测试")
    assert list(Seal.objects.values_list("pk", "status", "version")) == before
    assert len(_audit("permission.denied")) == 2


def test_another_departments_administrator_is_refused(seal: Seal) -> None:
    other = DepartmentFactory.create(code="OTHER")
    admin = staff_of(other, "other_admin", role=Role.DEPARTMENT_ADMIN)

    with pytest.raises(PermissionDenied):
        seal_revoke(acting_user=admin, seal=seal, reason="不是本部门")
    with pytest.raises(PermissionDenied):
        seal_rotate(acting_user=admin, department=seal.department)
    assert Seal.objects.get().status == SealStatus.ACTIVE


# --- Holders ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_departments_administrator_appoints_and_removes_holders(
    role: str, role_users: dict[str, Any], department: Department, seal: Seal
) -> None:
    candidate = staff_of(department, "candidate")
    user = role_users[role]

    if role == "department_admin":
        seal_holder_appoint(acting_user=user, department=department, user=candidate)
        seal_holder_remove(acting_user=user, department=department, user=candidate)
        holding = SealHolder.objects.get()
        assert (holding.appointed_by, holding.removed_by) == (user, user)
        assert [r.action for r in AuditRecord.objects.filter(action__startswith="seals.holder")] == [
            "seals.holder_appointed",
            "seals.holder_removed",
        ]
        return
    with pytest.raises(PermissionDenied):
        seal_holder_appoint(acting_user=user, department=department, user=candidate)
    assert not SealHolder.objects.exists()


def test_a_holder_must_be_staff_of_the_department_and_appointed_once(
    role_users: dict[str, Any], department: Department, holder: User
) -> None:
    admin = role_users["department_admin"]
    outsider = staff_of(DepartmentFactory.create(code="OTHER"), "outsider")

    for person in (role_users["resident"], role_users["leader"], outsider):
        with pytest.raises(RuleViolation) as refused:
            seal_holder_appoint(acting_user=admin, department=department, user=person)
        assert refused.value.code == "holder_not_staff"
    with pytest.raises(RuleViolation) as twice:
        seal_holder_appoint(acting_user=admin, department=department, user=holder)
    assert (twice.value.code, twice.value.status) == ("holder_exists", 409)
    assert SealHolder.objects.count() == 1


def test_removing_someone_who_holds_nothing_is_404(
    role_users: dict[str, Any], department: Department
) -> None:
    with pytest.raises(RuleViolation) as refused:
        seal_holder_remove(
            acting_user=role_users["department_admin"],
            department=department,
            user=role_users["department_handler"],
        )
    assert (refused.value.code, refused.value.status) == ("holder_not_found", 404)


# --- The engine's seal on a decision ----------------------------------------------------------------------


@pytest.fixture
def application(role_users: dict[str, Any], department: Department) -> Application:
    published_service("SEALSVC", department=department, materials=[])
    created, _ = application_submit(
        acting_user=role_users["resident"],
        service_code="SEALSVC",
        form={"company_name": "福州测试有限公司", "employees": 3},
        channel="web",
    )
    return created


def test_the_engine_seals_a_decision_with_the_deciding_departments_seal(
    application: Application, seal: Seal
) -> None:
    signature = seal_sign_for_decision(application, PAYLOAD, purpose="准予许可决定书")

    assert selectors.seal_verify(seal, PAYLOAD, signature.value)
    (record,) = _audit("seals.signed")
    assert (record.actor_id, record.actor_username) == (None, "back-office")
    assert record.details["tracking_no"] == application.tracking_no
    assert record.details["purpose"] == "准予许可决定书"
    assert record.details["digest_sm3"] == sm3_hex(PAYLOAD)


def test_the_engine_cannot_use_the_seal_of_a_department_that_does_not_act_on_the_case(
    application: Application, seal: Seal
) -> None:
    other = DepartmentFactory.create(code="OTHER")
    seal_rotate(acting_user=None, department=other)

    with pytest.raises(RuleViolation) as refused:
        seal_sign_for_decision(application, PAYLOAD, department_code="OTHER")
    assert refused.value.code == "department_not_deciding"
    assert _audit("seals.signed") == []


def test_the_engine_needs_an_active_seal(application: Application, seal: Seal) -> None:
    seal_revoke(acting_user=None, seal=seal, reason="停用")

    with pytest.raises(RuleViolation) as refused:
        seal_sign_for_decision(application, PAYLOAD)
    assert refused.value.code == "seal_missing"


def test_a_seal_revoked_after_the_caller_loaded_it_signs_nothing(holder: User, seal: Seal) -> None:
    stale = Seal.objects.get(pk=seal.pk)
    seal_revoke(acting_user=None, seal=seal, reason="并发注销")

    with pytest.raises(RuleViolation) as refused:
        seal_sign(holder, stale, PAYLOAD, purpose="stale object")
    assert refused.value.code == "seal_not_active"
    assert _audit("seals.signed") == []


def test_a_seal_whose_certificate_expired_signs_nothing(holder: User, seal: Seal) -> None:
    import datetime as dt

    Seal.objects.filter(pk=seal.pk).update(not_after=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    with pytest.raises(RuleViolation) as refused:
        seal_sign(holder, seal, PAYLOAD, purpose="expired")
    assert (refused.value.code, refused.value.status) == ("seal_expired", 409)
