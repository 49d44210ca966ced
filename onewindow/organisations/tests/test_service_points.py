"""Service points: service halls (政务服务大厅) and village/community service points (便民服务站),
where people are served in person; the public finds the open ones."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.organisations import selectors
from onewindow.organisations.actions import ServicePointDetails, service_point_create, service_point_update
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Division, ServicePoint
from onewindow.organisations.tests.factories import ServicePointFactory
from onewindow.organisations.tests.helpers import denial_count, last_audit, violation

pytestmark = pytest.mark.django_db


def details(**overrides: Any) -> ServicePointDetails:
    values: dict[str, Any] = {
        "name": "福州市市民服务中心",
        "kind": "hall",
        "division_code": "350100",
        "address": "福州市鼓楼区演示路 1 号",
        "opening_hours": "周一至周五 9:00–17:00",
        "phone": "0591-12345678",
        **overrides,
    }
    return ServicePointDetails(**values)


def test_system_admin_opens_a_hall_and_a_village_point(role_users: dict[str, Any], village: Division) -> None:
    admin = role_users["system_admin"]

    hall = service_point_create(code="sp-hall", details=details(), acting_user=admin)
    point = service_point_create(
        code="SP-VILLAGE",
        details=details(name="南门社区服务站", kind="community", division_code="350102001001", phone=""),
        acting_user=admin,
    )

    assert (hall.code, hall.kind, hall.division.code, hall.phone) == (
        "SP-HALL",
        "hall",
        "350100",
        "0591-12345678",
    )
    assert (point.kind, point.division) == ("community", village)
    record = last_audit()
    assert (record.action, record.object_id) == ("service_point.created", "SP-VILLAGE")
    assert record.details == {
        "name": "南门社区服务站",
        "kind": "community",
        "division": "350102001001",
        "address": "福州市鼓楼区演示路 1 号",
        "opening_hours": "周一至周五 9:00–17:00",
        "phone": "",
    }


@pytest.mark.parametrize(
    ("code", "overrides", "field", "expected"),
    [
        (
            "SP 1",
            {},
            "code",
            (
                "service_point_code_format",
                "服务网点代码应为 2–30 位大写字母、数字、连字符或下划线。",
                "A service point code has 2–30 capital letters, digits, hyphens or underscores.",
            ),
        ),
        (
            "SP-2",
            {"kind": "kiosk"},
            "kind",
            ("service_point_kind", "服务网点类型“kiosk”无效。", "Service point kind 'kiosk' is not valid."),
        ),
        (
            "SP-3",
            {"kind": "village", "division_code": "350102"},
            "division_code",
            (
                "service_point_division_level",
                "村（社区）便民服务站须设在乡镇（街道）或村（社区）一级的行政区划。",
                "A village or community service point must be in a township or a village division.",
            ),
        ),
        (
            "SP-4",
            {"phone": "call us"},
            "phone",
            (
                "phone_format",
                "电话号码只能包含数字、空格、连字符、括号和 +，长度 5–30 位。",
                "A phone number has 5–30 digits, spaces, hyphens, brackets or +.",
            ),
        ),
        ("SP-5", {"name": ""}, "name", ("name_required", "请填写名称。", "Enter the name.")),
        (
            "HALL-1",
            {},
            "code",
            (
                "service_point_code_taken",
                "服务网点代码 HALL-1 已被使用。",
                "Service point code HALL-1 is already in use.",
            ),
        ),
    ],
)
def test_service_point_rules(
    code: str,
    overrides: dict[str, Any],
    field: str,
    expected: tuple[str, str, str],
    hall: ServicePoint,
    role_users: dict[str, Any],
) -> None:
    before = list(ServicePoint.objects.values_list("code", flat=True))
    records = AuditRecord.objects.count()

    with pytest.raises(RuleViolation) as refused:
        service_point_create(code=code, details=details(**overrides), acting_user=role_users["system_admin"])

    assert violation(refused.value) == expected
    assert refused.value.field == field
    assert list(ServicePoint.objects.values_list("code", flat=True)) == before
    assert AuditRecord.objects.count() == records


def test_update_closes_a_point_and_audits_the_change(hall: ServicePoint, role_users: dict[str, Any]) -> None:
    updated = service_point_update(
        service_point=hall,
        details=details(
            name="市民服务中心", division_code=hall.division.code, address="", opening_hours="", phone=""
        ),
        is_active=False,
        acting_user=role_users["system_admin"],
    )

    assert updated.is_active is False
    assert last_audit().details == {"changed": {"is_active": [True, False]}}


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "system_admin"])
def test_only_system_admins_manage_service_points(
    role: str, hall: ServicePoint, role_users: dict[str, Any]
) -> None:
    with pytest.raises(PermissionDenied):
        service_point_create(code="SP-NEW", details=details(), acting_user=role_users[role])
    with pytest.raises(PermissionDenied):
        service_point_update(
            service_point=hall, details=details(), is_active=False, acting_user=role_users[role]
        )

    hall.refresh_from_db()
    assert (hall.name, hall.is_active) == ("市民服务中心", True)
    assert list(ServicePoint.objects.values_list("code", flat=True)) == ["HALL-1"]
    assert denial_count() == 2


def test_public_list_filters_by_division_subtree_and_kind(
    hall: ServicePoint, village_point: ServicePoint
) -> None:
    ServicePointFactory.create(code="CLOSED", is_active=False)
    ServicePointFactory.create(code="XM", division=Division.objects.get(code="350200"))

    def codes(**filters: Any) -> list[str]:
        return list(selectors.service_points_public(**filters).values_list("code", flat=True))

    assert codes() == ["HALL-1", "VP-1", "XM"]
    assert codes(division_code="350000") == ["HALL-1", "VP-1", "XM"]  # the province: everything in Fujian
    assert codes(division_code="350100") == ["HALL-1", "VP-1"]  # Fuzhou and everything under it
    assert codes(division_code="350102") == ["VP-1"]
    assert codes(division_code="350102001000") == ["VP-1"]  # the township
    assert codes(division_code="350102001001") == ["VP-1"]
    assert codes(kind="community") == ["VP-1"]
    assert codes(kind="nonsense") == []


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("350000", "35"),
        ("350100", "3501"),
        ("350102", "350102"),
        ("350102001000", "350102001"),
        ("350102001001", "350102001001"),
    ],
)
def test_division_prefix(code: str, prefix: str) -> None:
    assert selectors.division_prefix(code) == prefix
