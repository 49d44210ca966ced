"""Organisations API: divisions and service points (public), the department directory, memberships.

Thin: parse, authorise (selectors and actions), call, return. Broken rules answer with the action's own
bilingual message and code (422, or 409 for conflicts).
"""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import Membership, User
from onewindow.accounts.schemas import ErrorOut
from onewindow.core.api_errors import ApiError
from onewindow.core.pagination import BoundedLimitOffsetPagination
from onewindow.organisations import actions, selectors
from onewindow.organisations.models import Department, Division, ServicePoint
from onewindow.organisations.schemas import (
    DepartmentIn,
    DepartmentOut,
    DivisionOut,
    MembershipIn,
    MembershipOut,
    ServicePointOut,
)

router = Router(tags=["organisations"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get(
    "/divisions",
    auth=None,
    response={200: list[DivisionOut], 404: ErrorOut},
    summary="List administrative divisions",
    description="The provinces, or the divisions directly under `parent` (a division code). Public.",
)
def division_list(request: HttpRequest, parent: str | None = None) -> QuerySet[Division]:
    parent_division = None
    if parent:
        try:
            parent_division = selectors.division_by_code(parent.strip())
        except Http404 as missing:
            raise ApiError(
                404, "division_not_found", f"行政区划 {parent} 不存在。", f"Division {parent} does not exist."
            ) from missing
    return selectors.division_children(parent_division)


@router.get(
    "/departments",
    auth=api_auth,
    response={200: list[DepartmentOut], **_ERRORS},
    summary="List departments",
    description="Active departments (system administrators also see inactive ones). Any signed-in user.",
)
@paginate(BoundedLimitOffsetPagination)
def department_list(request: HttpRequest) -> QuerySet[Department]:
    return selectors.departments_for_user(cast(User, request.user))


@router.get(
    "/departments/{code}",
    auth=api_auth,
    response={200: DepartmentOut, **_ERRORS},
    summary="Get a department",
)
def department_detail(request: HttpRequest, code: str) -> Department:
    return selectors.department_for_user(cast(User, request.user), code)


@router.post(
    "/departments",
    auth=api_auth,
    response={201: DepartmentOut, **_ERRORS},
    summary="Register a department",
    description=(
        "System administrators only. Errors: 422 `credit_code_*` (the unified social credit code is not a "
        "valid government agency's), `department_code_format`, `division_not_found`; 409 "
        "`department_code_taken`, `department_credit_code_taken`."
    ),
)
def department_create(request: HttpRequest, payload: DepartmentIn) -> Status[Department]:
    department = actions.department_create(
        code=payload.code,
        name=payload.name,
        name_en=payload.name_en,
        credit_code=payload.credit_code,
        division_code=payload.division_code,
        parent_code=payload.parent_code,
        acting_user=cast(User, request.user),
    )
    return Status(201, department)


@router.get(
    "/service-points",
    auth=None,
    response={200: list[ServicePointOut]},
    summary="Find service points",
    description=(
        "Open service halls and village/community service points. Public. `division` limits the list to "
        "a division and everything under it; `kind` is hall, village or community."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def service_point_list(
    request: HttpRequest, division: str | None = None, kind: str | None = None
) -> QuerySet[ServicePoint]:
    return selectors.service_points_public(division_code=division, kind=kind)


@router.post(
    "/memberships",
    auth=api_auth,
    response={201: MembershipOut, **_ERRORS},
    summary="Give a staff account a role",
    description=(
        "System administrators give any staff role; department administrators give the department_handler "
        "role in their own department only. Errors: 422 `membership_*` rules (department roles need a "
        "department, window clerks and village agents a service point of the right kind, vendor staff "
        "`valid_until` and `system_codes`, resident and enterprise accounts hold no staff role); 409 "
        "`membership_separation_of_duties` (system administrator, security officer and auditor are never "
        "the same account) and `membership_exists`."
    ),
)
def membership_create(request: HttpRequest, payload: MembershipIn) -> Status[Membership]:
    acting_user = cast(User, request.user)
    department = None
    if payload.department_code:
        department = selectors.department_by_code(payload.department_code)
        if department is None:
            raise ApiError(
                422,
                "department_not_found",
                f"部门 {payload.department_code} 不存在。",
                f"Department {payload.department_code} does not exist.",
            )
    service_point = None
    if payload.service_point_code:
        service_point = selectors.service_point_by_code(payload.service_point_code)
        if service_point is None:
            raise ApiError(
                422,
                "service_point_not_found",
                f"服务网点 {payload.service_point_code} 不存在。",
                f"Service point {payload.service_point_code} does not exist.",
            )
    account = selectors.staff_account_by_username(payload.username)
    if account is None:
        raise ApiError(
            422,
            "membership_user_not_found",
            f"账户 {payload.username} 不存在。",
            f"There is no account {payload.username}.",
        )
    membership = actions.membership_grant(
        user=account,
        role=payload.role,
        department=department,
        service_point=service_point,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        system_codes=payload.system_codes,
        acting_user=acting_user,
    )
    return Status(201, membership)


@router.delete(
    "/memberships/{membership_id}",
    auth=api_auth,
    response={204: None, **_ERRORS},
    summary="Revoke a role",
    description="Same rights as granting. Error: 409 `membership_last_system_admin`.",
)
def membership_delete(request: HttpRequest, membership_id: int) -> Status[None]:
    acting_user = cast(User, request.user)
    membership = selectors.membership_for_user(acting_user, membership_id)
    actions.membership_revoke(membership=membership, acting_user=acting_user)
    return Status(204, None)
