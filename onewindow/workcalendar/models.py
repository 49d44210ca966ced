"""Working-day calendar tables: the exceptions to "Monday to Friday" published each year.

China's State Council publishes each year's statutory holidays and the make-up working days (调休) that
fall on weekends. Only those exceptions are stored; every other day is a working day from Monday to Friday.
A year counts as loaded only when it has a :class:`CalendarYear` row: a year without one is counted with
weekends only, and that fallback is logged and shown to system administrators.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Statutory holiday")
    WORKDAY = "workday", _("Make-up working day")


class Source(models.TextChoices):
    CHINESE_CALENDAR = "chinese-calendar", _("chinese-calendar package")
    IMPORT = "import", _("Imported file")
    ADMIN = "admin", _("Entered by an administrator")


class CalendarYear(models.Model):
    """One year whose schedule has been loaded (its holidays and make-up working days are in CalendarDay)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    loaded_at = models.DateTimeField(_("loaded at"))
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("loaded by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return f"{self.year} ({self.source})"


class CalendarDay(models.Model):
    """A statutory holiday, or a weekend day that is a make-up working day."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday"]), name="calendarday_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.kind} {self.name}"
