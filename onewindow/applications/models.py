"""Applications (办件): one per submission, on the service version it started on.

Status values are machine-readable and part of the API contract. An application belongs to its applicant
(a resident or an enterprise, identified by ID number or unified social credit code; linked to their
account when they have one) and records who submitted it and through which channel (web, API, window
clerk for a walk-in, village agent with the applicant's recorded consent).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.registry.protection import EncryptedTextField
from onewindow.services.models import Channel


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
    IN_PROGRESS = "in_progress", _("In progress")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Before a decision the applicant may withdraw; after one of these nothing changes the status again.
OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.ACCEPTED, Status.SUPPLEMENT_REQUESTED, Status.IN_PROGRESS}
)
FINAL_STATUSES = frozenset({Status.NOT_ACCEPTED, Status.APPROVED, Status.REJECTED, Status.WITHDRAWN})
DECIDED_STATUSES = frozenset({Status.APPROVED, Status.REJECTED})


class ApplicantKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    ENTERPRISE = "enterprise", _("Enterprise")


class Application(models.Model):
    tracking_no = models.CharField(_("tracking number"), max_length=24, unique=True)
    service = models.ForeignKey("services.Service", on_delete=models.PROTECT, related_name="applications")
    version = models.ForeignKey(
        "services.ServiceVersion", on_delete=models.PROTECT, related_name="applications"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)

    # Who it is for. ``applicant`` is set when the applicant has an account (matched by ID number / credit
    # code for walk-ins and agent applications), so it shows in their own account.
    applicant = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    applicant_kind = models.CharField(
        max_length=10, choices=ApplicantKind.choices, default=ApplicantKind.RESIDENT
    )
    applicant_name = models.CharField(_("applicant name"), max_length=200)
    applicant_identifier = models.CharField(_("ID number or credit code"), max_length=18, db_index=True)
    # Who entered it: the applicant themself, a window clerk or a village agent.
    submitted_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="submitted_applications"
    )
    service_point = models.ForeignKey(
        "organisations.ServicePoint", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    # SHA-256 of the submitted request, so a replayed key with a different payload is refused.
    request_hash = models.CharField(max_length=64, blank=True)

    form_data = models.JSONField(_("form"), default=dict)
    # Department codes that must act on it (the item's department, or every component's for a bundle).
    department_codes = models.JSONField(default=list)
    # Departments working on it now (kept by the back-office process; empty before acceptance).
    pending_department_codes = models.JSONField(default=list)

    submitted_at = models.DateTimeField(_("submitted at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    due_date = models.DateField(_("promised due date"), null=True, blank=True)
    statutory_due_date = models.DateField(_("statutory due date"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # {outcome, reason, decided_at, results} once decided (the back-office issue fills ``results``).
    decision = models.JSONField(null=True, blank=True)
    # Optimistic concurrency: every status change bumps it (``F("row_version") + 1`` with a guard).
    row_version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="application_idempotency_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-submitted_at"], name="application_applicant_idx"),
            models.Index(fields=["status", "submitted_at"], name="application_status_idx"),
        ]

    def __str__(self) -> str:
        return self.tracking_no


class AgentConsent(models.Model):
    """The applicant's recorded consent to a village agent applying for them (代办)."""

    class Method(models.TextChoices):
        SIGNED_FORM = "signed_form", _("Signed consent form (uploaded)")
        IN_PERSON = "in_person", _("In person at the service point, ID checked")
        ACCOUNT = "account", _("Granted in the resident's own account")

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="agent_consent")
    agent = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=12, choices=Method.choices)
    reference = models.CharField(_("consent reference"), max_length=200, blank=True)
    material = models.ForeignKey(
        "materials.Material", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.application_id} consent ({self.method})"


