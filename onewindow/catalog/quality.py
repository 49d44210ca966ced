"""Data quality of catalogued resources (issue #7 item 5): freshness and measured validity.

**Freshness** compares a resource's last data update with its update cycle (更新周期). The last update is
the later of the current version's publication and the last update the provider recorded
(:func:`resource_data_updated`; the exchange, issue #8, will record it as data arrives). The next update
is due one cycle later (calendar days: real time and daily 1, weekly 7, monthly 31, quarterly 92, every
six months 183, yearly 366); the resource is

* ``fresh`` until a tenth of the cycle before that day,
* ``due`` from then until the day itself (an update is expected now),
* ``overdue`` after it — these appear in supervision (:func:`overdue_resources`, the catalog supervision
  page, linked from the back office's supervision page).

Irregular resources have no due date (``not_applicable``). The built-in entries are written by the
platform's own transactions as they happen, so they are fresh by construction; their last update shown
is the latest change of their records, measured below.

**Validity** is measured for the built-in registry resources on the data the platform holds
(:func:`quality_measure`, a daily task): the share of ID numbers in the population register that pass
GB 11643-1999 (check digit, division, birth date: ``core.validators.validate_id_number``) and of the
legal-entity register's unified social credit codes that pass GB 32100-2015. ID numbers are encrypted at
rest and their blind index is a keyed hash that cannot be validated, so they are decrypted through the
model layer in batches of ``ONEWINDOW_CATALOG_QUALITY_BATCH`` rows, counted, and dropped: only the counts
are kept (``ResourceQuality``), with the time they were measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_tasks import task

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.catalog.actions import may_manage
from onewindow.catalog.models import Resource, ResourceQuality, ResourceStatus, UpdateCycle
from onewindow.core.errors import RuleViolation
from onewindow.core.logging import get_logger
from onewindow.core.validators import InvalidIdentifier, validate_credit_code, validate_id_number

logger = get_logger(__name__)

CYCLE_DAYS: dict[str, int] = {
    UpdateCycle.REAL_TIME: 1,
    UpdateCycle.DAILY: 1,
    UpdateCycle.WEEKLY: 7,
    UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92,
    UpdateCycle.HALF_YEARLY: 183,
    UpdateCycle.YEARLY: 366,
}
FRESH, DUE, OVERDUE, NOT_APPLICABLE = "fresh", "due", "overdue", "not_applicable"
FRESHNESS_LABELS = {
    FRESH: ("按期更新", "Fresh"),
    DUE: ("应当更新", "Update due"),
    OVERDUE: ("更新超期", "Update overdue"),
    NOT_APPLICABLE: ("不定期更新", "Updated irregularly"),
}
MEASURES = {"population": "id_number", "legal_entity": "credit_code"}
MEASURE_LABELS = {
    "id_number": ("有效的公民身份号码占比", "Share of valid resident ID numbers"),
    "credit_code": ("有效的统一社会信用代码占比", "Share of valid unified social credit codes"),
}


@dataclass(frozen=True)
class Freshness:
    status: str
    last_update: datetime | None
    next_due: date | None

    @property
    def label_zh(self) -> str:
        return FRESHNESS_LABELS[self.status][0]

    @property
    def label_en(self) -> str:
        return FRESHNESS_LABELS[self.status][1]


@dataclass(frozen=True)
class Validity:
    measure: str
    checked: int
    valid: int
    measured_at: datetime

    @property
    def share(self) -> float:
        return self.valid / self.checked if self.checked else 1.0

    @property
    def percent(self) -> str:
        return f"{self.share * 100:.1f}%"

    @property
    def label_zh(self) -> str:
        return MEASURE_LABELS[self.measure][0]

    @property
    def label_en(self) -> str:
        return MEASURE_LABELS[self.measure][1]


@dataclass(frozen=True)
class Quality:
    freshness: Freshness
    validity: Validity | None


def freshness_of(
    update_cycle: str, last_update: datetime | None, *, builtin: bool = False, today: date | None = None
) -> Freshness:
    """The freshness of data last updated at ``last_update`` under ``update_cycle``."""
    today = today or china_date(timezone.now())
    days = CYCLE_DAYS.get(update_cycle)
    if days is None or last_update is None:
        return Freshness(NOT_APPLICABLE if days is None else OVERDUE, last_update, None)
    next_due = china_date(last_update) + timedelta(days=days)
    if builtin:
        return Freshness(FRESH, last_update, None)
    if today > next_due:
        status = OVERDUE
    elif today >= next_due - timedelta(days=days // 10):
        status = DUE
    else:
        status = FRESH
    return Freshness(status, last_update, next_due)


def resource_quality(resource: Resource, *, today: date | None = None) -> Quality:
    """Freshness and (for built-in registry resources) validity of a resource the caller may see."""
    version = resource.current_version
    assert version is not None  # noqa: S101 - resource_create always publishes version 1
    stored = ResourceQuality.objects.filter(resource=resource).first()
    recorded = stored.data_updated_at if stored else None
    last = max(filter(None, [version.published_at, recorded]))
    freshness = freshness_of(version.update_cycle, last, builtin=bool(resource.builtin_key), today=today)
    validity = None
    if stored and stored.measure and stored.checked is not None and stored.measured_at is not None:
        validity = Validity(stored.measure, stored.checked, stored.valid or 0, stored.measured_at)
    return Quality(freshness, validity)


def _last_update_expression() -> Any:
    published = "current_version__published_at"
    return Greatest(published, Coalesce("quality__data_updated_at", published))


def overdue_resources(departments: frozenset[str] | None, *, today: date | None = None) -> QuerySet[Resource]:
    """Active, non-built-in resources of ``departments`` (None: all) whose update is overdue (one query)."""
    today = today or china_date(timezone.now())
    overdue = Q()
    for cycle, days in CYCLE_DAYS.items():
        # Overdue when today is after last update's day + days: the last update was before this instant.
        cutoff = datetime.combine(
            today - timedelta(days=days), datetime.min.time(), tzinfo=timezone.get_current_timezone()
        )
        overdue |= Q(current_version__update_cycle=cycle, last_update__lt=cutoff)
    resources = (
        Resource.objects.filter(status=ResourceStatus.ACTIVE, builtin_key="")
        .annotate(last_update=_last_update_expression())
        .filter(overdue)
        .select_related("current_version", "provider")
    )
    if departments is not None:
        resources = resources.filter(provider__code__in=departments)
    return resources.order_by("last_update", "code")


# --- Writes ------------------------------------------------------------------------------------------------


def resource_data_updated(
    *, acting_user: User | None, resource: Resource, at: datetime | None = None
) -> ResourceQuality:
    """Record that the provider updated the resource's data (its administrators, a system administrator,
    or the exchange as a system job: ``acting_user=None``)."""
    if acting_user is not None and not may_manage(acting_user, resource.provider.code):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type="catalog_resource", object_id=resource.code
        )
    now = timezone.now()
    at = at or now
    if at > now:
        raise RuleViolation(
            "update_in_future", "更新时间不能晚于现在。", "The update cannot be in the future.", field="at"
        )
    with transaction.atomic():
        quality, _ = ResourceQuality.objects.select_for_update().get_or_create(resource=resource)
        if quality.data_updated_at is None or at > quality.data_updated_at:
            quality.data_updated_at = at
            quality.save(update_fields=["data_updated_at"])
        audit_append(
            action="catalog.data_updated",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type="catalog_resource",
            object_id=resource.code,
            department_code=resource.provider.code,
            details={"at": at.isoformat()},
        )
    return quality


def _count_valid_id_numbers(batch_size: int) -> tuple[int, int, datetime | None]:
    from onewindow.registry.models import Person

    checked = valid = 0
    last_pk = 0
    today = china_date(timezone.now())
    while True:
        batch = list(
            Person.objects.filter(pk__gt=last_pk).order_by("pk").only("pk", "id_number")[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        for person in batch:
            checked += 1
            try:
                validate_id_number(person.id_number, today=today)
            except InvalidIdentifier:
                continue
            valid += 1
    latest = Person.objects.aggregate(latest=Max("updated_at"))["latest"]
    return checked, valid, latest


def _count_valid_credit_codes(batch_size: int) -> tuple[int, int, datetime | None]:
    from onewindow.registry.models_entities import LegalEntity

    checked = valid = 0
    for code in (
        LegalEntity.objects.order_by("pk")
        .values_list("credit_code", flat=True)
        .iterator(chunk_size=batch_size)
    ):
        checked += 1
        try:
            validate_credit_code(code)
        except InvalidIdentifier:
            continue
        valid += 1
    latest = LegalEntity.objects.aggregate(latest=Max("updated_at"))["latest"]
    return checked, valid, latest


def quality_measure(*, batch_size: int | None = None) -> dict[str, Validity]:
    """Measure the built-in registry resources now and keep the result with its time (a system job)."""
    batch_size = batch_size or settings.CATALOG_QUALITY_BATCH
    counters = {"population": _count_valid_id_numbers, "legal_entity": _count_valid_credit_codes}
    results: dict[str, Validity] = {}
    for key, count in counters.items():
        resource = Resource.objects.filter(builtin_key=key).select_related("provider").first()
        if resource is None:
            continue
        checked, valid, latest = count(batch_size)
        now = timezone.now()
        with transaction.atomic():
            ResourceQuality.objects.update_or_create(
                resource=resource,
                defaults={
                    "checked": checked,
                    "valid": valid,
                    "measure": MEASURES[key],
                    "measured_at": now,
                    "data_updated_at": latest,
                },
            )
            audit_append(
                action="catalog.quality_measured",
                acting_user=None,
                actor_username="scheduler",
                object_type="catalog_resource",
                object_id=resource.code,
                department_code=resource.provider.code,
                details={"measure": MEASURES[key], "checked": checked, "valid": valid},
            )
        results[key] = Validity(MEASURES[key], checked, valid, now)
        logger.info("catalog_quality_measured", resource=resource.code, checked=checked, valid=valid)
    return results


@task()
def quality_measure_task() -> None:
    quality_measure()
