"""Writes of the licence register (no web code): issuing (signed JSON and signed PDF), revoking, expiring.

Issuing happens inside the approval (the engine's ``licence_number_assign`` runs in the transaction that
completes the last task). Everything is done in that one transaction: the licence row, the SM2 signature
of its canonical JSON, the PAdES-signed PDF and the case document, and their audit records. If rendering
or signing fails (no active seal, the timestamp server down, anything else), the exception rolls the whole
completion back: the task stays open and nothing was issued, signed or audited, so the approval is never
half done. The PDF is rendered before the first audit record of the transaction is written, so the audit
chain's lock is not held while WeasyPrint works (~0.1 s); a PDF file written to storage before a rollback
is left behind unreferenced (harmless; the same as receipts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import structlog
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.actions.common import document_add
from onewindow.applications.models import Application, Document
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.crypto.sm3 import sm3_hex
from onewindow.licences.canonical import es_number
from onewindow.licences.models import HolderKind, Licence, LicenceStatus, RevocationReason
from onewindow.licences.pdf import (
    LicencePdfContent,
    PdfField,
    licence_pdf_render,
    licence_pdf_sign,
)
from onewindow.licences.selectors import (
    licence_issuer_admin_require,
    licence_verification_url,
    today_in_china,
)
from onewindow.licences.signed import SIGNATURE_ALGORITHM, licence_canonical
from onewindow.licences.types import licence_type_for
from onewindow.organisations.models import Department
from onewindow.seals.actions import seal_pdf_signer_for_decision, seal_rotate, seal_sign_for_decision
from onewindow.seals.models import Seal
from onewindow.seals.pades import TimestampUnavailable
from onewindow.seals.selectors import seal_active, seals_revoked

logger = structlog.get_logger(__name__)

# Fields of the case form copied onto a licence, when present.
LICENCE_DATA_FIELDS = (
    "company_name",
    "company_type",
    "registered_capital",
    "address",
    "business_scope",
    "legal_rep_name",
)
# Labels of those fields when the service's form does not give one.
_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "company_name": ("名称", "Name"),
    "company_type": ("类型", "Type"),
    "registered_capital": ("注册资本（万元）", "Registered capital (10,000 yuan)"),
    "address": ("住所", "Address"),
    "business_scope": ("经营范围", "Business scope"),
    "legal_rep_name": ("法定代表人", "Legal representative"),
}
# Labels of coded values when the service's form does not give them (the demo forms' company types).
_VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "company_type": {
        "llc": ("有限责任公司", "Limited liability company"),
        "joint_stock": ("股份有限公司", "Joint-stock company"),
        "sole": ("个人独资企业", "Sole proprietorship"),
        "partnership": ("合伙企业", "Partnership"),
        "individual": ("个体工商户", "Individual business"),
    }
}
REASON_MAX_LENGTH = 1000
EXPIRE_BATCH = 500


# --- Issuing -------------------------------------------------------------------------------------------


def _issuing_seal(department_code: str) -> Seal:
    """The department's active seal; its first one is issued on this first need (as the demo loader does).

    A department whose seal was revoked has none until its administrators rotate it: issuing is refused
    (409 ``seal_missing``), and so is the approval.
    """
    seal = seal_active(department_code)
    if seal is not None:
        return seal
    if seals_revoked().filter(department__code=department_code).exists():
        raise RuleViolation(
            "seal_missing",
            f"部门 {department_code} 的电子印章已注销，须更换印章后才能签发证照。",
            f"Department {department_code}'s electronic seal was revoked: rotate it before issuing licences.",
            status=409,
        )
    department = Department.objects.filter(code=department_code).first()
    if department is None:
        raise RuleViolation(
            "department_unknown",
            f"部门 {department_code} 不存在，不能签发证照。",
            f"There is no department {department_code} to issue the licence.",
            status=409,
        )
    with transaction.atomic():
        Department.objects.select_for_update().get(pk=department.pk)  # one first seal per department
        if seal_active(department_code) is None:
            seal_rotate(acting_user=None, department=department)
    issued = seal_active(department_code)
    if issued is None:  # revoked in the meantime
        raise RuleViolation(
            "seal_missing",
            f"部门 {department_code} 没有在用的电子印章。",
            f"Department {department_code} has no active electronic seal.",
            status=409,
        )
    return issued


def _holder(application: Application, data: dict[str, Any]) -> tuple[HolderKind, str, str]:
    """The enterprise being registered (its name and new credit code from the process data), else the
    applicant (a person for residents)."""
    credit_code = str(data.get("credit_code") or "")
    if credit_code:
        name = str(application.form_data.get("company_name") or application.applicant_name)
        return HolderKind.ENTERPRISE, name, credit_code
    kind = HolderKind.PERSON if application.applicant_kind == "resident" else HolderKind.ENTERPRISE
    return kind, application.applicant_name, application.applicant_identifier


def _valid_until(issued_on: dt.date, years: int | None) -> dt.date | None:
    if years is None:
        return None
    try:
        anniversary = issued_on.replace(year=issued_on.year + years)
    except ValueError:  # 29 February
        anniversary = issued_on.replace(year=issued_on.year + years, day=28)
    return anniversary - dt.timedelta(days=1)


def _display(key: str, value: Any, spec: dict[str, Any]) -> str:
    labels = spec.get("x-enum-labels")
    if isinstance(labels, dict) and isinstance(labels.get(value), dict):
        label = labels[value]
        return f"{label.get('zh', value)}（{label.get('en', value)}）"
    known = _VALUE_LABELS.get(key, {}).get(value) if isinstance(value, str) else None
    if known is not None:
        return f"{known[0]}（{known[1]}）"
    if isinstance(value, bool):
        return "是 / Yes" if value else "否 / No"
    if isinstance(value, int | float):
        return es_number(value)
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def _pdf_fields(licence: Licence, application: Application) -> list[PdfField]:
    """The licence's own fields with their labels from the service's form (else the built-in ones)."""
    properties = (application.version.form_schema or {}).get("properties", {})
    fields = []
    for key, value in licence.data.items():
        if key == "company_name" and value == licence.holder_name:
            continue  # printed as the holder's name
        spec = properties.get(key) if isinstance(properties.get(key), dict) else {}
        default_zh, default_en = _FIELD_LABELS.get(key, (key, key))
        fields.append(
            PdfField(
                label=str(spec.get("title") or default_zh),
                label_en=str(spec.get("x-title-en") or default_en),
                value=_display(key, value, spec),
            )
        )
    return fields


def _pdf_content(licence: Licence, application: Application, seal: Seal, digest: str) -> LicencePdfContent:
    person = licence.holder_kind == HolderKind.PERSON
    return LicencePdfContent(
        number=licence.number,
        name=licence.name,
        name_en=licence.name_en,
        type_code=licence.type_code,
        holder_name=licence.holder_name,
        holder_code=licence.holder_code,
        holder_code_label="公民身份号码" if person else "统一社会信用代码",
        holder_code_label_en="ID number" if person else "Unified social credit code",
        issuer_name=licence.issuer_name,
        issuer_code=licence.issuer_code,
        issued_on=licence.issued_on,
        valid_until=licence.valid_until,
        fields=_pdf_fields(licence, application),
        digest=digest,
        verification_url=licence_verification_url(licence.number),
        seal_image_png=bytes(seal.image_png),
    )


def _licence_new(
    *, application: Application, number: str, department: Department, data: dict[str, Any], now: dt.datetime
) -> Licence:
    holder_kind, holder_name, holder_code = _holder(application, data)
    version = application.version
    licence_type = licence_type_for(
        application.service.code, name=version.name, name_en=version.name_en, holder_kind=holder_kind
    )
    issued_on = china_date(now)
    form = application.form_data
    return Licence(
        number=number,
        name=licence_type.name,
        name_en=licence_type.name_en,
        type_code=licence_type.code,
        issuer_department_code=department.code,
        issuer_name=department.name,
        issuer_code=department.credit_code,
        holder_kind=holder_kind,
        holder_name=holder_name,
        holder_code=holder_code,
        issued_on=issued_on,
        valid_until=_valid_until(issued_on, licence_type.validity_years),
        application=application,
        data={key: form[key] for key in LICENCE_DATA_FIELDS if key in form},
        created_at=now,
    )


def licence_record(
    *, application_id: int, number: str, department_code: str, data: dict[str, Any], now: dt.datetime
) -> Licence:
    """Issue the licence an approval grants (run by the engine's ``licence_number_assign``; idempotent).

    The holder is the enterprise being registered (its name and new credit code from the process data)
    or else the applicant. The licence's RFC 8785 JSON is signed with the department's seal (SM2/SM3) and
    its PDF signed PAdES with the seal's certificate (``seals.seal_*_for_decision``: the department's
    decision authorises them); the PDF is stored with its SHA-256 and listed among the case's documents.
    A licence recorded before signing existed is signed when the action runs again. Refused with 409
    ``seal_missing`` (revoked seal) or 503 ``timestamp_unavailable`` (``ONEWINDOW_TSA_URL`` set and not
    answering); see the module docstring for what a failure leaves behind. Audited as ``licence.recorded``.
    """
    existing = Licence.objects.filter(number=number).first()
    if existing is not None and existing.signed_at is not None:
        return existing
    application = Application.objects.select_related("service", "version").get(pk=application_id)
    seal = _issuing_seal(department_code)
    department = seal.department
    if existing is None:
        licence = _licence_new(
            application=application, number=number, department=department, data=data, now=now
        )
    else:
        licence = existing
        licence.issuer_name = licence.issuer_name or department.name
        licence.issuer_code = licence.issuer_code or department.credit_code
    canonical = licence_canonical(licence)
    digest = sm3_hex(canonical)
    # Rendered before anything in this transaction is audited: see the module docstring.
    unsigned_pdf = licence_pdf_render(_pdf_content(licence, application, seal, digest))
    purpose = f"电子证照 {number}"
    try:
        with transaction.atomic():
            with seal_pdf_signer_for_decision(
                application=application, purpose=f"{purpose} PDF", department_code=department_code
            ) as signer:
                signed_pdf, level = licence_pdf_sign(
                    unsigned_pdf, signer=signer, number=number, signer_name=department.name
                )
            signature = seal_sign_for_decision(
                application, canonical, purpose=purpose, department_code=department_code
            )
            licence.canonical_json = canonical
            licence.signature_der = signature.value
            licence.signature_algorithm = SIGNATURE_ALGORITHM
            licence.signer_id = signature.signer_id.decode("ascii")
            licence.signature_key_fingerprint = signature.key_fingerprint
            licence.signature_digest = signature.digest
            licence.seal_id = signature.seal_id
            licence.signed_at = signature.signed_at
            licence.pdf_sha256 = hashlib.sha256(signed_pdf).hexdigest()
            licence.pdf_certificate_serial = seal.certificate_serial
            licence.pdf_level = level
            licence.pdf.save(f"{number}.pdf", ContentFile(signed_pdf), save=False)
            document = document_add(application, Document.Kind.LICENCE, f"{licence.name} {number}")
            document.file.name = licence.pdf.name
            document.sha256 = licence.pdf_sha256
            document.save(update_fields=["file", "sha256"])
            licence.document = document
            licence.save()
            audit_append(
                action="licence.recorded",
                acting_user=None,
                actor_username="back-office",
                object_type="licence",
                object_id=number,
                department_code=department_code,
                details={
                    "application": application.tracking_no,
                    "holder_code": licence.holder_code,
                    "type_code": licence.type_code,
                    "digest_sm3": licence.signature_digest,
                    "key_fingerprint": licence.signature_key_fingerprint,
                    "pdf_sha256": licence.pdf_sha256,
                    "pdf_level": level,
                },
            )
    except TimestampUnavailable:
        raise RuleViolation(
            "timestamp_unavailable",
            "时间戳服务暂时无法访问，证照未签发，请稍后重试。",
            "The timestamp server did not answer: the licence was not issued. Try again later.",
            status=503,
        ) from None
    except IntegrityError:  # issued meanwhile by a concurrent run of the same service task
        return Licence.objects.get(number=number)
    logger.info("licence_issued", number=number, department=department_code, pdf_level=level)
    return licence


# --- Revocation ----------------------------------------------------------------------------------------


def licence_revoke(*, acting_user: User, licence: Licence, reason: str, reason_code: str) -> Licence:
    """Revoke ``licence`` for ``reason`` (a ``RevocationReason`` code), at once and for good.

    By the issuing department's administrators only (403, audited, nothing changed for anyone else);
    422 ``reason_required`` / ``reason_too_long`` / ``reason_code_invalid``; 409
    ``licence_already_revoked``. Verification answers ``revoked`` from the next request on. Audited as
    ``licence.revoked``.
    """
    licence_issuer_admin_require(acting_user, licence)
    reason = reason.strip()
    if not reason:
        raise RuleViolation("reason_required", "请填写注销原因。", "Give the reason.", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise RuleViolation(
            "reason_too_long",
            f"原因不能超过 {REASON_MAX_LENGTH} 个字。",
            f"The reason must be at most {REASON_MAX_LENGTH} characters.",
            field="reason",
        )
    if reason_code not in RevocationReason.values:
        raise RuleViolation(
            "reason_code_invalid", "原因代码无效。", "Unknown reason code.", field="reason_code"
        )
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        if locked.status == LicenceStatus.REVOKED:
            raise RuleViolation(
                "licence_already_revoked", "该证照已注销。", "This licence is already revoked.", status=409
            )
        previous = locked.status
        locked.status = LicenceStatus.REVOKED
        locked.revoked_at = timezone.now()
        locked.revocation_reason = reason
        locked.revocation_reason_code = reason_code
        locked.revoked_by = acting_user
        locked.save(
            update_fields=[
                "status",
                "revoked_at",
                "revocation_reason",
                "revocation_reason_code",
                "revoked_by",
            ]
        )
        audit_append(
            action="licence.revoked",
            acting_user=acting_user,
            object_type="licence",
            object_id=locked.number,
            department_code=locked.issuer_department_code,
            details={
                "previous_status": previous,
                "reason": reason,
                "reason_code": reason_code,
                "holder_code": locked.holder_code,
            },
        )
    return locked


# --- Expiry --------------------------------------------------------------------------------------------


def licences_expire(*, today: dt.date | None = None) -> int:
    """Mark valid licences whose validity ended before ``today`` (Beijing) as expired; returns how many.

    For the scheduler (``licences_expire`` job, hourly) and ``manage.py licences_expire``: verification
    computes expiry at request time anyway, so this only keeps ``status`` (lists, reports) in step.
    Batches of 500, one transaction and one ``licence.expired`` audit record (with the numbers) each.
    """
    today = today or today_in_china()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                Licence.objects.select_for_update()
                .filter(status=LicenceStatus.VALID, valid_until__lt=today)
                .order_by("pk")
                .values_list("pk", "number")[:EXPIRE_BATCH]
            )
            if not rows:
                return total
            Licence.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                status=LicenceStatus.EXPIRED, expired_at=timezone.now()
            )
            audit_append(
                action="licence.expired",
                acting_user=None,
                actor_username="system",
                object_type="licence",
                details={"count": len(rows), "numbers": [number for _, number in rows], "today": str(today)},
            )
        total += len(rows)
        logger.info("licences_expired", count=len(rows))
