"""Service-task actions: names in the model, code only in the platform (Issue #4 §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from onewindow.core.validators import validate_credit_code
from onewindow.workflow import registry
from onewindow.workflow.registry import (
    ServiceActionContext,
    UnknownServiceAction,
    licence_number,
    register_service_action,
    service_action,
    service_action_names,
    service_action_run,
)


def _context(**overrides: Any) -> ServiceActionContext:
    values: dict[str, Any] = {
        "application_id": 42,
        "tracking_no": "OW20260101000042",
        "service_code": "QYKB",
        "department_code": "AMR",
        "data": {"division_code": "350102"},
        "now": datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    }
    values.update(overrides)
    return ServiceActionContext(**values)


def test_built_in_actions_are_registered() -> None:
    assert {"enterprise_credit_code_assign", "licence_number_assign", "event_publish"} <= set(
        service_action_names()
    )
    action = service_action("licence_number_assign")
    assert action.description
    assert action.description_en


def test_credit_code_is_a_valid_gb_32100_code_and_stable_per_application() -> None:
    # GB 32100-2015: 18 characters, authority 9 (market regulation), type 1 (enterprise), both checks valid.
    result = service_action_run("enterprise_credit_code_assign", _context())
    code = result["credit_code"]
    assert validate_credit_code(code) == code
    assert code.startswith("91350102MA000042")
    assert service_action_run("enterprise_credit_code_assign", _context()) == result
    other = service_action_run("enterprise_credit_code_assign", _context(application_id=43))
    assert other["credit_code"] != code


def test_credit_code_falls_back_to_the_city_division() -> None:
    code = service_action_run("enterprise_credit_code_assign", _context(data={}))["credit_code"]
    assert code[2:8] == "350100"


def test_licence_number_format() -> None:
    assert licence_number("AMR", 1_000_042, datetime(2026, 5, 6, 9, 0, tzinfo=ZoneInfo("UTC"))) == (
        "AMR-2026-000042"
    )
    late = datetime(2026, 12, 31, 17, 0, tzinfo=ZoneInfo("UTC"))  # 2027-01-01 in Beijing
    assert licence_number("AMR", 42, late) == "AMR-2027-000042"


def test_event_publish_returns_nothing() -> None:
    assert service_action_run("event_publish", _context()) == {}


def test_unknown_action_is_refused_bilingually() -> None:
    with pytest.raises(UnknownServiceAction) as refused:
        service_action("os_system")
    assert refused.value.message_zh
    assert "os_system" in refused.value.message_en


def test_registering_a_name_twice_or_a_bad_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def noop(context: ServiceActionContext) -> dict[str, Any]:
        return {}

    register_service_action("noop_run", noop, description="空", description_en="Nothing")
    register_service_action("noop_run", noop, description="空", description_en="Nothing")  # same: fine
    with pytest.raises(ValueError, match="already registered"):
        register_service_action("noop_run", lambda c: {}, description="x", description_en="x")
    with pytest.raises(ValueError, match="invalid"):
        register_service_action("__import__", noop, description="x", description_en="x")
    assert "noop_run" in service_action_names()
