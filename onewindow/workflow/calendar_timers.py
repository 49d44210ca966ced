"""Timers of process models, counted in calendar time or in working days on the platform calendar.

A BPMN ``timerEventDefinition`` (``timeDuration`` or ``timeDate``) holds one of (docs/workflow.md):

* an ISO 8601 duration: ``PT2H``, ``P3D`` (calendar days), ``P1M``; quoted (``"P3D"``) or bare;
* ``WD<n>`` or the expression ``working_days(n)``: n working days on the platform calendar
  (Administrative Licensing Law Art. 82: time limits are counted in working days), due at the end of that
  working day, ``DUE_TIME`` in ``DUE_TIMEZONE``; the start day is never counted
  (``onewindow.workcalendar.calendar.add_working_days``);
* an ISO 8601 date-time (``2026-05-06T09:00:00+08:00``; without an offset it is Beijing time);
* any restricted expression (``onewindow.workflow.expressions``) over the case data that yields one of
  the above, e.g. ``working_days(days_allowed)`` or ``"P1D" if urgent else "WD3"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from onewindow.workcalendar.calendar import add_working_days
from onewindow.workflow.expressions import UnsafeExpression, expression_check, expression_evaluate

DUE_TIMEZONE = ZoneInfo("Asia/Shanghai")
DUE_TIME = time(17, 30)  # the end of a working day in government offices

WORKING_DAYS = re.compile(r"^WD(\d{1,4})$")
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _unquoted(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _invalid(expression: str) -> UnsafeExpression:
    return UnsafeExpression(
        "timer_invalid",
        f"定时器“{expression[:100]}”无效：应为 ISO 8601 时长（如 PT2H、P3D）、WD<n>、"
        "working_days(n) 或日期时间。",
        f"The timer '{expression[:100]}' is invalid: use an ISO 8601 duration (PT2H, P3D), WD<n>, "
        "working_days(n) or a date-time.",
    )


def working_days_due(start: datetime, days: int) -> datetime:
    """The end (``DUE_TIME``, Beijing time) of the ``days``-th working day after ``start``'s local day."""
    local_day = start.astimezone(DUE_TIMEZONE).date()
    return datetime.combine(add_working_days(local_day, days), DUE_TIME, tzinfo=DUE_TIMEZONE)


def _literal_fire_at(text: str, start: datetime) -> datetime | None:
    """The fire time of a literal timer value, or None when ``text`` is not one."""
    text = text.strip().upper()
    match = WORKING_DAYS.match(text)
    if match:
        return working_days_due(start, int(match.group(1)))
    if ISO_DURATION.match(text):
        parsed = TimerEventDefinition.parse_iso_duration(text)
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
        return start + delta
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DUE_TIMEZONE)
    return moment


def timer_check(expression: str) -> None:
    """Refuse (``UnsafeExpression``) a timer that is neither a literal value nor a restricted expression."""
    text = _unquoted(expression).upper()
    if WORKING_DAYS.match(text):
        return
    if ISO_DURATION.match(text):
        try:
            TimerEventDefinition.parse_iso_duration(text)
        except Exception:
            raise _invalid(expression) from None
        return
    try:
        datetime.fromisoformat(text)
    except ValueError:
        expression_check(expression)


def timer_fire_at(expression: str, *, start: datetime, context: Mapping[str, Any] = _EMPTY) -> datetime:
    """When a timer defined by ``expression`` (see the module docstring) and started at ``start`` fires.

    ``start`` must be timezone-aware. Raises ``UnsafeExpression`` (code ``timer_invalid`` or the
    expression's own code) for anything else.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    try:
        fire_at = _literal_fire_at(_unquoted(expression), start)
    except (ValueError, OverflowError, TypeError, AttributeError):
        raise _invalid(expression) from None
    if fire_at is not None:
        return fire_at
    value = expression_evaluate(expression, context)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=DUE_TIMEZONE)
    if not isinstance(value, str):
        raise _invalid(expression)
    try:
        fire_at = _literal_fire_at(value, start)
    except (ValueError, OverflowError, TypeError, AttributeError):
        raise _invalid(expression) from None
    if fire_at is None:
        raise _invalid(expression)
    return fire_at


def timer_engine_value(
    kind: str, expression: str, *, now: datetime, context: Mapping[str, Any] = _EMPTY
) -> str:
    """The value SpiffWorkflow expects from evaluating a timer expression, computed with our notation.

    ``kind`` is ``"duration"`` (Spiff parses an ISO duration: we return the exact seconds until the fire
    time), ``"date"`` (an ISO date-time) or ``"cycle"`` (ISO 8601 repeating intervals only: ``R3/PT1H``).
    """
    if kind == "cycle":
        text = _unquoted(expression)
        if text.upper().startswith("R"):
            return text
        value = expression_evaluate(expression, context)
        if isinstance(value, str) and value.upper().startswith("R"):
            return value
        raise _invalid(expression)
    fire_at = timer_fire_at(expression, start=now, context=context)
    if kind == "date":
        return fire_at.astimezone(UTC).isoformat()
    seconds = max((fire_at - now) / timedelta(seconds=1), 0.0)
    return f"PT{seconds:.6f}S"
