"""Submitting an application: for oneself (web, API), for a walk-in (window) or as a village agent (代办)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Kind, Permission
from onewindow.applications.actions.common import (
    STATUS_NAMES,
    accept_fields,
    applicant_notify,
    application_transition,
    document_add,
    event_add,
)
from onewindow.applications.actions.extracts import verified_extracts_attach
from onewindow.applications.models import AgentConsent, ApplicantKind, Application, Document, Status
from onewindow.applications.processing import application_processing_start
from onewindow.applications.tracking import tracking_no_next
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import (
    InvalidIdentifier,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from onewindow.forms.prefill import Identity, materials_held
from onewindow.forms.validation import validate_form
from onewindow.materials.actions import material_attach
from onewindow.materials.models import Material
from onewindow.organisations.models import ServicePoint
from onewindow.services.models import Channel, Service, ServiceVersion
from onewindow.services.selectors import published_service, version_department_codes


@dataclass(frozen=True)
class OnBehalfOf:
    """The person or enterprise a window clerk (walk-in) or a village agent (代办) applies for."""

    name: str
    identifier: str  # resident ID number (GB 11643) or unified social credit code (GB 32100)
    kind: str = ApplicantKind.RESIDENT  # or "enterprise"
    mobile: str = ""
    id_checked: bool = False  # window clerk confirms they checked the ID document
    consent_method: str = ""  # agent: "signed_form" (needs consent_material_id) | "in_person"
    consent_reference: str = ""
    consent_material_id: str | None = None


@dataclass(frozen=True)
class _Applicant:
    kind: str
    name: str
    identifier: str
    user: User | None


AGENT_CONSENT_METHODS = (AgentConsent.Method.SIGNED_FORM, AgentConsent.Method.IN_PERSON)


def _request_hash(
    service_code: str,
    form: dict[str, Any],
    material_ids: Sequence[str],
    channel: str,
    on_behalf_of: OnBehalfOf | None,
) -> str:
    payload = {
        "service_code": service_code,
        "form": form,
        "materials": sorted(str(material_id) for material_id in material_ids),
        "channel": channel,
        "on_behalf_of": asdict(on_behalf_of) if on_behalf_of else None,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replayed(existing: Application, request_hash: str) -> tuple[Application, bool]:
    if existing.request_hash != request_hash:
        raise RuleViolation(
            "idempotency_key_reused",
            "该幂等键已用于另一份不同内容的申请。",
            "This Idempotency-Key was already used for a different application.",
        )
    return existing, False


def _existing(acting_user: User, idempotency_key: str) -> Application | None:
    if not idempotency_key:
        return None
    # Nearly every key is new: look for the id alone, and load the application only for a replay.
    found = list(
        Application.objects.filter(submitted_by=acting_user, idempotency_key=idempotency_key)
        .order_by()
        .values_list("pk", flat=True)[:1]
    )
    if not found:
        return None
    return Application.objects.select_related("service", "version").get(pk=found[0])


def _check_channel(acting_user: User, channel: str, on_behalf_of: OnBehalfOf | None) -> None:
    """Who may use which channel: oneself on web/API, clerks at the window, agents with consent."""
    if channel not in Channel.values:
        raise RuleViolation(
            "channel_unknown", f"渠道“{channel}”无效。", f"Channel '{channel}' is not valid.", field="channel"
        )
    if channel in {Channel.WEB, Channel.API}:
        needed = Permission.APPLY
        if on_behalf_of is not None:
            raise RuleViolation(
                "on_behalf_of_not_allowed",
                "通过网上或接口渠道只能为本人（或本企业）申请。",
                "On the web or API channel you can only apply for yourself (or your enterprise).",
                field="on_behalf_of",
            )
    else:
        needed = Permission.ACCEPT_APPLICATIONS if channel == Channel.WINDOW else Permission.APPLY_AS_AGENT
    if not user_has_permission(acting_user, needed):
        raise permission_denied(acting_user, needed, object_type="application")
    if channel in {Channel.WINDOW, Channel.AGENT} and on_behalf_of is None:
        raise RuleViolation(
            "on_behalf_of_required",
            "窗口或代办申请须填写申请人信息。",
            "A window or agent application needs the applicant's details.",
            field="on_behalf_of",
        )


def _self_applicant(acting_user: User) -> _Applicant:
    if acting_user.kind == Kind.ENTERPRISE:
        if not acting_user.enterprise_credit_code:
            raise RuleViolation(
                "enterprise_identity_missing",
                "您的账户尚未绑定企业统一社会信用代码，不能以企业名义申请。",
                "Your account has no enterprise credit code yet; you cannot apply for an enterprise.",
            )
        return _Applicant(
            kind=ApplicantKind.ENTERPRISE,
            name=acting_user.enterprise_name or str(acting_user),
            identifier=acting_user.enterprise_credit_code,
            user=acting_user,
        )
    if not acting_user.id_number:
        raise RuleViolation(
            "identity_missing",
            "请先在账户中完成实名认证（居民身份证号码）再申请。",
            "Verify your real name (resident ID number) in your account before applying.",
        )
    return _Applicant(
        kind=ApplicantKind.RESIDENT,
        name=acting_user.get_full_name() or acting_user.display_name or acting_user.username,
        identifier=acting_user.id_number,
        user=acting_user,
    )


def _on_behalf_errors(on_behalf_of: OnBehalfOf, channel: str) -> tuple[str, list[FieldError]]:
    errors: list[FieldError] = []
    identifier = on_behalf_of.identifier
    if not on_behalf_of.name.strip():
        errors.append(
            FieldError(
                "on_behalf_of.name", "required", "请填写申请人姓名或名称。", "Enter the applicant's name."
            )
        )
    if on_behalf_of.kind not in ApplicantKind.values:
        errors.append(
            FieldError(
                "on_behalf_of.kind",
                "invalid",
                "申请人类型应为居民或企业。",
                "The applicant is a resident or an enterprise.",
            )
        )
    else:
        try:
            identifier = (
                validate_id_number(identifier)
                if on_behalf_of.kind == ApplicantKind.RESIDENT
                else validate_credit_code(identifier)
            )
        except InvalidIdentifier as invalid:
            errors.append(
                FieldError(
                    "on_behalf_of.identifier", str(invalid.code), invalid.message_zh, invalid.message_en
                )
            )
    if on_behalf_of.mobile:
        try:
            validate_mobile(on_behalf_of.mobile)
        except InvalidIdentifier as invalid:
            errors.append(
                FieldError("on_behalf_of.mobile", str(invalid.code), invalid.message_zh, invalid.message_en)
            )
    if channel == Channel.WINDOW and not on_behalf_of.id_checked:
        errors.append(
            FieldError(
                "on_behalf_of.id_checked",
                "id_not_checked",
                "请核验申请人的身份证件后勾选确认。",
                "Check the applicant's identity document and confirm it.",
            )
        )
    if channel == Channel.AGENT:
        if on_behalf_of.consent_method not in AGENT_CONSENT_METHODS:
            errors.append(
                FieldError(
                    "on_behalf_of.consent_method",
                    "consent_required",
                    "代办须记录申请人的授权方式：签字授权书或本人到场。",
                    "Record the applicant's consent: a signed consent form or in person.",
                )
            )
        elif (
            on_behalf_of.consent_method == AgentConsent.Method.SIGNED_FORM
            and not on_behalf_of.consent_material_id
        ):
            errors.append(
                FieldError(
                    "on_behalf_of.consent_material_id",
                    "consent_form_required",
                    "请上传申请人签字的授权书。",
                    "Upload the consent form the applicant signed.",
                )
            )
    return identifier, errors


def _linked_user(kind: str, identifier: str) -> User | None:
    if kind == ApplicantKind.RESIDENT:
        return User.objects.filter(id_number=identifier, is_active=True, kind=Kind.RESIDENT).first()
    return (
        User.objects.filter(enterprise_credit_code=identifier, is_active=True, kind=Kind.ENTERPRISE)
        .order_by("pk")
        .first()
    )


def _materials(acting_user: User, material_ids: Sequence[str], field: str = "materials") -> list[Material]:
    """The caller's own unattached uploads, in the order given; any other id is a field error."""
    wanted: list[uuid.UUID] = []
    for position, material_id in enumerate(material_ids):
        try:
            wanted.append(uuid.UUID(str(material_id)))
        except ValueError:
            raise FieldErrors(
                [
                    FieldError(
                        f"{field}.{position}",
                        "material_unknown",
                        f"材料编号“{material_id}”无效。",
                        f"Material id '{material_id}' is not valid.",
                    )
                ]
            ) from None
    if not wanted:
        return []
    found = {
        material.pk: material
        for material in Material.objects.filter(
            pk__in=wanted, uploaded_by=acting_user, application__isnull=True
        )
    }
    errors = [
        FieldError(
            f"{field}.{position}",
            "material_unknown",
            "找不到该材料，或它已用于其他申请。",
            "This material was not found or is already attached to another application.",
        )
        for position, material_id in enumerate(wanted)
        if material_id not in found
    ]
    if errors:
        raise FieldErrors(errors)
    return [found[material_id] for material_id in dict.fromkeys(wanted)]


