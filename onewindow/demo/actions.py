"""Loading the demo dataset (``onewindow.demo.data``), idempotently.

Running the loader again changes nothing: every object is looked up by its natural key (division, department
and service point code, username, user + role + department) and only created when missing, or corrected when
it differs from the dataset; passwords are reused from the accounts file and TOTP devices are kept, so the
authenticator apps people set up keep working.

Creations and corrections go through the other apps' actions, which audit them: ``division_create``,
``department_create``/``department_update``, ``service_point_create``/``service_point_update`` and
``membership_grant`` (organisations), ``user_create`` (accounts). There is no action yet to correct an
existing account or membership, nor to enrol a TOTP device already confirmed, so those go through the models,
and one ``demo.loaded`` audit record sums up the load whenever anything changed.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import structlog
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.actions import user_create
from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.audit.actions import audit_append
from onewindow.catalog.sync import catalog_sync
from onewindow.demo import data
from onewindow.demo.accounts_file import (
    AccountEntry,
    RoleEntry,
    read_passwords,
    totp_secret_from_hex,
    write_accounts,
)
from onewindow.organisations.actions import (
    ServicePointDetails,
    department_create,
    department_update,
    division_create,
    divisions_load_from_package,
    membership_grant,
    service_point_create,
    service_point_update,
)
from onewindow.organisations.models import Department, Division, ServicePoint
from onewindow.pubsub.actions import subscriptions_demo_load
from onewindow.seals.demo import seals_demo_load
from onewindow.services.demo import demo_services_load
from onewindow.workflow.demo import demo_processes_load

logger = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=models.Model)

PASSWORD_ALPHABET = string.ascii_letters + string.digits
TOTP_DEVICE_NAME = "demo"


class DemoRefusedError(Exception):
    """Demo accounts have known passwords: they must never exist on a production platform."""


@dataclass(frozen=True)
class DemoLoadResult:
    created: int
    updated: int
    accounts: list[AccountEntry]
    accounts_path: Path
    file_written: bool

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.file_written)


class _Counts:
    def __init__(self) -> None:
        self.created = 0
        self.updated = 0


def new_demo_password() -> str:
    """A random 17-character password with upper-case and lower-case letters, digits and a hyphen."""
    while True:
        body = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
        if (
            any(c.islower() for c in body)
            and any(c.isupper() for c in body)
            and any(c.isdigit() for c in body)
        ):
            return f"{body[:8]}-{body[8:]}"


def _correct(instance: ModelT, counts: _Counts, values: dict[str, Any]) -> ModelT:
    """Bring an existing row back to the dataset's ``values``, saving only the fields that differ."""
    differing = [name for name, value in values.items() if getattr(instance, name) != value]
    if differing:
        for name in differing:
            setattr(instance, name, values[name])
        instance.save(update_fields=differing)
        counts.updated += 1
    return instance


def _load_divisions(counts: _Counts) -> None:
    six_digit = [item.code for item in data.DIVISIONS if len(item.code) == 6]
    if Division.objects.filter(code__in=six_digit).count() < len(six_digit):
        # The data migration loads GB/T 2260; only a database emptied by hand lacks them.
        counts.created += divisions_load_from_package(acting_user=None)
    for item in data.DIVISIONS:
        if len(item.code) == 12 and not Division.objects.filter(code=item.code).exists():
            parent_code = item.parent_code or ""
            division_create(code=item.code, name=item.name, parent_code=parent_code, acting_user=None)
            counts.created += 1


def _load_departments(counts: _Counts) -> dict[str, Department]:
    existing = {d.code: d for d in Department.objects.select_related("division", "parent")}
    for item in data.DEPARTMENTS:
        department = existing.get(item.code)
        if department is None:
            department_create(
                code=item.code,
                name=item.name,
                name_en=item.name_en,
                credit_code=item.credit_code,
                division_code=data.CITY_CODE,
                acting_user=None,
            )
            counts.created += 1
            continue
        wanted = (item.name, item.name_en, item.credit_code, data.CITY_CODE, None, True)
        current = (
            department.name,
            department.name_en,
            department.credit_code,
            department.division.code,
            department.parent.code if department.parent else None,
            department.is_active,
        )
        if current != wanted:
            department_update(
                department=department,
                name=item.name,
                name_en=item.name_en,
                credit_code=item.credit_code,
                division_code=data.CITY_CODE,
                parent_code=None,
                is_active=True,
                acting_user=None,
            )
            counts.updated += 1
    return {d.code: d for d in Department.objects.filter(code__in=[d.code for d in data.DEPARTMENTS])}


def _load_service_points(counts: _Counts) -> dict[str, ServicePoint]:
    existing = {p.code: p for p in ServicePoint.objects.select_related("division")}
    for item in data.SERVICE_POINTS:
        details = ServicePointDetails(
            name=item.name,
            kind=item.kind.value,
            division_code=item.division_code,
            address=item.address,
            opening_hours=item.opening_hours,
        )
        point = existing.get(item.code)
        if point is None:
            service_point_create(code=item.code, details=details, acting_user=None)
            counts.created += 1
            continue
        current = ServicePointDetails(
            name=point.name,
            kind=point.kind,
            division_code=point.division.code,
            address=point.address,
            opening_hours=point.opening_hours,
            phone=point.phone,
        )
        if current != details or not point.is_active:
            service_point_update(service_point=point, details=details, is_active=True, acting_user=None)
            counts.updated += 1
    return {p.code: p for p in ServicePoint.objects.filter(code__in=[p.code for p in data.SERVICE_POINTS])}


