"""Publish the demo processes (``processes/*.bpmn``) for the demo services: part of ``demo_load``.

Idempotent: a key whose published version has the same SHA-256 as its file is left alone; a changed file
becomes the next version, published (the previous one retired). Each model is validated like an upload.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.core.errors import RuleViolation
from onewindow.services.models import ServiceVersion
from onewindow.workflow import engine
from onewindow.workflow.models import DefinitionStatus, ProcessDefinition
from onewindow.workflow.processes import demo_process_files
from onewindow.workflow.validation import bpmn_validate


def demo_processes_load(*, acting_user: User | None = None) -> int:
    """Publish every demo process whose key a demo service uses; returns how many versions were added."""
    added = 0
    owners = dict(
        ServiceVersion.objects.exclude(process_key="").values_list("process_key", "service__department__code")
    )
    now = timezone.now()
    with transaction.atomic():
        for key, content in demo_process_files().items():
            if key not in owners:
                continue
            bpmn_xml = content.decode()
            problems = bpmn_validate(bpmn_xml)
            if problems:
                first = problems[0]
                raise RuleViolation(
                    "demo_process_invalid",
                    f"演示流程 {key} 无效：{first.message_zh}",
                    f"Demo process {key} is invalid: {first.message_en}",
                )
            sha256 = hashlib.sha256(content).hexdigest()
            versions = ProcessDefinition.objects.select_for_update().filter(key=key)
            if versions.filter(status=DefinitionStatus.PUBLISHED, sha256=sha256).exists():
                continue
            parsed = engine.process_parse(bpmn_xml)
            latest = versions.order_by("-version").first()
            versions.filter(status=DefinitionStatus.PUBLISHED).update(status=DefinitionStatus.RETIRED)
            ProcessDefinition.objects.create(
                key=key,
                version=(latest.version + 1) if latest else 1,
                status=DefinitionStatus.PUBLISHED,
                department_code=owners[key],
                bpmn_xml=bpmn_xml,
                process_id=parsed.process_id,
                sha256=sha256,
                result_keys=parsed.result_keys,
                created_by=acting_user,
                created_at=now,
                published_at=now,
                published_by=acting_user,
            )
            added += 1
    return added