def _published(service_code: str) -> tuple[Service, ServiceVersion]:
    try:
        return published_service(service_code)
    except Http404:
        raise RuleViolation(
            "service_not_found",
            f"事项“{service_code}”不存在或未发布。",
            f"Service '{service_code}' does not exist or is not published.",
            field="service_code",
            status=404,
        ) from None


def form_errors(version: ServiceVersion, form: dict[str, Any]) -> list[FieldError]:
    """Validate ``form`` against the version's JSON Schema (one bilingual error per field)."""
    return validate_form(version.form_schema, form)


def materials_held_codes(version: ServiceVersion, kind: str, identifier: str, name: str) -> set[str]:
    """Codes of the version's materials that the government already holds for this applicant (免提交)."""
    return materials_held(version.materials, Identity(kind=kind, identifier=identifier, name=name))


def missing_material_specs(
    version: ServiceVersion, held: set[str], attached_codes: set[str]
) -> list[dict[str, Any]]:
    """Every required material not held by the government and with no attached material of its code."""
    return [
        spec
        for spec in version.materials
        if spec.get("required", True)
        and spec.get("code") not in held
        and spec.get("code") not in attached_codes
    ]


def application_accept_now(
    application: Application,
    *,
    acting_user: User | None,
    note: str,
    note_en: str,
    accepted_at: datetime | None = None,
) -> None:
    """Accept the locked application (即办, a clerk, or deemed) and start its processing.

    Due dates count from the acceptance day, ``accepted_at`` (default now).
    """
    application_transition(application, **accept_fields(application, accepted_at or timezone.now()))
    event_add(application, kind="accepted", actor=acting_user, note=note, note_en=note_en)
    application_processing_start(application)


