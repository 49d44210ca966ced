"""The government information resource catalog (政务信息资源目录; GB/T 21063, the 2017 catalog guide).

What a department declares it holds and on what terms others may use it (DOMAIN.md §5):

* :class:`Classification` — the upper levels of the classification tree: the three catalog kinds (类) and
  their items (项). 目 and 细目 are digits the provider chooses inside an item; a resource's full
  classification code is ``类(1) 项(2) 目(3) 细目(0–6)`` and its resource code is that code, ``/``, and a
  six-digit sequence within it (:mod:`onewindow.catalog.codes`).
* :class:`Resource` — one catalogued resource, by its stable code and provider department. What it says
  lives in its versions; ``current_version`` is the one in force. The few fields every list filters on
  (sharing and open type, classification) are copied from the current version by the publishing action,
  so a search over 100,000 resources filters one table.
* :class:`ResourceVersion` — one published version of the core metadata. Never updated: a change publishes
  version n + 1 (``resource_publish_version``), so the history is the list of versions.
* :class:`DataItem` — one data item (信息项) of a version: name, type and its own sharing type.
* :class:`ResourceSearchDocument` — the jieba tokens of the current version (see ``catalog.search``).

Sharing requests, grants, the information-systems register and data-quality measures build on these
models from other modules; they refer to a resource by ``Resource`` (stable) and to the terms they were
granted under by ``ResourceVersion`` and ``DataItem`` rows (immutable), never by copying metadata.

Only the actions in ``catalog.actions`` and ``catalog.sync`` write these tables.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.organisations.models import Department


class CatalogKind(models.TextChoices):
    """The three catalogs (类): the first digit of every classification and resource code."""

    BASE = "1", _("Base information resources (基础信息资源)")
    THEMATIC = "2", _("Thematic information resources (主题信息资源)")
    DEPARTMENTAL = "3", _("Departmental information resources (部门信息资源)")


class SharingType(models.TextChoices):
    """共享类型 (State Council 2016 No. 51, Art. 5). Ordered from most to least open (``SHARING_ORDER``)."""

    UNCONDITIONAL = "unconditional", _("Shared unconditionally (无条件共享)")
    CONDITIONAL = "conditional", _("Shared on conditions (有条件共享)")
    NOT_SHARED = "not_shared", _("Not shared (不予共享)")


SHARING_ORDER = {SharingType.UNCONDITIONAL: 0, SharingType.CONDITIONAL: 1, SharingType.NOT_SHARED: 2}


class SharingMethod(models.TextChoices):
    """共享方式: how a consumer department obtains the data."""

    PLATFORM_API = "platform_api", _("Interface on the sharing platform (共享平台接口)")
    PLATFORM_EXCHANGE = "platform_exchange", _("Table exchange on the sharing platform (共享平台库表交换)")
    FILE = "file", _("File download on the sharing platform (共享平台文件下载)")
    OTHER = "other", _("Other, as agreed with the provider (其他方式)")


class OpenType(models.TextChoices):
    """开放属性: whether the public may obtain it (open data), independent of sharing between departments."""

    OPEN = "open", _("Open (无条件开放)")
    CONDITIONAL = "conditional", _("Conditionally open (有条件开放)")
    NOT_OPEN = "not_open", _("Not open (不予开放)")


# What the public catalogue lists: resources the public may obtain, outright or on conditions.
PUBLIC_OPEN_TYPES = (OpenType.OPEN, OpenType.CONDITIONAL)


class UpdateCycle(models.TextChoices):
    """更新周期."""

    REAL_TIME = "real_time", _("Real time (实时)")
    DAILY = "daily", _("Daily (每日)")
    WEEKLY = "weekly", _("Weekly (每周)")
    MONTHLY = "monthly", _("Monthly (每月)")
    QUARTERLY = "quarterly", _("Quarterly (每季度)")
    HALF_YEARLY = "half_yearly", _("Every six months (每半年)")
    YEARLY = "yearly", _("Yearly (每年)")
    IRREGULAR = "irregular", _("Irregularly (不定期)")


class ResourceFormat(models.TextChoices):
    """信息资源格式: the form the resource exists in (2017 catalog guide)."""

    DATABASE = "database", _("Database (数据库)")
    SPREADSHEET = "spreadsheet", _("Spreadsheet (电子表格)")
    DOCUMENT = "document", _("Electronic document (电子文件)")
    IMAGE = "image", _("Graphics and images (图形图像)")
    STREAMING = "streaming", _("Streaming media (流媒体)")
    SELF_DESCRIBING = "self_describing", _("Self-describing format, XML/JSON (自描述格式)")
    API = "api", _("Service interface (服务接口)")
    OTHER = "other", _("Other (其他)")


class DataType(models.TextChoices):
    """信息项数据类型, with the one-letter codes of the 2017 catalog guide."""

    CHARACTER = "C", _("Character (字符型 C)")
    NUMERIC = "N", _("Numeric (数值型 N)")
    CURRENCY = "Y", _("Currency (货币型 Y)")
    DATE = "D", _("Date (日期型 D)")
    DATETIME = "T", _("Date and time (日期时间型 T)")
    LOGICAL = "L", _("Logical (逻辑型 L)")
    MEMO = "M", _("Long text (备注型 M)")
    GENERAL = "G", _("General, binary (通用型 G)")
    DOUBLE = "B", _("Double precision (双精度型 B)")
    INTEGER = "I", _("Integer (整型 I)")
    FLOAT = "F", _("Floating point (浮点型 F)")


class ResourceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Classification(models.Model):
    """A node of the upper classification: a catalog kind (类, code "1"–"3") or an item (项, 3 digits).

    Base and thematic items are the 2017 guide's (loaded by migration 0002). In the departmental catalog
    each department has its own item, numbered in the order departments first catalogue a resource
    (``department`` set; ``catalog.actions.departmental_section``), so a department's resource codes start
    with ``3`` and its two digits.
    """

    code = models.CharField(_("code"), max_length=3, unique=True)
    kind = models.CharField(_("catalog"), max_length=1, choices=CatalogKind.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="items")
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    department = models.OneToOneField(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="catalog_section",
        verbose_name=_("department (departmental catalog)"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("classification")
        verbose_name_plural = _("classifications")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_item(self) -> bool:
        return len(self.code) == 3


class Resource(models.Model):
    """A catalogued information resource: its code and provider never change; its metadata is versioned.

    ``builtin_key`` marks an entry the platform keeps in step with its own code (``catalog.sync``):
    ``population``, ``legal_entity`` or ``service:<service code>``. Those are changed by the sync only.
    """

    code = models.CharField(_("resource code"), max_length=20, unique=True)
    classification_code = models.CharField(_("classification code"), max_length=12, db_index=True)
    section = models.ForeignKey(
        Classification, on_delete=models.PROTECT, related_name="resources", verbose_name=_("catalog item")
    )
    kind = models.CharField(_("catalog"), max_length=1, choices=CatalogKind.choices)
    provider = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="catalog_resources", verbose_name=_("provider")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ResourceStatus.choices, default=ResourceStatus.ACTIVE
    )
    # Copied from the current version by the publishing action (see the module docstring).
    sharing_type = models.CharField(_("sharing type"), max_length=14, choices=SharingType.choices)
    open_type = models.CharField(_("open attribute"), max_length=12, choices=OpenType.choices)
    current_version = models.ForeignKey(
        "ResourceVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    builtin_key = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("information resource")
        verbose_name_plural = _("information resources")
        constraints = [
            models.UniqueConstraint(
                fields=["builtin_key"],
                condition=~models.Q(builtin_key=""),
                name="catalog_resource_builtin_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "open_type", "code"], name="catalog_resource_public_idx"),
            models.Index(fields=["provider", "status", "code"], name="catalog_resource_provider_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class ResourceVersion(models.Model):
    """One published version of a resource's core metadata (GB/T 21063.3). Never updated."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    abstract = models.TextField(_("abstract"))
    abstract_en = models.TextField(_("English abstract"), blank=True)
    format = models.CharField(_("format"), max_length=16, choices=ResourceFormat.choices)
    sharing_type = models.CharField(_("sharing type"), max_length=14, choices=SharingType.choices)
    # Conditional: the conditions; not shared: the law, regulation or policy that excludes sharing.
    sharing_condition = models.TextField(_("sharing condition or basis"), blank=True)
    sharing_method = models.CharField(
        _("sharing method"), max_length=18, choices=SharingMethod.choices, blank=True
    )
    open_type = models.CharField(_("open attribute"), max_length=12, choices=OpenType.choices)
    open_condition = models.TextField(_("open condition"), blank=True)
    update_cycle = models.CharField(_("update cycle"), max_length=12, choices=UpdateCycle.choices)
    # The provider as it was when this version was published (信息资源提供方 and 提供方代码, the unified
    # social credit code).
    provider_name = models.CharField(_("provider"), max_length=200)
    provider_code = models.CharField(_("provider code"), max_length=18)
    related_codes = models.JSONField(_("related resource codes"), default=list)
    themes = models.ManyToManyField(
        Classification, blank=True, related_name="themed_versions", verbose_name=_("themes")
    )
    change_note = models.CharField(_("what changed"), max_length=500, blank=True)
    published_on = models.DateField(_("publication date"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["resource", "-number"]
        verbose_name = _("resource version")
        verbose_name_plural = _("resource versions")
        constraints = [
            models.UniqueConstraint(fields=["resource", "number"], name="catalog_resource_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} v{self.number}"


class DataItem(models.Model):
    """One data item (信息项) of a resource version; its sharing type is never more open than the resource's.

    ``source_field`` names the model field a built-in entry's item describes (``Person.birth_date``), so the
    sync and its test can tell when the code and the catalog drift apart.
    """

    version = models.ForeignKey(ResourceVersion, on_delete=models.CASCADE, related_name="data_items")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    data_type = models.CharField(_("data type"), max_length=1, choices=DataType.choices)
    length = models.PositiveIntegerField(_("length"), null=True, blank=True)
    sharing_type = models.CharField(_("sharing type"), max_length=14, choices=SharingType.choices)
    description = models.CharField(_("description"), max_length=500, blank=True)
    source_field = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("data item")
        verbose_name_plural = _("data items")
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="catalog_data_item_position_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ResourceSearchDocument(models.Model):
    """The search text of a resource's current version: jieba tokens joined by spaces, and filter tags.

    ``name_tokens`` is the code and names; ``tokens`` everything, tags included (``catalog.search``).
    Written by the publishing and withdrawing actions only. PostgreSQL searches the generated ``tsvector``
    columns ``name_vector`` and ``vector`` (migration 0001, GIN-indexed); SQLite the FTS5 table
    ``catalog_search_fts`` (rowid = resource id) that the same actions keep in step.
    """

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    name_tokens = models.TextField(default="")
    tokens = models.TextField()

    def __str__(self) -> str:
        return f"search document of {self.resource_id}"


# Sharing requests and grants, the information-systems register and the quality measures (issue #7 items
# 4–6) live in their own modules; imported here so Django finds them as this app's models.
from onewindow.catalog.models_sharing import (  # noqa: E402
    Grant,
    GrantStatus,
    ShareRequest,
    ShareRequestEscalation,
    ShareRequestStatus,
)
from onewindow.catalog.models_systems import (  # noqa: E402
    ApprovalStatus,
    InformationSystem,
    InterconnectionStatus,
    ResourceQuality,
    SystemState,
)

__all__ = [
    "PUBLIC_OPEN_TYPES",
    "SHARING_ORDER",
    "ApprovalStatus",
    "CatalogKind",
    "Classification",
    "DataItem",
    "DataType",
    "Grant",
    "GrantStatus",
    "InformationSystem",
    "InterconnectionStatus",
    "OpenType",
    "Resource",
    "ResourceFormat",
    "ResourceQuality",
    "ResourceSearchDocument",
    "ResourceStatus",
    "ResourceVersion",
    "ShareRequest",
    "ShareRequestEscalation",
    "ShareRequestStatus",
    "SharingMethod",
    "SharingType",
    "SystemState",
    "UpdateCycle",
]
