"""Reads of the exchange: discovery (public) and the key administration (the owning department's
administrators and system administrators; everyone else refused, audited)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.catalog.models import InformationSystem
from onewindow.exchange.actions import KEY_OBJECT, may_manage_system
from onewindow.exchange.models import KeyStatus, Service, SubsystemKey
from onewindow.organisations.models import Department


def members() -> QuerySet[Department]:
    """Active departments with at least one information system (the exchange's members)."""
    return (
        Department.objects.filter(is_active=True, information_systems__isnull=False)
        .distinct()
        .order_by("code")
    )


def member_by_code(credit_code: str) -> Department:
    member = Department.objects.filter(credit_code=credit_code, is_active=True).first()
    if member is None:
        raise Http404(credit_code)
    return member


def member_subsystems(member: Department) -> QuerySet[InformationSystem]:
    return InformationSystem.objects.filter(department=member).order_by("code")


def member_services(member: Department) -> QuerySet[Service]:
    return (
        Service.objects.select_related("provider__department")
        .filter(provider__department=member, is_active=True)
        .order_by("provider__code", "code")
    )


def service_by_path(member_code: str, subsystem_code: str, service_code: str) -> Service:
    service = (
        Service.objects.select_related("provider__department")
        .filter(
            provider__department__credit_code=member_code,
            provider__code=subsystem_code,
            code=service_code,
            is_active=True,
        )
        .first()
    )
    if service is None:
        raise Http404(service_code)
    return service


def subsystem_public_keys(member_code: str, subsystem_code: str) -> QuerySet[SubsystemKey]:
    """Keys that verify (active and retired), for clients checking signed responses; revoked ones excluded."""
    return SubsystemKey.objects.filter(
        system__department__credit_code=member_code,
        system__code=subsystem_code,
        status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED],
    ).order_by("-created_at", "-id")


def public_key_by_id(key_id: str) -> SubsystemKey | None:
    """A verifying key by id (None when unknown or revoked)."""
    return (
        SubsystemKey.objects.select_related("system__department")
        .filter(key_id=key_id, status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED])
        .first()
    )


def system_for_key_admin(user: User | AnonymousUser, system_code: str) -> InformationSystem:
    """The system, if ``user`` manages its keys; refused (403, audited) otherwise; 404 when unknown."""
    system = InformationSystem.objects.select_related("department").filter(code=system_code).first()
    if system is None:
        raise Http404(system_code)
    if not may_manage_system(user, system):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=system_code
        )
    return system


def keys_for_admin(user: User | AnonymousUser, system: InformationSystem) -> QuerySet[SubsystemKey]:
    if not may_manage_system(user, system):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=system.code
        )
    return SubsystemKey.objects.filter(system=system).order_by("-created_at", "-id")


def key_for_admin(user: User | AnonymousUser, key_id: str) -> SubsystemKey:
    key = SubsystemKey.objects.select_related("system__department").filter(key_id=key_id).first()
    if key is None:
        raise Http404(key_id)
    if not may_manage_system(user, key.system):
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=key_id)
    return key