def _consent_material(acting_user: User, on_behalf_of: OnBehalfOf) -> Material | None:
    if on_behalf_of.consent_method != AgentConsent.Method.SIGNED_FORM or not on_behalf_of.consent_material_id:
        return None
    return _materials(
        acting_user, [on_behalf_of.consent_material_id], field="on_behalf_of.consent_material_id"
    )[0]


def application_submit(
    *,
    acting_user: User,
    service_code: str,
    form: dict[str, Any],
    material_ids: Sequence[str] = (),
    channel: str,
    idempotency_key: str = "",
    on_behalf_of: OnBehalfOf | None = None,
    service_point: ServicePoint | None = None,
) -> tuple[Application, bool]:
    """Submit an application; returns ``(application, created)``.

    The same ``acting_user`` and ``idempotency_key`` give back the first application (``created`` False)
    when the payload is the same, and ``idempotency_key_reused`` (422) when it differs; two concurrent
    duplicates meet at the unique constraint and the loser re-reads the winner. An invalid form raises
    :class:`FieldErrors` and creates nothing. Complete applications of 即办 / auto-accept versions are
    accepted at once (Administrative Licensing Law Art. 32) and their processing starts.
    """
    idempotency_key = idempotency_key.strip()[:100]
    request_hash = _request_hash(service_code, form, material_ids, channel, on_behalf_of)
    existing = _existing(acting_user, idempotency_key)
    if existing is not None:
        return _replayed(existing, request_hash)

    _check_channel(acting_user, channel, on_behalf_of)
    service, version = _published(service_code)
    if on_behalf_of is None:
        applicant = _self_applicant(acting_user)
    else:
        identifier, identity_errors = _on_behalf_errors(on_behalf_of, channel)
        if identity_errors:
            raise FieldErrors(identity_errors)
        applicant = _Applicant(
            kind=on_behalf_of.kind,
            name=on_behalf_of.name.strip(),
            identifier=identifier,
            user=_linked_user(on_behalf_of.kind, identifier),
        )
    if applicant.kind not in (version.audience or []):
        raise RuleViolation(
            "audience_not_allowed",
            "该事项不面向此类申请人。",
            f"This service is not offered to applicants of kind '{applicant.kind}'.",
        )
    if channel not in (version.channels or []):
        raise RuleViolation(
            "channel_not_allowed",
            "该事项不能通过此渠道申请。",
            f"This service cannot be applied for through the '{channel}' channel.",
            field="channel",
        )
    errors = form_errors(version, form)
    if errors:
        raise FieldErrors(errors)
    department_codes = version_department_codes(version)
    held = materials_held_codes(version, applicant.kind, applicant.identifier, applicant.name)

    with transaction.atomic():
        # A duplicate that raced past the check above meets the unique constraint below.
        materials = _materials(acting_user, material_ids)
        consent_material = _consent_material(acting_user, on_behalf_of) if on_behalf_of else None
        now = timezone.now()
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    tracking_no=tracking_no_next(now=now),
                    service=service,
                    version=version,
                    status=Status.SUBMITTED,
                    channel=channel,
                    applicant=applicant.user,
                    applicant_kind=applicant.kind,
                    applicant_name=applicant.name,
                    applicant_identifier=applicant.identifier,
                    submitted_by=acting_user,
                    service_point=service_point,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash if idempotency_key else "",
                    form_data=form,
                    department_codes=department_codes,
                    submitted_at=now,
                )
        except IntegrityError:
            existing = _existing(acting_user, idempotency_key)
            if existing is None:
                raise
            return _replayed(existing, request_hash)
        application.service = service
        application.version = version
        _attach(acting_user, application, materials)
        # Once-only: the verified data of the 免提交 materials, kept with the case (audited per fetch).
        verified_extracts_attach(application=application, acting_user=acting_user, held=held)
        if on_behalf_of is not None and channel == Channel.AGENT:
            if consent_material is not None:
                _attach(acting_user, application, [consent_material])
            AgentConsent.objects.create(
                application=application,
                agent=acting_user,
                method=on_behalf_of.consent_method,
                reference=on_behalf_of.consent_reference[:200],
                material=consent_material,
                recorded_at=now,
            )
        event_add(
            application,
            kind="submitted",
            actor=acting_user,
            note=_submitted_note(channel)[0],
            note_en=_submitted_note(channel)[1],
            at=now,
        )
        document_add(application, Document.Kind.RECEIPT, f"受理回执 {application.tracking_no}")
        attached_codes = {material.material_code for material in materials if material.material_code}
        complete = not missing_material_specs(version, held, attached_codes)
        if complete and (version.auto_accept or version.case_type == "1"):
            application_accept_now(
                application,
                acting_user=None,
                note="材料齐全，系统自动受理",
                note_en="Complete: accepted automatically",
            )
        applicant_notify(
            application,
            kind="application_submitted",
            title=f"申请已提交：{version.name}（{application.tracking_no}）",
            title_en=f"Application submitted: {version.name_en or version.name} ({application.tracking_no})",
            body=f"办件编号 {application.tracking_no}，当前状态：{_status_zh(application)}。",
            body_en=f"Tracking number {application.tracking_no}; status: {application.status}.",
        )
        audit_append(
            action="application.submitted",
            acting_user=acting_user,
            object_type="application",
            object_id=application.tracking_no,
            details={
                "service_code": service.code,
                "version": version.number,
                "channel": channel,
                "status": application.status,
                "on_behalf": on_behalf_of is not None,
                "materials": len(materials),
            },
        )
    return application, True


def _attach(acting_user: User, application: Application, materials: Sequence[Material]) -> None:
    for material in materials:
        material_attach(acting_user=acting_user, material=material, application=application)


def _status_zh(application: Application) -> str:
    return STATUS_NAMES.get(application.status, (application.status, ""))[0]


def _submitted_note(channel: str) -> tuple[str, str]:
    notes: dict[str, tuple[str, str]] = {
        Channel.WEB: ("网上提交申请", "Submitted on the web portal"),
        Channel.API: ("通过移动端/自助终端提交申请", "Submitted through an app or kiosk"),
        Channel.WINDOW: ("窗口人员代为录入申请（已核验身份证件）", "Entered by a window clerk (ID checked)"),
        Channel.AGENT: (
            "代办员代为提交申请（已记录申请人授权）",
            "Submitted by a village agent (consent recorded)",
        ),
    }
    return notes.get(channel, ("提交申请", "Submitted"))
