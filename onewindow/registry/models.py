"""The population register (户籍): households, persons and every version of a person's record.

ID numbers, names, former names and addresses are encrypted at rest (``EncryptedTextField``); the ID number
is found through its keyed hash ``id_number_index`` (HMAC-SM3, ``protection.blind_index``), never through a
plaintext index. A person's history is a chain of ``PersonVersion`` rows that actions only ever add to.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.core.validators import Gender
from onewindow.registry.ethnicity import ETHNICITY_CHOICES
from onewindow.registry.protection import EncryptedTextField


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Relation(models.TextChoices):
    """Relation to the head of household (the main groups of GB/T 4761 家庭关系代码)."""

    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Brother or sister")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    NON_RELATIVE = "non_relative", _("Not related")


class VersionKind(models.TextChoices):
    BORN = "born", _("Birth registration")
    MOVED = "moved", _("Transfer (move-out and move-in)")
    DECEASED = "deceased", _("Death deregistration")
    RENAMED = "renamed", _("Change of name")
    CORRECTED = "corrected", _("Correction of an error")
    IMPORTED = "imported", _("Bulk import")


class Household(models.Model):
    """A household (户): its number, the division it is registered in, its address and its head."""

    household_no = models.CharField(_("household number"), max_length=20, unique=True)
    division = models.ForeignKey(
        "organisations.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("division")
    )
    address = EncryptedTextField(_("address"), blank=True)
    # No database-level foreign key: on PostgreSQL ``registry_person`` is partitioned and its primary key is
    # (id, province_code), so nothing can reference ``id`` alone (docs/scaling.md). The same holds for every
    # foreign key to Person; the actions keep these references right.
    head = models.ForeignKey(
        "registry.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("head of household"),
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["household_no"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.household_no


class Person(models.Model):
    """A person's current record. Only the registry's actions change it, each adding a ``PersonVersion``."""

    id_number = EncryptedTextField(_("ID number"))
    # HMAC-SM3 of the ID number: the only way to find a person by ID number (equality only: indexed in
    # Meta.indexes, without the varchar_pattern_ops twin ``db_index`` adds on PostgreSQL for LIKE, which a
    # hash never needs and which cost a third of the table's index space; docs/scaling.md).
    id_number_index = models.CharField(max_length=64)
    # The province that issued the ID number (its first two digits, GB/T 2260): fixed for life like the
    # number itself. On PostgreSQL the table is partitioned by it (docs/scaling.md), so a lookup by ID
    # number reads one partition and "one active record per ID number" holds across partitions.
    province_code = models.CharField(_("issuing province"), max_length=2, default="")
    name = EncryptedTextField(_("name"))
    # Encrypted text of a JSON list of earlier names, oldest first.
    former_names_text = EncryptedTextField(_("former names"), blank=True)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, choices=ETHNICITY_CHOICES)
    birth_date = models.DateField(_("birth date"))
    birthplace_code = models.CharField(_("birthplace division code"), max_length=12)
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("household")
    )
    relation_to_head = models.CharField(_("relation to the head"), max_length=20, choices=Relation.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    died_on = models.DateField(_("date of death"), null=True, blank=True)
    # The number of the latest PersonVersion; bumped with F() under the row lock.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        indexes = [models.Index(fields=["id_number_index"], name="registry_person_id_index_idx")]
        constraints = [
            # One ID number, one active record (GB 11643-1999: a citizen's number is unique and for life).
            # The province is in the key because a unique index on a partitioned table must hold the
            # partition key; it is still unique per ID number, whose province never changes.
            models.UniqueConstraint(
                fields=["id_number_index", "province_code"],
                condition=models.Q(status="active"),
                name="registry_person_active_id_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"person {self.pk}"

    def _do_update(
        self,
        base_qs: models.QuerySet[Person],
        using: str | None,
        pk_val: Any,
        values: Collection[tuple[models.Field[Any, Any], type[models.Model] | None, Any]],
        update_fields: Iterable[str] | None,
        forced_update: bool,
    ) -> bool:
        # save() updates "WHERE id = …", which on the partitioned table is planned against every partition
        # (measured: about 5 ms of planning); with the province too it is planned against one. The province
        # never changes, so the row is always where this finds it (docs/scaling.md).
        return super()._do_update(
            base_qs.filter(province_code=self.province_code),
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
        )

    @property
    def former_names(self) -> list[str]:
        if not self.former_names_text:
            return []
        names: list[str] = json.loads(self.former_names_text)
        return names

    @former_names.setter
    def former_names(self, names: list[str]) -> None:
        self.former_names_text = json.dumps(names, ensure_ascii=False) if names else ""


class RecordVersion(models.Model):
    """What every registry version records besides its snapshot: the changed fields, who, for which case,
    why, when. Versions are only ever inserted."""

    version = models.PositiveIntegerField()
    changed = models.JSONField(default=list)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case_tracking_no = models.CharField(_("case"), max_length=24, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class PersonVersion(RecordVersion):
    """One version of a person's record: what it became, from when, who changed it and for which case.

    Never updated or deleted by the platform. ``snapshot`` is the encrypted JSON of the whole record after
    the change (so key rotation re-encrypts it like any other encrypted field); ``changed`` names the fields
    the change touched, in the clear.
    """

    # No database-level foreign key to the partitioned person table (see Household.head).
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="versions", db_constraint=False)
    kind = models.CharField(max_length=10, choices=VersionKind.choices)
    effective_on = models.DateField(_("effective on"))
    snapshot = EncryptedTextField()

    class Meta:
        ordering = ["person", "version"]
        verbose_name = _("person version")
        verbose_name_plural = _("person versions")
        constraints = [
            models.UniqueConstraint(fields=["person", "version"], name="registry_person_version_unique"),
        ]

    def __str__(self) -> str:
        return f"person {self.person_id} v{self.version}"

    @property
    def snapshot_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.snapshot)
        return data


class ImportKind(models.TextChoices):
    PERSONS = "persons", _("Persons")
    ENTITIES = "entities", _("Legal entities")


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One bulk import of a CSV file (``onewindow registry import``), found again by the file's SHA-256.

    Progress is committed with each batch (``lines_done``, ``bytes_done``), so an import that crashed
    resumes after its last committed batch, and a file already imported in full adds nothing.
    """

    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    file_name = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    # The last data line (1-based, the header is line 1) and byte offset whose batch is committed.
    lines_done = models.BigIntegerField(default=1)
    bytes_done = models.BigIntegerField(default=0)
    imported = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            models.UniqueConstraint(fields=["kind", "file_sha256"], name="registry_import_job_file_unique"),
        ]

    def __str__(self) -> str:
        return f"import {self.kind} {self.file_name}"


from onewindow.registry.models_entities import LegalEntity, LegalEntityVersion  # noqa: E402, F401
