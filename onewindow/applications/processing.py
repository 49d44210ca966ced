"""What happens when an application is accepted: the back-office process starts.

The back office plugs its BPMN engine in with :func:`register_process_starter` (onewindow.workflow does, in
its AppConfig); without a starter the default routes the application to every department involved (status
``in_progress``, one timeline event per department). Starters run inside the accepting transaction, with the
application row locked.

Two more hooks let the engine follow the case: :func:`register_supplement_hook` (the applicant answered a
supplement notice sent during processing: the clock restarts and the task goes back to its handler) and
:func:`register_stop_hook` (the application was withdrawn while in processing: its tasks are cancelled).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application, ApplicationEvent, Status
from onewindow.organisations.models import Department

ProcessStarter = Callable[[Application], None]
SupplementHook = Callable[[Application, User | None], None]
StopHook = Callable[[Application], None]

_starters: list[ProcessStarter] = []
_supplement_hooks: list[SupplementHook] = []
_stop_hooks: list[StopHook] = []


def register_process_starter(starter: ProcessStarter) -> ProcessStarter:
    """Use ``starter`` instead of the default routing (the last registered wins); returns it (decorator)."""
    if starter in _starters:
        _starters.remove(starter)
    _starters.append(starter)
    return starter


def unregister_process_starter(starter: ProcessStarter) -> None:
    """Remove a starter registered earlier (tests)."""
    _starters.remove(starter)


def default_process_start(application: Application) -> None:
    """No engine: every department involved works on it now, shown on the applicant's timeline."""
    codes = list(application.department_codes)
    names = {
        code: (name, name_en)
        for code, name, name_en in Department.objects.filter(code__in=codes).values_list(
            "code", "name", "name_en"
        )
    }
    now = timezone.now()
    application.status = Status.IN_PROGRESS
    application.pending_department_codes = codes
    Application.objects.filter(pk=application.pk).update(
        status=Status.IN_PROGRESS, pending_department_codes=codes, updated_at=now
    )
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            application=application,
            at=now,
            kind="routed",
            status=Status.IN_PROGRESS,
            department_code=code,
            note=f"已转{names.get(code, (code, code))[0]}办理",
            note_en=f"Routed to {names.get(code, (code, code))[1] or code}",
        )
        for code in codes
    )


def application_processing_start(application: Application) -> None:
    """Start the back-office handling of a just-accepted application (inside the accepting transaction)."""
    starter = _starters[-1] if _starters else default_process_start
    starter(application)


def register_supplement_hook(hook: SupplementHook) -> SupplementHook:
    """Call ``hook(application, acting_user)`` when a supplement answers a notice sent during processing."""
    if hook not in _supplement_hooks:
        _supplement_hooks.append(hook)
    return hook


def register_stop_hook(hook: StopHook) -> StopHook:
    """Call ``hook(application)`` when an application in processing is withdrawn."""
    if hook not in _stop_hooks:
        _stop_hooks.append(hook)
    return hook


def application_processing_supplemented(application: Application, acting_user: User | None) -> None:
    """The applicant supplied what processing asked for (inside the supplementing transaction)."""
    for hook in _supplement_hooks:
        hook(application, acting_user)


def application_processing_stopped(application: Application) -> None:
    """The application left processing without a decision (withdrawn), inside that transaction."""
    for hook in _stop_hooks:
        hook(application)
