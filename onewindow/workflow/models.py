"""The back-office engine's tables: process versions, per-case state, the inbox, case events and timers.

``WorkflowInstance.state`` is SpiffWorkflow's serializer output; ``row_version`` guards it against lost
updates (every save is ``filter(pk=..., row_version=old).update(...)``). ``HumanTask`` is the inbox,
``CaseEvent`` the append-only step log (timelines, statistics, process mining), ``WorkflowTimer`` the
timers the scheduler fires (``timers_fire_due``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ProcessDefinition(models.Model):
    """One version of a BPMN process; ``key`` is the service version's ``process_key``.

    Published versions are immutable (the actions refuse changes); a change is a new draft version.
    """

    key = models.CharField(_("process key"), max_length=80)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT
    )
    # The department whose admins may upload and publish it (the owning service's department).
    department_code = models.CharField(max_length=20, blank=True)
    bpmn_xml = models.TextField(_("BPMN 2.0 XML"))
    process_id = models.CharField(_("BPMN process id"), max_length=200)
    sha256 = models.CharField(max_length=64)
    # Workflow data items copied into the application's decision ``results`` (e.g. credit_code).
    result_keys = models.JSONField(default=list)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="process_definition_key_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version} ({self.status})"


class InstanceStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class WorkflowInstance(models.Model):
    """The running process of one application."""

    application = models.OneToOneField(
        "applications.Application", on_delete=models.PROTECT, related_name="workflow"
    )
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="instances")
    state = models.JSONField(default=dict)
    row_version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING, db_index=True
    )
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"workflow of {self.application_id} ({self.status})"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class HumanTask(models.Model):
    """One user task waiting for (or done by) a department: the inbox row."""

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="tasks")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="human_tasks"
    )
    spiff_task_id = models.UUIDField()
    task_spec = models.CharField(max_length=200)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    department_code = models.CharField(max_length=20)
    # Empty: any handler of the department; otherwise the role the lane names (``DEPT:role``).
    role = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignee = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="workflow_tasks"
    )
    created_at = models.DateTimeField()
    due_date = models.DateField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    opinion = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    form_schema = models.JSONField(default=dict)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "spiff_task_id"], name="human_task_spiff_unique"),
        ]
        indexes = [
            models.Index(fields=["department_code", "status", "due_date"], name="human_task_inbox_idx"),
            models.Index(fields=["assignee", "status"], name="human_task_assignee_idx"),
            models.Index(fields=["application"], name="human_task_application_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.department_code}, {self.status})"


class CaseEventKind(models.TextChoices):
    STARTED = "started", _("Process started")
    TASK_CREATED = "task_created", _("Task created")
    TASK_CLAIMED = "task_claimed", _("Task claimed")
    TASK_RELEASED = "task_released", _("Task released")
    TASK_COMPLETED = "task_completed", _("Task completed")
    TASK_CANCELLED = "task_cancelled", _("Task cancelled")
    SERVICE_ACTION = "service_action", _("Service action run")
    TIMER_STARTED = "timer_started", _("Timer started")
    TIMER_FIRED = "timer_fired", _("Timer fired")
    GATEWAY = "gateway", _("Gateway passed")
    COMPLETED = "completed", _("Process completed")


class CaseEvent(models.Model):
    """One step of a case's process, with its time: append-only."""

    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="case_events"
    )
    instance = models.ForeignKey(
        WorkflowInstance, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
    task = models.ForeignKey(HumanTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    department_code = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="case_event_application_idx")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class WorkflowTimer(models.Model):
    """A timer event the process waits on; the scheduler fires it once ``fire_at`` has passed."""

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="timers")
    spiff_task_id = models.UUIDField()
    task_spec = models.CharField(max_length=200, blank=True)
    fire_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "spiff_task_id"], name="workflow_timer_spiff_unique"),
        ]
        indexes = [models.Index(fields=["fire_at", "fired_at"], name="workflow_timer_due_idx")]

    def __str__(self) -> str:
        return f"timer {self.spiff_task_id} at {self.fire_at:%Y-%m-%d %H:%M}"
