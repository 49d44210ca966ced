"""The handler form of a task (JSON Schema 2020-12), the same for the task page and the API."""

from __future__ import annotations

from typing import Any

from onewindow.workflow.models import HumanTask, TaskKind

OPINION_MAX_LENGTH = 2000
# The outcomes a handler may choose; a consultation is answered with approve or reject only.
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "approve": ("同意", "Approve"),
    "reject": ("不同意", "Reject"),
    "return": ("退回申请人补正", "Return to the applicant for supplements"),
    "consult": ("征求其他部门意见", "Consult another department"),
}
CONSULT_OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "approve": ("同意", "Agree"),
    "reject": ("不同意", "Disagree"),
}
# Fields the handler form adds to the task's own schema: they go to the action as arguments, not data.
HANDLER_FIELDS = ("outcome", "opinion")


def task_handler_form(task: HumanTask) -> dict[str, Any]:
    """The handler form: the task's own form schema, with the platform's outcome radios and an opinion.

    The outcomes are the platform's (the actions know no others): a model may offer fewer by listing them
    in its own ``outcome`` enum. A consultation is answered with agree or disagree and needs an opinion.
    """
    own = task.form_schema if isinstance(task.form_schema, dict) else {}
    consultation = task.kind == TaskKind.CONSULT
    labels = CONSULT_OUTCOME_LABELS if consultation else OUTCOME_LABELS
    own_properties = own.get("properties")
    properties: dict[str, Any] = dict(own_properties) if isinstance(own_properties, dict) else {}
    own_outcome = properties.get("outcome")
    offered = own_outcome.get("enum") if isinstance(own_outcome, dict) else None
    outcomes = [key for key in labels if not isinstance(offered, list) or key in offered] or list(labels)
    properties["outcome"] = {
        "type": "string",
        "title": "办理结果",
        "x-title-en": "Outcome",
        "enum": outcomes,
        "x-widget": "radios",
        "x-enum-labels": {key: {"zh": labels[key][0], "en": labels[key][1]} for key in outcomes},
    }
    properties.setdefault(
        "opinion",
        {
            "type": "string",
            "title": "办理意见",
            "x-title-en": "Opinion",
            "description": "不同意、退回或征求意见时必须填写；征求意见时写明要请对方回答的问题。",
            "x-description-en": "Required to reject, return or consult; to consult, the question to ask.",
            "x-widget": "textarea",
            "maxLength": OPINION_MAX_LENGTH,
        },
    )
    own_required = own.get("required")
    required = [str(name) for name in own_required] if isinstance(own_required, list) else []
    for name in ("outcome", "opinion") if consultation else ("outcome",):
        if name not in required:
            required.append(name)
    order = [*HANDLER_FIELDS, *[name for name in properties if name not in HANDLER_FIELDS]]
    return {**own, "type": "object", "properties": properties, "required": required, "x-order": order}