def _account_values(account: data.DemoAccount) -> dict[str, Any]:
    return {
        "kind": account.kind,
        "display_name": account.display_name,
        "id_number": account.id_number,
        "real_name_verified": account.id_number is not None,
        "enterprise_credit_code": account.enterprise_credit_code,
        "enterprise_name": account.enterprise_name,
        "is_demo": True,
        "is_active": True,
    }


def _load_user(counts: _Counts, account: data.DemoAccount, password: str | None) -> tuple[User, str]:
    """The account, and the password that now signs it in."""
    user = User.objects.filter(username=account.username).first()
    if user is None:
        password = password or new_demo_password()
        user = user_create(
            username=account.username,
            kind=account.kind,
            password=password,
            display_name=account.display_name,
            id_number=account.id_number,
            enterprise_credit_code=account.enterprise_credit_code or None,
            enterprise_name=account.enterprise_name,
            is_demo=True,
            acting_user=None,
        )
        counts.created += 1
    user = _correct(user, counts, _account_values(account))
    if password is None or not user.check_password(password):
        # The file was lost or edited: give the account a fresh password that the new file will record.
        password = new_demo_password()
        user.set_password(password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        counts.updated += 1
    return user, password


def _load_memberships(
    counts: _Counts,
    user: User,
    account: data.DemoAccount,
    departments: dict[str, Department],
    service_points: dict[str, ServicePoint],
) -> None:
    now = timezone.now()
    for demo_role in account.roles:
        department = departments[demo_role.department_code] if demo_role.department_code else None
        service_point = service_points[demo_role.service_point_code] if demo_role.service_point_code else None
        membership = Membership.objects.filter(user=user, role=demo_role.role, department=department).first()
        if membership is None:
            membership_grant(
                user=user,
                role=demo_role.role,
                department=department,
                service_point=service_point,
                valid_until=now + timedelta(days=account.valid_days) if account.valid_days else None,
                system_codes=account.system_codes,
                acting_user=None,
            )
            counts.created += 1
            continue
        values: dict[str, Any] = {
            "service_point_id": service_point.pk if service_point else None,
            "system_codes": list(account.system_codes),
        }
        # A time-bound role keeps its period across reloads; only an expired one is renewed.
        if account.valid_days and (membership.valid_until is None or membership.valid_until <= now):
            values.update(valid_from=now, valid_until=now + timedelta(days=account.valid_days))
        _correct(membership, counts, values)


def _load_totp_device(counts: _Counts, user: User) -> TOTPDevice:
    # Keep the confirmed device the person may already have added to an authenticator app.
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        counts.created += 1
    return device


def _role_entries(account: data.DemoAccount) -> list[RoleEntry]:
    if account.kind == Kind.RESIDENT:
        return [{"role": Role.RESIDENT.value, "department_code": None}]
    if account.kind == Kind.ENTERPRISE:
        return [{"role": Role.ENTERPRISE_REPRESENTATIVE.value, "department_code": None}]
    return [{"role": item.role.value, "department_code": item.department_code} for item in account.roles]


def demo_load(*, accounts_path: Path, acting_user: User | None = None) -> DemoLoadResult:
    """Load the demo city, departments, service points and accounts; write the accounts file.

    Idempotent (see the module docstring). Refused in production, where demo accounts with known
    passwords must never exist. The database work is one transaction with its audit record; the accounts
    file is written after it commits, so it never lists passwords that were rolled back.
    """
    if settings.PRODUCTION:
        message = "Demo data cannot be loaded in production (ONEWINDOW_ENV=production)."
        raise DemoRefusedError(message)
    passwords = read_passwords(accounts_path)
    counts = _Counts()
    entries: list[AccountEntry] = []
    with transaction.atomic():
        _load_divisions(counts)
        departments = _load_departments(counts)
        service_points = _load_service_points(counts)
        for account in data.ACCOUNTS:
            user, password = _load_user(counts, account, passwords.get(account.username))
            totp_secret = None
            if account.kind == Kind.STAFF:
                _load_memberships(counts, user, account, departments, service_points)
                totp_secret = totp_secret_from_hex(_load_totp_device(counts, user).key)
            entries.append(
                {
                    "username": account.username,
                    "password": password,
                    "totp_secret": totp_secret,
                    "kind": account.kind.value,
                    "roles": _role_entries(account),
                    "id_number": account.id_number,
                }
            )
        counts.updated += demo_services_load(acting_user=acting_user)
        counts.updated += demo_processes_load(acting_user=acting_user)
        counts.created += seals_demo_load()
        counts.created += subscriptions_demo_load()  # tax and quality inspection hear of new companies
        counts.created += len(catalog_sync().created)  # the registries and the published items
        if counts.created or counts.updated:
            audit_append(
                action="demo.loaded",
                acting_user=acting_user,
                actor_username="" if acting_user else "demo_load",
                object_type="demo",
                details={"created": counts.created, "updated": counts.updated, "accounts": len(entries)},
            )
    file_written = write_accounts(accounts_path, entries)
    logger.info(
        "demo_loaded",
        created=counts.created,
        updated=counts.updated,
        accounts_file=str(accounts_path),
        accounts_file_written=file_written,
    )
    return DemoLoadResult(counts.created, counts.updated, entries, accounts_path, file_written)
