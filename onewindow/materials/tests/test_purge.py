"""Unattached uploads are deleted after a while (PIPL Art. 19: personal information is kept no longer than
needed); attached ones stay with their application (GB/T 22239-2019 §8.1.4.3: the purge is audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from onewindow.applications.models import AgentConsent, Application
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.materials.actions import material_attach, material_purge_unattached, material_upload
from onewindow.materials.models import Material
from onewindow.materials.tests.samples import PDF, upload

pytestmark = pytest.mark.django_db
Files = Callable[[], list[Path]]


def aged(material: Material, days: int) -> Material:
    Material.objects.filter(pk=material.pk).update(created_at=timezone.now() - timedelta(days=days))
    return material


def test_old_unattached_materials_are_purged_with_their_files(
    role_users: dict[str, Any],
    application: Application,
    stored_files: Files,
    django_capture_on_commit_callbacks: Any,
) -> None:
    resident = role_users["resident"]
    old = aged(material_upload(acting_user=resident, uploaded_file=upload(PDF)), 31)
    recent = aged(material_upload(acting_user=resident, uploaded_file=upload(PDF)), 29)
    attached = material_upload(acting_user=resident, uploaded_file=upload(PDF))
    material_attach(acting_user=resident, material=attached, application=application)
    aged(attached, 365)
    consent = aged(material_upload(acting_user=resident, uploaded_file=upload(PDF)), 365)
    AgentConsent.objects.create(
        application=application,
        agent=role_users["village_agent"],
        method=AgentConsent.Method.SIGNED_FORM,
        material=consent,
        recorded_at=timezone.now(),
    )
    assert len(stored_files()) == 4

    with django_capture_on_commit_callbacks(execute=True):
        assert material_purge_unattached(acting_user=None, older_than_days=30) == 1

    assert set(Material.objects.values_list("pk", flat=True)) == {recent.pk, attached.pk, consent.pk}
    assert len(stored_files()) == 3
    assert not Path(old.file.path).exists()
    record = AuditRecord.objects.get(action="material.purged")
    assert record.details == {"count": 1, "older_than_days": 30}


def test_too_short_retention_is_refused(role_users: dict[str, Any]) -> None:
    material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF))
    with pytest.raises(RuleViolation) as excinfo:
        material_purge_unattached(acting_user=None, older_than_days=6)
    assert excinfo.value.code == "retention_too_short"
    assert Material.objects.count() == 1


def test_command(
    role_users: dict[str, Any], stored_files: Files, django_capture_on_commit_callbacks: Any
) -> None:
    aged(material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF)), 10)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("materials_purge_unattached", "--days", "7", stdout=out)

    assert "Purged 1 unattached materials." in out.getvalue()
    assert (Material.objects.count(), stored_files()) == (0, [])
    with pytest.raises(CommandError, match="at least 7 days"):
        call_command("materials_purge_unattached", "--days", "1")
