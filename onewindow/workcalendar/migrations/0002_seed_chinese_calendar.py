"""Seed 2004–2026 from the chinese-calendar package so that a fresh database counts deadlines correctly."""

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from onewindow.workcalendar.seed import SEED_FIRST_YEAR, SEED_LAST_YEAR, package_days, package_version

    CalendarDay = apps.get_model("workcalendar", "CalendarDay")
    CalendarYear = apps.get_model("workcalendar", "CalendarYear")
    years = range(SEED_FIRST_YEAR, SEED_LAST_YEAR + 1)
    already_loaded = set(CalendarYear.objects.filter(year__in=years).values_list("year", flat=True))
    now = timezone.now()
    note = f"Seeded from chinese-calendar {package_version()} (State Council holiday notices)."
    days = []
    calendar_years = []
    for year in years:
        if year in already_loaded:
            continue
        calendar_years.append(CalendarYear(year=year, source="chinese-calendar", loaded_at=now, note=note))
        days.extend(
            CalendarDay(date=day.date, kind=day.kind, name=day.name, name_en=day.name_en)
            for day in package_days(year)
        )
    CalendarDay.objects.bulk_create(days, batch_size=500)
    CalendarYear.objects.bulk_create(calendar_years)


def unseed(apps, schema_editor):
    from onewindow.workcalendar.seed import SEED_FIRST_YEAR, SEED_LAST_YEAR

    CalendarDay = apps.get_model("workcalendar", "CalendarDay")
    CalendarYear = apps.get_model("workcalendar", "CalendarYear")
    seeded = list(
        CalendarYear.objects.filter(
            year__gte=SEED_FIRST_YEAR, year__lte=SEED_LAST_YEAR, source="chinese-calendar"
        ).values_list("year", flat=True)
    )
    for year in seeded:
        CalendarDay.objects.filter(date__year=year).delete()
    CalendarYear.objects.filter(year__in=seeded).delete()


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
