"""Writes of process versions: upload (validated), publish. Checks for the validate endpoint."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone
from SpiffWorkflow.exceptions import SpiffWorkflowException

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.services.models import ServiceVersion
from onewindow.workflow import engine
from onewindow.workflow.models import (
    DefinitionStatus,
    ProcessDefinition,
)
from onewindow.workflow.validation import ModelProblem, bpmn_validate

# --- Process definitions --------------------------------------------------------------------------


def process_definition_check(bpmn_xml: str, dmn_xml: str = "") -> list[tuple[str, ModelProblem]]:
    """Every problem of a BPMN model and its DMN decision tables, each with the field it belongs to
    (``bpmn_xml`` or ``dmn_xml``), including what only the engine's parser finds. Empty: it may be uploaded.
    """
    if dmn_xml.strip():
        dmn_problems = bpmn_validate(dmn_xml)
        if dmn_problems:
            return [("dmn_xml", problem) for problem in dmn_problems]
    problems = bpmn_validate(bpmn_xml, dmn_xml=dmn_xml)
    if problems:
        return [("bpmn_xml", problem) for problem in problems]
    try:
        engine.process_parse(bpmn_xml, dmn_xml=dmn_xml)
    except (engine.WorkflowEngineError, SpiffWorkflowException, ValueError) as error:
        return [
            (
                "bpmn_xml",
                ModelProblem("unparsable", "流程模型无法解析。", f"The model cannot be parsed: {error}"),
            )
        ]
    return []


def process_definition_problems(bpmn_xml: str, dmn_xml: str = "") -> list[FieldError]:
    """:func:`process_definition_check` as field errors (the element id in the message)."""
    return [
        FieldError(
            field,
            problem.code,
            f"{problem.message_zh}（{problem.element_id}）" if problem.element_id else problem.message_zh,
            f"{problem.message_en} ({problem.element_id})" if problem.element_id else problem.message_en,
        )
        for field, problem in process_definition_check(bpmn_xml, dmn_xml)
    ]


def _owning_department(key: str) -> str:
    """The department of the services whose versions name process ``key`` ("" if none does yet)."""
    codes = sorted(
        set(
            ServiceVersion.objects.filter(process_key=key).values_list("service__department__code", flat=True)
        )
    )
    return codes[0] if len(codes) == 1 else ""


def process_definition_create(
    *, acting_user: User, key: str, bpmn_xml: str, department_code: str = "", dmn_xml: str = ""
) -> ProcessDefinition:
    """Upload a BPMN model (and its DMN decision tables) as the next draft version of process ``key``.

    Only a department admin of the owning department (the department of the services that use ``key``,
    or ``department_code`` for a process no service uses yet). The model is validated first: every problem
    (unknown lane, role or action, script task, unsafe expression) is one field error on ``bpmn_xml``.
    ``dmn_xml`` holds the DMN decision tables its business rule tasks call (eligibility rules), checked
    the same way (every cell through the restricted evaluator).
    """
    key = key.strip()
    owner = _owning_department(key) or department_code.strip()
    if not user_has_permission(acting_user, Permission.MANAGE_DEPARTMENT, department_code=owner or None) or (
        not owner
    ):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type="process", object_id=key
        )
    if not key:
        raise FieldErrors([FieldError("key", "required", "请填写流程标识。", "The process key is required.")])
    errors = process_definition_problems(bpmn_xml, dmn_xml)
    if errors:
        raise FieldErrors(errors, code="process_invalid")
    try:
        parsed = engine.process_parse(bpmn_xml, dmn_xml=dmn_xml)
    except (engine.WorkflowEngineError, SpiffWorkflowException, ValueError) as error:
        raise FieldErrors(
            [
                FieldError(
                    "bpmn_xml", "unparsable", "流程模型无法解析。", f"The model cannot be parsed: {error}"
                )
            ],
            code="process_invalid",
        ) from None
    with transaction.atomic():
        # Lock the key's versions so two uploads do not pick the same number.
        latest = ProcessDefinition.objects.select_for_update().filter(key=key).order_by("-version").first()
        definition = ProcessDefinition.objects.create(
            key=key,
            version=(latest.version + 1) if latest else 1,
            status=DefinitionStatus.DRAFT,
            department_code=owner,
            bpmn_xml=bpmn_xml,
            dmn_xml=dmn_xml,
            process_id=parsed.process_id,
            sha256=hashlib.sha256((bpmn_xml + dmn_xml).encode()).hexdigest(),
            result_keys=parsed.result_keys,
            created_by=acting_user,
            created_at=timezone.now(),
        )
        audit_append(
            action="process.created",
            acting_user=acting_user,
            object_type="process",
            object_id=f"{key}:{definition.version}",
            details={"sha256": definition.sha256, "process_id": definition.process_id},
        )
    return definition


def process_definition_publish(*, acting_user: User, definition: ProcessDefinition) -> ProcessDefinition:
    """Publish a draft version; the previously published version of the key is retired.

    Cases already running keep the version they started on (their state carries its specification).
    """
    if not user_has_permission(
        acting_user, Permission.MANAGE_DEPARTMENT, department_code=definition.department_code or None
    ):
        raise permission_denied(
            acting_user,
            Permission.MANAGE_DEPARTMENT,
            object_type="process",
            object_id=f"{definition.key}:{definition.version}",
        )
    with transaction.atomic():
        locked = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
        if locked.status != DefinitionStatus.DRAFT:
            raise RuleViolation(
                "process_not_draft",
                f"流程 {locked.key} 第 {locked.version} 版不是草稿，不能发布。",
                f"Process {locked.key} version {locked.version} is not a draft; it cannot be published.",
                status=409,
            )
        now = timezone.now()
        ProcessDefinition.objects.filter(key=locked.key, status=DefinitionStatus.PUBLISHED).update(
            status=DefinitionStatus.RETIRED
        )
        locked.status = DefinitionStatus.PUBLISHED
        locked.published_at = now
        locked.published_by = acting_user
        locked.save(update_fields=["status", "published_at", "published_by"])
        audit_append(
            action="process.published",
            acting_user=acting_user,
            object_type="process",
            object_id=f"{locked.key}:{locked.version}",
            details={"sha256": locked.sha256},
        )
    return locked
