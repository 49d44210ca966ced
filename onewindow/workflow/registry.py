"""Named platform actions that service tasks may call: the model holds only a name, never code.

A BPMN ``serviceTask`` names its action with SpiffWorkflow's extension element (the element the Spiff
parser reads for service tasks, ``SpiffWorkflow/spiff/parser/task_spec.py``)::

    <bpmn:serviceTask id="assign_code" name="赋码 / Assign the credit code">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="enterprise_credit_code_assign">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

Uploading a model refuses an action name that is not registered here (``validation.bpmn_validate``).
An action is a function of a ``ServiceActionContext`` returning a dictionary that is merged into the
task data. Actions should be idempotent: the engine may run a service task again after a failure, so the
built-in ones derive their numbers from the application rather than drawing them at random.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from onewindow.core.validators import make_credit_code

LICENCE_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class ServiceActionContext:
    """What a service action knows about the case it runs for."""

    application_id: int
    tracking_no: str
    service_code: str
    department_code: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # When the action runs (defaults to now); lets tests and replays be exact.
    now: datetime | None = None


ServiceActionFunction = Callable[[ServiceActionContext], dict[str, Any]]


@dataclass(frozen=True)
class ServiceAction:
    name: str
    func: ServiceActionFunction
    description: str
    description_en: str


class UnknownServiceAction(LookupError):  # noqa: N818 - reads as what it is
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
        self.message_zh = f"服务任务动作“{name}”未注册。"
        self.message_en = f"The service-task action '{name}' is not registered."


_REGISTRY: dict[str, ServiceAction] = {}


def register_service_action(
    name: str, func: ServiceActionFunction, *, description: str, description_en: str
) -> ServiceAction:
    """Register ``func`` under ``name`` (``<noun>_<verb>``); registering a name twice is an error."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"invalid service action name {name!r}")
    existing = _REGISTRY.get(name)
    if existing is not None and existing.func is not func:
        raise ValueError(f"service action {name!r} is already registered")
    action = ServiceAction(name, func, description, description_en)
    _REGISTRY[name] = action
    return action


def service_action(name: str) -> ServiceAction:
    """The registered action called ``name``; ``UnknownServiceAction`` if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownServiceAction(name) from None


def service_action_names() -> list[str]:
    """Every registered action name, sorted."""
    return sorted(_REGISTRY)


def service_action_run(name: str, context: ServiceActionContext) -> dict[str, Any]:
    """Run the action ``name`` for ``context`` and return the data to merge into the task data."""
    return dict(service_action(name).func(context))


# --- Built-in actions -------------------------------------------------------------------------------------


def _division(data: Mapping[str, Any]) -> str:
    code = str(data.get("division_code", ""))[:6]
    return code if len(code) == 6 and code.isdigit() else "350100"


def enterprise_credit_code_assign(context: ServiceActionContext) -> dict[str, Any]:
    """A new unified social credit code (GB 32100-2015) for the enterprise being registered.

    Registration authority 9 (market regulation), type 1 (enterprise), the division of the company's
    address (default 350100), and an organisation code ``MA`` + six digits of the application id, with
    both check characters computed; the same application always gets the same code.
    """
    base = f"MA{context.application_id % 1_000_000:06d}"
    code = make_credit_code(
        authority="9", entity_type="1", division=_division(context.data), organisation_base=base
    )
    return {"credit_code": code}


def licence_number(department_code: str, application_id: int, now: datetime) -> str:
    """``<DEPT>-<YYYY>-<6 digits>``: the year in Beijing time, the application id."""
    year = now.astimezone(LICENCE_TIMEZONE).year
    return f"{department_code}-{year}-{application_id % 1_000_000:06d}"


def licence_number_assign(context: ServiceActionContext) -> dict[str, Any]:
    """Issue the licence: number ``<DEPT>-<YYYY>-<6 digits>`` (the year in Beijing time, the application
    id), recorded in the licence register (``onewindow.licences``; the e-signature issue signs it)."""
    from onewindow.licences.actions import licence_record

    now = context.now or datetime.now(LICENCE_TIMEZONE)
    number = licence_number(context.department_code, context.application_id, now)
    licence_record(
        application_id=context.application_id,
        number=number,
        department_code=context.department_code,
        data=dict(context.data),
        now=now,
    )
    return {"license_number": number}


def event_publish(context: ServiceActionContext) -> dict[str, Any]:
    """Publish a case event to subscribers (nothing is recorded yet; returns no data)."""
    return {}


register_service_action(
    "enterprise_credit_code_assign",
    enterprise_credit_code_assign,
    description="赋予新设企业统一社会信用代码",
    description_en="Assign the new enterprise its unified social credit code",
)
register_service_action(
    "licence_number_assign",
    licence_number_assign,
    description="生成许可证（执照）编号",
    description_en="Assign the licence number",
)
register_service_action(
    "event_publish",
    event_publish,
    description="发布办件事件",
    description_en="Publish a case event",
)
