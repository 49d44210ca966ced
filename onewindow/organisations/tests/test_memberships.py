"""Staff memberships: roles per department or service point.

MLPS 2.0 (GB/T 22239-2019) §8.1.4.2: least privilege and separation of the system administrator, security
officer and auditor (三员分立); §8.1.4.3: every grant and revocation audited. Vendor staff are time-bound and
scoped to the information systems they operate (outsourcing supervision).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import permutations
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import SEPARATED_ROLES, Role
from onewindow.audit.models import AuditRecord
from onewindow.organisations import selectors
from onewindow.organisations.actions import ROLE_NAMES, membership_grant, membership_revoke
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department, ServicePoint
from onewindow.organisations.tests.helpers import denial_count, last_audit, violation

pytestmark = pytest.mark.django_db


def state() -> list[tuple[int, str, int | None, int | None]]:
    return list(
        Membership.objects.order_by("pk").values_list("user_id", "role", "department_id", "service_point_id")
    )


def test_system_admin_grants_a_department_role_and_it_is_audited(
    role_users: dict[str, Any], new_staff: Callable[..., User]
) -> None:
    # given
    user = new_staff()
    department = Department.objects.get(code="TDEPT")

    # when
    membership = membership_grant(
        user=user, role="department_handler", department=department, acting_user=role_users["system_admin"]
    )

    # then
    assert (membership.role, membership.department, membership.service_point) == (
        "department_handler",
        department,
        None,
    )
    record = last_audit()
    assert (record.action, record.object_type, record.object_id, record.department_code) == (
        "membership.granted",
        "membership",
        str(membership.pk),
        "TDEPT",
    )
    assert record.details == {
        "username": "newstaff",
        "role": "department_handler",
        "department": "TDEPT",
        "service_point": None,
        "valid_from": None,
        "valid_until": None,
        "system_codes": [],
    }


def test_window_clerks_and_village_agents_work_at_points_of_their_kind(
    new_staff: Callable[..., User], hall: ServicePoint, village_point: ServicePoint
) -> None:
    clerk = membership_grant(
        user=new_staff("clerk"), role=Role.WINDOW_CLERK, service_point=hall, acting_user=None
    )
    agent = membership_grant(
        user=new_staff("agent"), role=Role.VILLAGE_AGENT, service_point=village_point, acting_user=None
    )
    assert (clerk.service_point, agent.service_point) == (hall, village_point)


def test_vendor_staff_are_time_bound_and_scoped_to_systems(new_staff: Callable[..., User]) -> None:
    until = timezone.now() + timedelta(days=90)
    membership = membership_grant(
        user=new_staff("vendor"),
        role=Role.VENDOR_STAFF,
        valid_until=until,
        system_codes=[" OW-PORTAL ", "OW-PORTAL", "", "OW-EXCHANGE"],
        acting_user=None,
    )
    assert (membership.valid_until, membership.system_codes) == (until, ["OW-PORTAL", "OW-EXCHANGE"])


def test_a_department_admin_staffs_their_own_department_with_handlers(
    role_users: dict[str, Any], new_staff: Callable[..., User]
) -> None:
    membership = membership_grant(
        user=new_staff(),
        role=Role.DEPARTMENT_HANDLER,
        department=Department.objects.get(code="TDEPT"),
        acting_user=role_users["department_admin"],
    )
    assert last_audit().actor_username == "t_department_admin"
    membership_revoke(membership=membership, acting_user=role_users["department_admin"])
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize(
    ("role", "department_code"),
    [
        (Role.DEPARTMENT_HANDLER, "OTHER"),  # another department
        (Role.DEPARTMENT_ADMIN, "TDEPT"),  # a role above handler, even in their own department
        (Role.LEADER, "TDEPT"),
        (Role.SYSTEM_ADMIN, None),
    ],
)
def test_a_department_admin_may_grant_nothing_else(
    role: Role,
    department_code: str | None,
    role_users: dict[str, Any],
    new_staff: Callable[..., User],
    other_department: Department,
) -> None:
    user = new_staff()
    before = state()

    with pytest.raises(PermissionDenied):
        membership_grant(
            user=user,
            role=role,
            department=Department.objects.get(code=department_code) if department_code else None,
            acting_user=role_users["department_admin"],
        )

    assert state() == before
    assert denial_count() == 1


@pytest.mark.parametrize(
    "role", [role for role in ALL_ROLES if role not in {"system_admin", "department_admin"}]
)
def test_other_roles_may_neither_grant_nor_revoke(
    role: str, role_users: dict[str, Any], new_staff: Callable[..., User], handler_membership: Membership
) -> None:
    before = state()

    with pytest.raises(PermissionDenied):
        membership_grant(
            user=new_staff(),
            role=Role.DEPARTMENT_HANDLER,
            department=Department.objects.get(code="TDEPT"),
            acting_user=role_users[role],
        )
    with pytest.raises(PermissionDenied):
        membership_revoke(membership=handler_membership, acting_user=role_users[role])

    assert state() == before
    assert not AuditRecord.objects.filter(action__in=["membership.granted", "membership.revoked"]).exists()
    assert denial_count() == 2


def grant_refused(acting_user: User | None = None, **kwargs: Any) -> RuleViolation:
    before = state()
    records = AuditRecord.objects.count()
    with pytest.raises(RuleViolation) as refused:
        membership_grant(acting_user=acting_user, **kwargs)
    assert state() == before
    assert AuditRecord.objects.count() == records
    return refused.value


def test_resident_and_enterprise_accounts_hold_no_staff_role(role_users: dict[str, Any]) -> None:
    for role, kind_name in (("resident", "resident"), ("enterprise_representative", "enterprise")):
        error = grant_refused(user=role_users[role], role=Role.LEADER)
        username = f"t_{role}"
        assert role_users[role].kind == kind_name
        assert violation(error) == (
            "membership_not_staff",
            f"账户 {username} 是居民或企业账户，不能担任工作人员角色。",
            f"Account {username} is a resident or enterprise account and cannot hold staff roles.",
        )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"role": "janitor"},
            ("membership_role_unknown", "角色“janitor”不存在。", "There is no role 'janitor'."),
        ),
        (
            {"role": Role.RESIDENT},
            (
                "membership_role_from_kind",
                "“居民”角色来自账户类型，不能授予。",
                "The resident role comes from the account's kind and cannot be granted.",
            ),
        ),
        (
            {"role": Role.DEPARTMENT_ADMIN},
            (
                "membership_department_required",
                "部门角色（部门经办人、部门管理员）须指定部门。",
                "Department roles (department handler, department administrator) need a department.",
            ),
        ),
        (
            {"role": Role.AUDITOR, "department": "TDEPT"},
            (
                "membership_department_not_allowed",
                "“安全审计员”角色不属于某个部门，不能指定部门。",
                "The auditor role is not held in a department; give no department.",
            ),
        ),
        (
            {"role": Role.WINDOW_CLERK},
            (
                "membership_service_point_required",
                "窗口人员和村（社区）代办员须指定服务网点。",
                "Window clerks and village agents need a service point.",
            ),
        ),
        (
            {"role": Role.WINDOW_CLERK, "service_point": "VP-1"},
            (
                "membership_service_point_kind",
                "窗口人员须在政务服务大厅，村（社区）代办员须在村（社区）便民服务站。",
                "Window clerks work at a service hall; "
                "village agents at a village or community service point.",
            ),
        ),
        (
            {"role": Role.VILLAGE_AGENT, "service_point": "HALL-1"},
            (
                "membership_service_point_kind",
                "窗口人员须在政务服务大厅，村（社区）代办员须在村（社区）便民服务站。",
                "Window clerks work at a service hall; "
                "village agents at a village or community service point.",
            ),
        ),
        (
            {"role": Role.LEADER, "service_point": "HALL-1"},
            (
                "membership_service_point_not_allowed",
                "“领导”角色不在服务网点工作，不能指定服务网点。",
                "The leader role does not work at a service point; give no service point.",
            ),
        ),
        (
            {"role": Role.VENDOR_STAFF, "system_codes": ["OW-PORTAL"]},
            (
                "membership_vendor_valid_until",
                "外包服务人员须设定有效期截止时间。",
                "Vendor staff need a valid-until date.",
            ),
        ),
        (
            {"role": Role.VENDOR_STAFF, "valid_until": "+30", "system_codes": [" "]},
            (
                "membership_vendor_systems",
                "外包服务人员须列出所运维的信息系统代码。",
                "Vendor staff need the codes of the information systems they operate.",
            ),
        ),
        (
            {"role": Role.VENDOR_STAFF, "valid_until": "+30", "system_codes": ["OW PORTAL"]},
            (
                "membership_system_code_format",
                "信息系统代码“OW PORTAL”无效：只能是 1–50 位字母、数字、点、连字符或下划线。",
                "System code 'OW PORTAL' is not valid: "
                "use 1–50 letters, digits, dots, hyphens or underscores.",
            ),
        ),
        (
            {"role": Role.LEADER, "system_codes": ["OW-PORTAL"]},
            (
                "membership_system_codes_not_allowed",
                "只有外包服务人员按信息系统授权，其他角色不能指定信息系统。",
                "Only vendor staff are scoped to information systems; give none for other roles.",
            ),
        ),
        (
            {"role": Role.VENDOR_STAFF, "valid_until": "-1", "system_codes": ["OW-PORTAL"]},
            (
                "membership_validity",
                "有效期截止时间须晚于当前时间和开始时间。",
                "The valid-until date must be later than now and than the valid-from date.",
            ),
        ),
        (
            {"role": Role.LEADER, "valid_from": "+10", "valid_until": "+5"},
            (
                "membership_validity",
                "有效期截止时间须晚于当前时间和开始时间。",
                "The valid-until date must be later than now and than the valid-from date.",
            ),
        ),
    ],
)
def test_membership_rules(
    kwargs: dict[str, Any],
    expected: tuple[str, str, str],
    role_users: dict[str, Any],
    new_staff: Callable[..., User],
    hall: ServicePoint,
    village_point: ServicePoint,
) -> None:
    now = timezone.now()
    resolved: dict[str, Any] = dict(kwargs)
    for key in ("valid_from", "valid_until"):
        if key in resolved:
            resolved[key] = now + timedelta(days=int(resolved[key]))
    if "department" in resolved:
        resolved["department"] = Department.objects.get(code=resolved["department"])
    if "service_point" in resolved:
        resolved["service_point"] = ServicePoint.objects.get(code=resolved["service_point"])

    error = grant_refused(user=new_staff(), acting_user=role_users["system_admin"], **resolved)

    assert violation(error) == expected


def test_closed_departments_and_points_and_deactivated_accounts_are_refused(
    role_users: dict[str, Any], new_staff: Callable[..., User], hall: ServicePoint
) -> None:
    Department.objects.filter(code="TDEPT").update(is_active=False)
    ServicePoint.objects.filter(pk=hall.pk).update(is_active=False)
    hall.refresh_from_db()
    user = new_staff()

    assert grant_refused(
        user=user, role=Role.DEPARTMENT_HANDLER, department=Department.objects.get(code="TDEPT")
    ).code == ("membership_department_inactive")
    assert grant_refused(user=user, role=Role.WINDOW_CLERK, service_point=hall).message_en == (
        "Service point HALL-1 is closed."
    )
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    assert violation(grant_refused(user=user, role=Role.LEADER)) == (
        "membership_user_inactive",
        "账户 newstaff 已停用。",
        "Account newstaff is deactivated.",
    )


@pytest.mark.parametrize(("held", "requested"), list(permutations(sorted(SEPARATED_ROLES), 2)))
def test_separation_of_duties(held: Role, requested: Role, new_staff: Callable[..., User]) -> None:
    # given: an account holding one of the three separated roles
    user = new_staff()
    membership_grant(user=user, role=held, acting_user=None)

    # when / then: a second one is refused, whatever the order
    error = grant_refused(user=user, role=requested)
    held_zh, held_en = ROLE_NAMES[held]
    zh, en = ROLE_NAMES[requested]
    assert violation(error) == (
        "membership_separation_of_duties",
        f"账户 newstaff 已担任{held_zh}，不能再担任{zh}："
        "系统管理员、安全保密管理员和安全审计员须由不同账户担任（三员分立）。",
        f"Account newstaff already holds the {held_en} role and cannot also be {en}: "
        "the system administrator, security officer and auditor must be different accounts.",
    )
    assert error.status == 409


def test_a_separated_role_combines_with_unseparated_ones(new_staff: Callable[..., User]) -> None:
    user = new_staff()
    membership_grant(user=user, role=Role.SYSTEM_ADMIN, acting_user=None)
    membership_grant(user=user, role=Role.LEADER, acting_user=None)
    assert sorted(Membership.objects.filter(user=user).values_list("role", flat=True)) == [
        "leader",
        "system_admin",
    ]


def test_the_same_role_twice_is_refused(new_staff: Callable[..., User], hall: ServicePoint) -> None:
    user = new_staff()
    membership_grant(user=user, role=Role.WINDOW_CLERK, service_point=hall, acting_user=None)
    assert violation(grant_refused(user=user, role=Role.WINDOW_CLERK, service_point=hall)) == (
        "membership_exists",
        "账户 newstaff 已担任此窗口人员角色。",
        "Account newstaff already holds this window clerk role.",
    )


# --- revoke ---------------------------------------------------------------------------------------------


def test_system_admin_revokes_and_the_record_keeps_what_it_was(
    role_users: dict[str, Any], handler_membership: Membership
) -> None:
    membership_id = handler_membership.pk

    membership_revoke(membership=handler_membership, acting_user=role_users["system_admin"])

    assert not Membership.objects.filter(pk=membership_id).exists()
    record = last_audit()
    assert (record.action, record.object_id, record.department_code) == (
        "membership.revoked",
        str(membership_id),
        "TDEPT",
    )
    assert record.details["username"] == "handler2"
    assert record.details["role"] == "department_handler"


def test_a_department_admin_cannot_revoke_other_departments_or_other_roles(
    role_users: dict[str, Any], new_staff: Callable[..., User], other_department: Department
) -> None:
    elsewhere = Membership.objects.create(
        user=new_staff("elsewhere"), role=Role.DEPARTMENT_HANDLER, department=other_department
    )
    admin_membership = Membership.objects.get(user=role_users["department_admin"])
    before = state()

    for membership in (elsewhere, admin_membership):
        with pytest.raises(PermissionDenied):
            membership_revoke(membership=membership, acting_user=role_users["department_admin"])

    assert state() == before
    assert denial_count() == 2


def test_the_last_system_admin_cannot_be_revoked(
    role_users: dict[str, Any], new_staff: Callable[..., User]
) -> None:
    only = Membership.objects.get(role=Role.SYSTEM_ADMIN)

    with pytest.raises(RuleViolation) as refused:
        membership_revoke(membership=only, acting_user=role_users["system_admin"])

    assert violation(refused.value) == (
        "membership_last_system_admin",
        "不能撤销最后一个系统管理员。",
        "The last system administrator cannot be revoked.",
    )
    assert Membership.objects.filter(pk=only.pk).exists()

    # given a second administrator, the first may go
    membership_grant(user=new_staff(), role=Role.SYSTEM_ADMIN, acting_user=None)
    membership_revoke(membership=only, acting_user=role_users["system_admin"])
    assert not Membership.objects.filter(pk=only.pk).exists()


# --- selectors ------------------------------------------------------------------------------------------


def test_membership_lists_and_lookups_follow_the_same_rules(
    role_users: dict[str, Any], handler_membership: Membership, other_department: Department
) -> None:
    department = Department.objects.get(code="TDEPT")
    listed = selectors.memberships_of_department(role_users["department_admin"], department)
    assert [(m.user.username, m.role) for m in listed] == [
        ("t_department_admin", "department_admin"),
        ("handler2", "department_handler"),
        ("t_department_handler", "department_handler"),
    ]
    assert (
        selectors.membership_for_user(role_users["department_admin"], handler_membership.pk)
        == handler_membership
    )
    with pytest.raises(PermissionDenied):
        selectors.memberships_of_department(role_users["department_admin"], other_department)
    with pytest.raises(PermissionDenied):
        selectors.membership_for_user(role_users["department_handler"], handler_membership.pk)
    assert selectors.staff_account_by_username(" handler2 ") == handler_membership.user
    assert selectors.staff_account_by_username("nobody") is None
