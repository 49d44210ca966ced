"""The demo loader: idempotent, valid identifiers, a truthful accounts file, working TOTP secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import struct
import time
from base64 import b32decode
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import user_roles
from onewindow.accounts.roles import SEPARATED_ROLES, Role
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import (
    parse_id_number,
    validate_credit_code,
    validate_division_code,
    validate_government_credit_code,
)
from onewindow.demo import data
from onewindow.demo.actions import DemoRefusedError, demo_load
from onewindow.organisations.models import Department, Division, ServicePoint

pytestmark = pytest.mark.django_db

EXPECTED_USERNAMES = [
    "resident1",
    "founder1",
    "enterprise1",
    "clerk_hall",
    "village_agent1",
    "amr_handler",
    "qi_handler",
    "tax_handler",
    "psb_handler",
    "hrss_handler",
    "health_handler",
    "civil_handler",
    "amr_admin",
    "psb_admin",
    "tax_admin",
    "leader1",
    "secofficer1",
    "auditor1",
    "sysadmin1",
    "supervisor1",
    "vendor1",
]


def rfc6238_code(secret_base32: str, at: float) -> str:
    """RFC 6238 TOTP (HMAC-SHA-1, 30 s, 6 digits), written out here to check the loader independently."""
    key = b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def counts() -> dict[str, int]:
    return {
        "divisions": Division.objects.count(),
        "departments": Department.objects.count(),
        "service_points": ServicePoint.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "totp_devices": TOTPDevice.objects.count(),
        "audit_records": AuditRecord.objects.count(),
    }


def read_entries(path: Path) -> list[dict[str, Any]]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    return entries


@pytest.fixture
def accounts_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "demo-accounts.json"


def test_loading_twice_changes_nothing(accounts_path: Path) -> None:
    # Given the demo data loaded once
    first = demo_load(accounts_path=accounts_path)
    after_first = counts()
    file_after_first = accounts_path.read_text(encoding="utf-8")

    # When it is loaded again
    second = demo_load(accounts_path=accounts_path)

    # Then nothing was created or updated, no audit record was added, and the file is byte-for-byte the same
    assert first.changed is True
    assert (second.created, second.updated, second.file_written, second.changed) == (0, 0, False, False)
    assert counts() == after_first
    assert accounts_path.read_text(encoding="utf-8") == file_after_first
    assert Department.objects.filter(code__in=[d.code for d in data.DEPARTMENTS]).count() == 7
    assert User.objects.filter(username__in=EXPECTED_USERNAMES, is_demo=True).count() == 21
    assert ServicePoint.objects.filter(code__in=[p.code for p in data.SERVICE_POINTS]).count() == 3


def test_first_load_is_audited_once_as_a_whole(accounts_path: Path) -> None:
    # Given an empty platform
    # When the demo data is loaded
    result = demo_load(accounts_path=accounts_path)

    # Then one demo.loaded record sums it up, and every account created is audited by the accounts actions
    loaded = AuditRecord.objects.get(action="demo.loaded")
    assert loaded.actor_username == "demo_load"
    assert loaded.details == {"created": result.created, "updated": result.updated, "accounts": 21}
    assert AuditRecord.objects.filter(action="user.created").count() == 21
    assert AuditRecord.objects.filter(action="membership.granted").count() == 18


def test_accounts_file_lists_every_account_with_working_passwords(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then the file lists every account in order, readable only by its owner (it holds credentials)
    entries = read_entries(accounts_path)
    assert [entry["username"] for entry in entries] == EXPECTED_USERNAMES
    assert stat.S_IMODE(accounts_path.stat().st_mode) == 0o600
    for entry in entries:
        assert set(entry) == {"username", "password", "totp_secret", "kind", "roles", "id_number"}
        user = User.objects.get(username=entry["username"])
        assert user.is_demo is True
        assert user.kind == entry["kind"]
        assert user.check_password(entry["password"]) is True
        # MLPS 2.0 (GB/T 22239-2019 §8.1.4.1 a): even demo passwords satisfy the complexity policy
        validate_password(entry["password"], user)
        assert entry["id_number"] == user.id_number
        assert (entry["totp_secret"] is None) == (entry["kind"] != "staff")


def test_accounts_file_roles_are_the_roles_the_platform_grants(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then for every account, the roles in the file are exactly the roles the permission system sees
    for entry in read_entries(accounts_path):
        user = User.objects.get(username=entry["username"])
        granted = sorted((grant.role.value, grant.department_code) for grant in user_roles(user))
        listed = sorted((role["role"], role["department_code"]) for role in entry["roles"])
        assert granted == listed, entry["username"]
    by_name = {entry["username"]: entry["roles"] for entry in read_entries(accounts_path)}
    assert by_name["amr_handler"] == [{"role": "department_handler", "department_code": "AMR"}]
    assert by_name["tax_admin"] == [{"role": "department_admin", "department_code": "TAX"}]
    assert by_name["enterprise1"] == [{"role": "enterprise_representative", "department_code": None}]
    assert by_name["sysadmin1"] == [{"role": "system_admin", "department_code": None}]


def test_one_account_per_role_and_no_combined_separated_duties(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then every role of the platform has a demo account, and (MLPS 2.0 §8.1.4.2, 三员分立) no account holds
    # two of system administrator, security officer and auditor
    roles_held: set[str] = set()
    for user in User.objects.filter(is_demo=True):
        roles = {grant.role for grant in user_roles(user)}
        assert len(roles & SEPARATED_ROLES) <= 1
        roles_held |= {role.value for role in roles}
    assert roles_held == {role.value for role in Role}


def test_totp_secret_in_the_file_gives_codes_the_device_accepts(accounts_path: Path) -> None:
    # Given the demo data loaded
    demo_load(accounts_path=accounts_path)
    entry = next(e for e in read_entries(accounts_path) if e["username"] == "psb_handler")

    # When a code is computed from the base32 secret as an authenticator app would (RFC 6238)
    code = rfc6238_code(entry["totp_secret"], time.time())

    # Then the staff account's confirmed device accepts it
    device = TOTPDevice.objects.get(user__username="psb_handler", confirmed=True)
    assert device.verify_token(code) is True


def test_reloading_keeps_totp_devices_and_passwords(accounts_path: Path) -> None:
    # Given the demo data loaded once
    demo_load(accounts_path=accounts_path)
    before = {e["username"]: (e["password"], e["totp_secret"]) for e in read_entries(accounts_path)}
    device_ids = set(TOTPDevice.objects.values_list("pk", flat=True))

    # When it is loaded again
    demo_load(accounts_path=accounts_path)

    # Then the same devices and secrets remain (authenticator apps keep working) and the passwords still work
    after = {e["username"]: (e["password"], e["totp_secret"]) for e in read_entries(accounts_path)}
    assert after == before
    assert set(TOTPDevice.objects.values_list("pk", flat=True)) == device_ids


def test_lost_accounts_file_gets_new_passwords_but_keeps_totp_secrets(accounts_path: Path) -> None:
    # Given the demo data loaded, then the accounts file deleted
    demo_load(accounts_path=accounts_path)
    before = {e["username"]: e for e in read_entries(accounts_path)}
    accounts_path.unlink()

    # When the demo data is loaded again
    result = demo_load(accounts_path=accounts_path)

    # Then every account gets a new password, recorded in a new file, and the TOTP secrets are unchanged
    after = {e["username"]: e for e in read_entries(accounts_path)}
    assert (result.created, result.updated) == (0, 21)
    for username, entry in after.items():
        user = User.objects.get(username=username)
        assert entry["password"] != before[username]["password"]
        assert user.check_password(entry["password"]) is True
        assert user.check_password(before[username]["password"]) is False
        assert entry["totp_secret"] == before[username]["totp_secret"]


def test_edited_demo_objects_are_put_back(accounts_path: Path) -> None:
    # Given the demo data loaded, then a department renamed and a demo account deactivated by hand
    demo_load(accounts_path=accounts_path)
    Department.objects.filter(code="QI").update(name="改过的名字")
    User.objects.filter(username="leader1").update(is_active=False)

    # When the demo data is loaded again
    result = demo_load(accounts_path=accounts_path)

    # Then exactly those two objects are restored
    assert (result.created, result.updated) == (0, 2)
    assert Department.objects.get(code="QI").name == "福州市质量技术监督局"
    assert User.objects.get(username="leader1").is_active is True


def test_department_credit_codes_are_valid_government_codes(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then each department's code passes GB 32100-2015 (with the GB 11714-1997 organisation-code check)
    # and starts with 11 (机构编制 / 机关), registered in the demo city
    departments = {d.code: d for d in Department.objects.filter(code__in=[d.code for d in data.DEPARTMENTS])}
    assert sorted(departments) == ["AMR", "CIVIL", "HEALTH", "HRSS", "PSB", "QI", "TAX"]
    for department in departments.values():
        assert validate_government_credit_code(department.credit_code) == department.credit_code
        assert department.credit_code[2:8] == "350100"
        assert department.division.code == "350100"
    assert departments["PSB"].name == "福州市公安局"
    assert departments["AMR"].name == "福州市市场监督管理局"
    assert departments["QI"].name == "福州市质量技术监督局"
    assert departments["TAX"].name == "福州市税务局"
    assert departments["HRSS"].name == "福州市人力资源和社会保障局"
    assert departments["HEALTH"].name == "福州市卫生健康委员会"
    assert departments["CIVIL"].name == "福州市民政局"


def test_people_have_valid_identifiers_from_the_demo_county(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then every ID number passes GB 11643-1999 and carries the address code of 鼓楼区 (350102)
    people = User.objects.filter(is_demo=True, id_number__isnull=False).order_by("username")
    assert [user.username for user in people] == ["enterprise1", "founder1", "resident1"]
    for user in people:
        assert user.id_number is not None
        assert parse_id_number(user.id_number).division_code == "350102"
        assert user.real_name_verified is True
    # and the enterprise representative's enterprise code passes GB 32100-2015
    enterprise1 = User.objects.get(username="enterprise1")
    assert enterprise1.kind == "enterprise"
    assert validate_credit_code(enterprise1.enterprise_credit_code) == "91350100M000100Y43"


def test_divisions_form_a_tree_down_to_villages(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then the two villages/communities have 12-digit statistical codes under 鼓楼区, 福州市 (GB/T 2260)
    county = Division.objects.get(code="350102")
    assert (county.name, county.level, county.parent and county.parent.code) == ("鼓楼区", "county", "350100")
    villages = Division.objects.filter(code__in=["350102001001", "350102100201"]).order_by("code")
    assert [v.level for v in villages] == ["village", "village"]
    for village in villages:
        assert validate_division_code(village.code) == village.code
        assert village.parent is not None
        assert village.parent.parent_id == county.pk


def test_service_points_and_where_clerks_work(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    demo_load(accounts_path=accounts_path)

    # Then there is one service hall and two village/community points, and the clerk and the village agent
    # work at the hall and at the village point
    points = ServicePoint.objects.filter(code__in=[p.code for p in data.SERVICE_POINTS])
    assert sorted(points.values_list("kind", flat=True)) == ["community", "hall", "village"]
    clerk = Membership.objects.get(user__username="clerk_hall")
    assert (clerk.role, clerk.service_point and clerk.service_point.kind) == ("window_clerk", "hall")
    agent = Membership.objects.get(user__username="village_agent1")
    assert (agent.role, agent.service_point and agent.service_point.kind) == ("village_agent", "village")


def test_vendor_staff_are_time_bound_and_scoped(accounts_path: Path) -> None:
    # Given / When the demo data is loaded
    before = timezone.now()
    demo_load(accounts_path=accounts_path)

    # Then the vendor's role runs 90 days and covers only the OW-PORTAL system
    membership = Membership.objects.get(user__username="vendor1")
    assert membership.role == "vendor_staff"
    assert membership.system_codes == ["OW-PORTAL"]
    assert membership.valid_until is not None
    assert before + timedelta(days=90) <= membership.valid_until <= timezone.now() + timedelta(days=90)

    # and a reload keeps that period, while an expired one is renewed
    valid_until = membership.valid_until
    demo_load(accounts_path=accounts_path)
    assert Membership.objects.get(pk=membership.pk).valid_until == valid_until
    Membership.objects.filter(pk=membership.pk).update(valid_until=timezone.now() - timedelta(days=1))
    demo_load(accounts_path=accounts_path)
    renewed = Membership.objects.get(pk=membership.pk).valid_until
    assert renewed is not None
    assert renewed > timezone.now() + timedelta(days=89)


@override_settings(PRODUCTION=True)
def test_production_refuses_demo_data(accounts_path: Path) -> None:
    # Given a production platform
    before = counts()

    # When the demo data is loaded
    # Then it is refused and nothing changes: demo accounts have known passwords
    with pytest.raises(DemoRefusedError):
        demo_load(accounts_path=accounts_path)
    assert counts() == before
    assert not accounts_path.exists()
