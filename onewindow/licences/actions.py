"""Writes of the licence register (no web code)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from onewindow.applications.models import Application
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.licences.models import Licence

# Fields of the case form copied onto a licence, when present.
LICENCE_DATA_FIELDS = (
    "company_name",
    "company_type",
    "registered_capital",
    "address",
    "business_scope",
    "legal_rep_name",
)


def licence_record(
    *, application_id: int, number: str, department_code: str, data: dict[str, Any], now: datetime
) -> Licence:
    """Record the licence an approval issues (run by the engine's ``licence_number_assign``; idempotent).

    The holder is the enterprise being registered (its name and new credit code from the process data)
    or else the applicant. Audited as the back office.
    """
    existing = Licence.objects.filter(number=number).first()
    if existing is not None:
        return existing
    application = Application.objects.select_related("service").get(pk=application_id)
    form = application.form_data
    holder_code = str(data.get("credit_code") or application.applicant_identifier)
    holder_name = (
        str(form.get("company_name") or application.applicant_name)
        if data.get("credit_code")
        else (application.applicant_name)
    )
    with transaction.atomic():
        licence = Licence.objects.create(
            number=number,
            name=application.version.name,
            name_en=application.version.name_en,
            type_code=application.service.code,
            issuer_department_code=department_code,
            holder_name=holder_name,
            holder_code=holder_code,
            issued_on=china_date(now),
            application=application,
            data={key: form[key] for key in LICENCE_DATA_FIELDS if key in form},
            created_at=now,
        )
        audit_append(
            action="licence.recorded",
            acting_user=None,
            actor_username="back-office",
            object_type="licence",
            object_id=number,
            department_code=department_code,
            details={"application": application.tracking_no, "holder_code": holder_code},
        )
    return licence
