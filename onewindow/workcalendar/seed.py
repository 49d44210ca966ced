"""Holiday names and the schedule data shipped in the ``chinese-calendar`` package.

No model imports here: the seeding data migration uses this module with historical models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import chinese_calendar
from chinese_calendar.constants import Holiday

# The years the platform seeds from the package: the package carries official data from 2004 and, in
# version 1.11, up to 2026. Fixed rather than read from the package so that a fresh database always
# starts from the same schedule whatever package version is installed; later years are imported.
SEED_FIRST_YEAR = 2004
SEED_LAST_YEAR = 2026

# The package's Chinese names drop the "节" that the State Council notices use for these three.
_OFFICIAL_CHINESE = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


@dataclass(frozen=True)
class HolidayName:
    zh: str
    en: str


def known_holiday_names() -> tuple[HolidayName, ...]:
    """The holidays the package knows, in Chinese (official form) and English."""
    return tuple(
        HolidayName(zh=_OFFICIAL_CHINESE.get(holiday.chinese, holiday.chinese), en=str(holiday.value))
        for holiday in Holiday
    )


def holiday_name_pair(name: str) -> HolidayName | None:
    """The bilingual name of a known holiday given its Chinese (either form) or English name."""
    wanted = name.strip().casefold()
    for holiday in Holiday:
        pair = HolidayName(zh=_OFFICIAL_CHINESE.get(holiday.chinese, holiday.chinese), en=str(holiday.value))
        if wanted in {pair.zh.casefold(), str(holiday.chinese).casefold(), pair.en.casefold()}:
            return pair
    return None


@dataclass(frozen=True)
class SeedDay:
    date: date
    kind: str  # "holiday" | "workday"
    name: str
    name_en: str


def package_days(year: int) -> list[SeedDay]:
    """The holidays and make-up working days of ``year`` from the package's data, in date order."""
    days: list[SeedDay] = []
    for kind, table in (("holiday", chinese_calendar.holidays), ("workday", chinese_calendar.workdays)):
        for day, english in table.items():
            if day.year != year:
                continue
            pair = holiday_name_pair(str(english)) if english else None
            days.append(
                SeedDay(
                    date=day,
                    kind=kind,
                    name=pair.zh if pair else "",
                    name_en=pair.en if pair else str(english or ""),
                )
            )
    return sorted(days, key=lambda seed_day: seed_day.date)


def package_version() -> str:
    return str(getattr(chinese_calendar, "__version__", "unknown"))
