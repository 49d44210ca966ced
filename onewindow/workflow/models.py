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
    # DMN 1.3 decision tables the model's business rule tasks call (``spiffworkflow:calledDecisionId``).
    dmn_xml = models.TextField(_("DMN XML"), blank=True, default="")
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
    # Held: returned to the applicant for supplements, or waiting for a consulted department.
    WAITING = "waiting", _("Waiting")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# Not finished: the task still stands in the process (its Spiff task is READY).
ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.WAITING)
# Someone must act now: what the pool shows and what lights are kept for.
WORKING_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class TaskKind(models.TextChoices):
    PROCESS = "process", _("Process task")
    # Ad hoc: another department's opinion asked for by a handler (outcome "consult").
    CONSULT = "consult", _("Consultation")


class Light(models.TextChoices):
    """Supervision light of a task: red overdue, yellow few working days left, green otherwise."""

    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


class HumanTask(models.Model):
    """One user task waiting for (or done by) a department: the inbox row."""

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="tasks")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="human_tasks"
    )
    # The case's service code, copied so the inbox filters by service without a join.
    service_code = models.CharField(max_length=40, blank=True, db_default="")
    spiff_task_id = models.UUIDField()
    task_spec = models.CharField(max_length=200)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    department_code = models.CharField(max_length=20)
    # Empty: any handler of the department; otherwise the role the lane names (``DEPT:role``).
    role = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    kind = models.CharField(max_length=10, choices=TaskKind.choices, default=TaskKind.PROCESS)
    # A consultation task: the task whose handler asked for it.
    consult_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="consultations"
    )
    assignee = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="workflow_tasks"
    )
    created_at = models.DateTimeField()
    due_date = models.DateField(null=True, blank=True)
    # Kept by ``lights_refresh`` (one SQL statement) for open and claimed tasks; set on creation.
    light = models.CharField(max_length=6, choices=Light.choices, default=Light.GREEN)
    # Last time anything on the case changed that a handler should notice (inbox highlight).
    changed_at = models.DateTimeField(null=True, blank=True)
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
        # The pool and "mine" read partial indexes in the inbox's order (benchmarks/inbox.py: first page and
        # count from the index at 1,000,000 cases). ``light`` is in no index, so the lights refresh is a
        # heap-only update (and the table keeps free space for it on PostgreSQL: migration 0006).
        indexes = [
            models.Index(
                fields=["department_code", "due_date", "created_at", "id", "role", "service_code"],
                condition=models.Q(status__in=["open", "claimed"]),
                name="human_task_pool_idx",
            ),
            models.Index(
                fields=["assignee", "due_date", "created_at", "id", "department_code", "role"],
                condition=models.Q(status__in=["open", "claimed", "waiting"]),
                name="human_task_mine_idx",
            ),
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
    TASK_REASSIGNED = "task_reassigned", _("Task reassigned")
    TASK_RETURNED = "task_returned", _("Returned to the applicant")
    TASK_RESUMED = "task_resumed", _("Task resumed")
    CONSULTED = "consulted", _("Department consulted")
    CLOCK_STOPPED = "clock_stopped", _("Clock stopped")
    CLOCK_RESUMED = "clock_resumed", _("Clock resumed")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENSION_DECIDED = "extension_decided", _("Extension decided")
    ESCALATED = "escalated", _("Escalated")
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


class TaskView(models.Model):
    """When a handler last opened a task: what changed since is highlighted."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(HumanTask, on_delete=models.CASCADE, related_name="views")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "task"], name="task_view_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.task_id} at {self.seen_at:%Y-%m-%d %H:%M}"


class ClockStopKind(models.TextChoices):
    SUPPLEMENT = "supplement", _("Waiting for the applicant's supplement")
    HEARING = "hearing", _("Hearing")
    EXPERT = "expert", _("Expert review, testing or inspection")


class ClockStop(models.Model):
    """A period in which the case's time limit does not run (Administrative Licensing Law Art. 45).

    When it ends, ``working_days`` holds how many working days it lasted and the case's and its active
    tasks' due dates have moved by that many working days.
    """

    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="clock_stops"
    )
    task = models.ForeignKey(HumanTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=ClockStopKind.choices)
    reason = models.TextField(blank=True)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    working_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            # At most one running clock stop per case.
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(ended_at__isnull=True),
                name="clock_stop_one_running",
            ),
        ]

    def __str__(self) -> str:
        return f"clock stop {self.kind} of {self.application_id}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class Extension(models.Model):
    """A request to extend a case's time limit by working days; a department admin decides it."""

    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="extensions"
    )
    task = models.ForeignKey(HumanTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    department_code = models.CharField(max_length=20)
    working_days = models.PositiveIntegerField()
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING, db_index=True
    )
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"extension of {self.application_id} by {self.working_days} working days ({self.status})"


class Delegation(models.Model):
    """While active, ``delegate`` works the tasks ``delegator`` claimed in ``department_code`` (代理)."""

    department_code = models.CharField(max_length=20)
    delegator = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    delegate = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["delegate", "starts_on", "ends_on"], name="delegation_delegate_idx")]

    def __str__(self) -> str:
        return f"{self.delegator_id} -> {self.delegate_id} ({self.starts_on}..{self.ends_on})"


class EscalationTarget(models.TextChoices):
    ASSIGNEE = "assignee", _("The handler (or the department's handlers when unclaimed)")
    DEPARTMENT_ADMIN = "department_admin", _("The department's administrators")
    LEADER = "leader", _("Leaders")


class EscalationRule(models.Model):
    """Escalation as data: when a task reaches ``light`` (and, for red, has been overdue for
    ``overdue_working_days``), notify ``target``. ``department_code`` empty = every department."""

    department_code = models.CharField(max_length=20, blank=True)
    light = models.CharField(max_length=6, choices=Light.choices)
    overdue_working_days = models.PositiveIntegerField(default=0)
    target = models.CharField(max_length=20, choices=EscalationTarget.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["department_code", "light", "overdue_working_days", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["department_code", "light", "overdue_working_days", "target"],
                name="escalation_rule_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_code or '*'} {self.light}+{self.overdue_working_days} -> {self.target}"


class TaskEscalation(models.Model):
    """One rule fired for one task (at most once)."""

    task = models.ForeignKey(HumanTask, on_delete=models.CASCADE, related_name="escalations")
    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "rule"], name="task_escalation_unique")]

    def __str__(self) -> str:
        return f"escalation {self.rule_id} of task {self.task_id}"


class SupervisionSnapshot(models.Model):
    """Daily counts of working tasks per department and light: the supervision trend."""

    day = models.DateField()
    department_code = models.CharField(max_length=20)
    green = models.PositiveIntegerField(default=0)
    yellow = models.PositiveIntegerField(default=0)
    red = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "department_code"]
        constraints = [
            models.UniqueConstraint(fields=["day", "department_code"], name="supervision_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.department_code}: {self.green}/{self.yellow}/{self.red}"
