"""The service catalog (DOMAIN.md §2): business domains → business lines → service items and bundles.

A service (item or bundle, "一件事") has numbered versions; a version is a draft until published, and a
published version never changes (actions refuse; every application keeps the version it started on).
A bundle version lists its component item versions and carries, from publication, the merged form and the
merged, de-duplicated materials list, so an application reads ``version.form_schema`` and
``version.materials`` whatever the kind.
"""

from __future__ import annotations

from typing import TypedDict

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.organisations.models import Department


class BusinessDomain(models.Model):
    """A business domain of the top-level design (e.g. market access, social security)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BusinessLine(models.Model):
    """A business line within a domain; service items hang from it across departments."""

    domain = models.ForeignKey(BusinessDomain, on_delete=models.PROTECT, related_name="lines")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LifeEvent(models.Model):
    """A life or business event residents browse by (birth, opening a company, moving house)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    audience = models.CharField(_("audience"), max_length=12, default="resident")  # resident | enterprise
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ServiceKind(models.TextChoices):
    ITEM = "item", _("Service item")
    BUNDLE = "bundle", _("Bundle (one event, one application)")


class Category(models.TextChoices):
    """Categories of service items (DOMAIN.md §2)."""

    LICENSING = "licensing", _("Administrative licensing (行政许可)")
    CONFIRMATION = "confirmation", _("Administrative confirmation (行政确认)")
    PAYMENT = "payment", _("Administrative payment (行政给付)")
    LEVY = "levy", _("Administrative levy (行政征收)")
    REWARD = "reward", _("Administrative reward (行政奖励)")
    ADJUDICATION = "adjudication", _("Administrative adjudication (行政裁决)")
    INSPECTION = "inspection", _("Administrative inspection (行政检查)")
    PENALTY = "penalty", _("Administrative penalty (行政处罚)")
    ENFORCEMENT = "enforcement", _("Administrative enforcement (行政强制)")
    OTHER_POWER = "other_power", _("Other administrative power (其他行政权力)")
    PUBLIC_SERVICE = "public_service", _("Public service (公共服务)")


class Stage(models.TextChoices):
    """The five stages of e-government maturity (UN/ASPA 2002)."""

    EMERGING = "emerging", _("Emerging")
    ENHANCED = "enhanced", _("Enhanced (one-way information)")
    INTERACTIVE = "interactive", _("Interactive (two-way)")
    TRANSACTIONAL = "transactional", _("Transactional (online processing)")
    SEAMLESS = "seamless", _("Seamless (connected across departments)")


class CaseType(models.TextChoices):
    """办件类型, GB/T 39046-2020 Table A.6."""

    ON_THE_SPOT = "1", _("Settled on the spot (即办件)")
    PROMISED = "2", _("Settled within the promised limit (承诺件)")
    OTHER = "9", _("Other")


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    API = "api", _("API (apps, kiosks)")
    WINDOW = "window", _("Window clerk")
    AGENT = "agent", _("Village agent")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class MaterialSpec(TypedDict, total=False):
    """One required material of a version (``ServiceVersion.materials`` is a list of these).

    ``code`` identifies it across items (bundles de-duplicate on it); ``shared_resource`` names the
    information resource the government already holds it as (then it is 免提交 when the pre-fill sources
    find it for the applicant); ``required`` false means optional.
    """

    code: str
    name: str
    name_en: str
    required: bool
    copies: int
    shared_resource: str
    note: str
    note_en: str


class Service(models.Model):
    """A service item or a bundle, by its stable code; what it says lives in its versions."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ServiceKind.choices, default=ServiceKind.ITEM)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="services", verbose_name=_("owning department")
    )
    business_line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, null=True, blank=True, related_name="services"
    )
    life_events = models.ManyToManyField(LifeEvent, blank=True, related_name="services")
    current_version = models.ForeignKey(
        "ServiceVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The published version new applications start on."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ServiceVersion(models.Model):
    """One version of a service. Published versions are immutable (actions enforce it)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("English summary"), blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.PUBLIC_SERVICE
    )
    legal_basis = models.TextField(_("legal basis"), blank=True)
    # ["resident"], ["enterprise"] or both.
    audience = models.JSONField(_("audience"), default=list)
    materials = models.JSONField(_("materials"), default=list)  # list[MaterialSpec]
    statutory_days = models.PositiveSmallIntegerField(_("statutory limit (working days)"), default=20)
    promised_days = models.PositiveSmallIntegerField(_("promised limit (working days)"), default=20)
    fee = models.CharField(_("fee"), max_length=200, blank=True, help_text=_("Empty means free of charge."))
    fee_en = models.CharField(_("English fee"), max_length=200, blank=True)
    on_site_trips = models.PositiveSmallIntegerField(_("on-site trips"), default=0)
    stage = models.CharField(
        _("maturity stage"), max_length=14, choices=Stage.choices, default=Stage.INTERACTIVE
    )
    channels = models.JSONField(_("channels"), default=list)  # list of Channel values
    case_type = models.CharField(
        _("case type"), max_length=1, choices=CaseType.choices, default=CaseType.PROMISED
    )
    auto_accept = models.BooleanField(
        _("accepted automatically when complete"),
        default=False,
        help_text=_("Accept without a clerk when the form is valid and every required material is present."),
    )
    form_schema = models.JSONField(_("form (JSON Schema 2020-12)"), default=dict)
    # Bundles: true when ``form_schema`` was merged from the components at publication (rather than
    # designed by the department admin), so the next draft merges again instead of keeping a stale copy.
    form_schema_merged = models.BooleanField(default=False)
    process_key = models.CharField(
        _("back-office process"),
        max_length=80,
        blank=True,
        help_text=_("The BPMN process started on acceptance."),
    )
    # Bundles: the component item versions (published), in order.
    components: models.ManyToManyField[ServiceVersion, BundleComponent] = models.ManyToManyField(
        "self", symmetrical=False, through="BundleComponent", related_name="bundles", blank=True
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["service__code", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="service_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} v{self.number}"


class BundleComponent(models.Model):
    """A published item version that a bundle version combines."""

    bundle_version = models.ForeignKey(
        ServiceVersion, on_delete=models.CASCADE, related_name="component_links"
    )
    item_version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle_version", "item_version"], name="bundle_component_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_version_id} ⊃ {self.item_version_id}"


class ServiceSearchDocument(models.Model):
    """The search text of a service's current published version: jieba tokens joined by spaces.

    Written by the publish action (never by signals). PostgreSQL searches it through a GIN index on
    ``to_tsvector('simple', tokens)``; SQLite through the FTS5 table ``services_search_fts`` that the
    same action keeps in step (both created by migration 0002).
    """

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    tokens = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"search document of {self.service_id}"