class ApplicationEvent(models.Model):
    """One step on the application's timeline: what happened, who did it, which department."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)  # submitted, accepted, supplement_requested, ...
    status = models.CharField(max_length=20, choices=Status.choices)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department_code = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    note_en = models.TextField(blank=True)
    visible_to_applicant = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="application_event_idx")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class SupplementRequest(models.Model):
    """一次性告知: everything missing, in one notice. ``items`` is a list of
    ``{field, material_code, reason, reason_en}``."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="supplement_requests")
    items = models.JSONField(default=list)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.application_id} supplement request ({len(self.items)} items)"


class Document(models.Model):
    """A document issued on the application: receipt, supplement notice, decision letter, licence."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt (受理回执)")
        SUPPLEMENT_NOTICE = "supplement_notice", _("Supplement notice (一次性告知书)")
        NOT_ACCEPTED_NOTICE = "not_accepted_notice", _("Notice of non-acceptance (不予受理通知书)")
        DECISION = "decision", _("Decision letter")
        LICENCE = "licence", _("Licence")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, default="application/pdf")
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class TrackingCounter(models.Model):
    """Daily sequence behind tracking numbers, per receiving division (see docs/applications.md)."""

    division_code = models.CharField(max_length=6)
    day = models.DateField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["division_code", "day"], name="tracking_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.division_code} {self.day} #{self.value}"


class Draft(models.Model):
    """A saved, unsubmitted form: one per user and service, resumed where it was left."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="application_drafts")
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey("services.ServiceVersion", on_delete=models.PROTECT, related_name="+")
    form_data = models.JSONField(default=dict)
    material_ids = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="draft_user_service_unique")]

    def __str__(self) -> str:
        return f"draft {self.service_id} by {self.user_id}"


class Review(models.Model):
    """好差评 (GB/T 39046-2020 §6.6): one rating per case online; level stored by name."""

    class Level(models.TextChoices):
        VERY_SATISFIED = "very_satisfied", _("Very satisfied (非常满意)")
        SATISFIED = "satisfied", _("Satisfied (满意)")
        BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied (基本满意)")
        DISSATISFIED = "dissatisfied", _("Dissatisfied (不满意)")
        VERY_DISSATISFIED = "very_dissatisfied", _("Very dissatisfied (非常不满意)")

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="review")
    rater = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()  # 1 (very dissatisfied) .. 5 (very satisfied)
    level = models.CharField(max_length=20, choices=Level.choices)
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    service_code = models.CharField(max_length=40, db_index=True)
    department_code = models.CharField(max_length=20, db_index=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.application_id} review {self.score}"


class ReviewFollowUp(models.Model):
    """A bad review's follow-up task for the department that handled the case (谁办理、谁负责)."""

    class FollowUpStatus(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="follow_up")
    department = models.ForeignKey("organisations.Department", on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    response = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"follow-up of review {self.review_id} ({self.status})"


class VerifiedExtract(models.Model):
    """Verified data of a 免提交 material, fetched from a base registry and kept with the case (once-only:
    the applicant need not submit what the government holds; docs/registry.md, "Once-only").

    One per application and material, written with the submission (or the acceptance at the window) in the
    same transaction as its audit record ``registry.extract_fetched``. ``data_text`` is the encrypted JSON of
    the fields the material shows (personal data, encrypted at rest like the registry's own columns and
    re-encrypted by ``registry_rotate_keys``). Never changed afterwards: it is what the case was decided on.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="verified_extracts")
    material_code = models.CharField(_("material"), max_length=64)
    resource = models.CharField(_("information resource"), max_length=64)  # e.g. "population.id_card"
    source = models.CharField(_("source"), max_length=20, default="registry")
    # The version of the registry record the data was read from.
    record_version = models.PositiveIntegerField(null=True, blank=True)
    data_text = EncryptedTextField(_("data"))
    fetched_at = models.DateTimeField(_("fetched at"))
    fetched_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("verified extract")
        verbose_name_plural = _("verified extracts")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material_code"], name="verified_extract_material_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.material_code} ({self.resource})"

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.data_text) if self.data_text else {}
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self.data_text = json.dumps(value, ensure_ascii=False)
