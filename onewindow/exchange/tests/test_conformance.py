"""The conformance check (issue #8 item 6; docs/exchange.md, "Conformance check"): the reference adapter on a
real local port passes every check, and recording that lets a planned system be approved (国办发〔2017〕39号:
a new system is approved only if it shares through the platform); deliberately broken adapters fail exactly
the check they break; the CLI's exit code and report; "run conformance" in the catalog API for every role."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import InformationSystem, Resource
from onewindow.exchange import adapter, protocol
from onewindow.exchange.conformance import conformance_check, system_conformance_run
from onewindow.exchange.tests.support_adapter import AdapterWorld, adapter_world

pytestmark = pytest.mark.django_db

__all__ = ["adapter_world"]

CALL_CHECKS = [
    "signed_request",
    "unsigned",
    "wrong_key",
    "altered_body",
    "replayed_nonce",
    "stale_timestamp",
    "malformed_body",
]
ALL_CHECKS = ["openapi", "health", *CALL_CHECKS]


def _planned(adapter_world: AdapterWorld) -> InformationSystem:
    """The department's system as a planned one waiting for approval, its endpoint the adapter's."""
    system = adapter_world.system
    InformationSystem.objects.filter(pk=system.pk).update(
        state="planned", approval="pending", endpoint=adapter_world.base
    )
    system.refresh_from_db()
    system.provides.set([Resource.objects.get(code=adapter_world.resource_code)])
    return system


def test_the_reference_adapter_passes_every_check(adapter_world: AdapterWorld) -> None:
    report = conformance_check(adapter_world.base, system=adapter_world.system)
    assert [check.name for check in report.checks] == ALL_CHECKS
    assert report.failed() == [], report.lines()
    assert report.passed
    assert report.service == "schools"
    for check in report.checks:
        assert check.reason_zh
        assert check.reason_en
    assert report.lines()[-1] == "符合性检测通过 / Conformance check passed"


def test_a_passed_check_recorded_lets_the_planned_system_be_approved(
    adapter_world: AdapterWorld, role_users: dict[str, Any]
) -> None:
    from onewindow.catalog.systems import system_approve
    from onewindow.core.errors import FieldErrors

    system = _planned(adapter_world)
    admin = role_users["system_admin"]
    with pytest.raises(FieldErrors) as refused:
        system_approve(acting_user=admin, system=system)
    assert [error.code for error in refused.value.errors] == ["conformance_not_passed"]
    recorded, report = system_conformance_run(acting_user=None, system=system)
    assert report.passed, report.lines()
    assert recorded.conformance_passed is True
    assert recorded.conformance_endpoint == adapter_world.base
    assert recorded.conformance_report["passed"] is True
    assert AuditRecord.objects.filter(
        action="catalog.system_conformance_recorded", object_id=system.code, actor_username="exchange"
    ).exists()
    approved = system_approve(acting_user=admin, system=recorded)
    assert approved.approval == "approved"


# --- Broken adapters ------------------------------------------------------------------------------------


class _AcceptsUnsigned(adapter.Adapter):
    def _authenticate(self, method: str, path: str, headers: Any, body: bytes, signed: Any) -> None:
        if signed is None:
            return
        super()._authenticate(method, path, headers, body, signed)


class _WrongErrorFormat(adapter.Adapter):
    def error_body(self, code: str, exchange_id: str, **extra: Any) -> bytes:
        return json.dumps({"error": code, "message": "refused"}).encode()


class _AcceptsReplays:
    def use(self, client: str, nonce: str, expires_at: float) -> bool:
        return True


class _NoMetaservices(adapter.Adapter):
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/meta/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not here"]
        return super().__call__(environ, start_response)


def _unsigned_answers(app: Any) -> Any:
    def strip(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def without_signature(status: str, headers: list[tuple[str, str]]) -> Any:
            return start_response(status, [(n, v) for n, v in headers if n != protocol.SIGNATURE])

        answer: Iterable[bytes] = app(environ, without_signature)
        return answer

    return strip


BROKEN: dict[str, tuple[Callable[[AdapterWorld], Any], list[str]]] = {
    "accepts unsigned requests": (lambda w: w.make_adapter(_AcceptsUnsigned), ["unsigned"]),
    "no signature on its answers": (lambda w: _unsigned_answers(w.make_adapter()), CALL_CHECKS),
    "wrong error format": (lambda w: w.make_adapter(_WrongErrorFormat), CALL_CHECKS[1:]),
    "accepts replays": (lambda w: w.make_adapter(nonce_store=_AcceptsReplays()), ["replayed_nonce"]),
    "no metaservices": (lambda w: w.make_adapter(_NoMetaservices), ["openapi", "health"]),
    "trusts no gateway key": (
        lambda w: w.make_adapter(
            gateway_keys=adapter.GatewayKeys(root_certificate=w.adapter.gateway_keys.root_certificate)
        ),
        [name for name in CALL_CHECKS if name != "unsigned"],
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_broken_adapter_fails_the_check_it_breaks(adapter_world: AdapterWorld, broken: str) -> None:
    make, expected = BROKEN[broken]
    adapter_world.server.app = make(adapter_world)
    report = conformance_check(
        adapter_world.base, system=adapter_world.system, service_code="schools", query={"name": "鼓楼一中"}
    )
    assert not report.passed
    assert sorted(report.failed()) == sorted(expected), report.lines()
    assert any(line.startswith("[失败 FAIL]") for line in report.lines())


def test_an_answer_signed_by_another_systems_key_fails(adapter_world: AdapterWorld) -> None:
    """Signed by a key certified by the platform, but of another subsystem than the one being checked."""
    from onewindow.exchange.tests.conftest import key_signer

    world = adapter_world.world
    adapter_world.server.app = adapter_world.make_adapter(
        signer=key_signer(world.provider_key),
        subsystem=protocol.subsystem_path(world.provider.department.credit_code, world.provider.code),
    )
    report = conformance_check(adapter_world.base, system=adapter_world.system)
    assert report.failed() == CALL_CHECKS
    assert "untrusted response key" in report.checks[2].reason_en
    # Without --system the key is one of a subsystem chained to the root: it passes for that subsystem.
    assert conformance_check(adapter_world.base).passed


def test_nothing_listening_fails_every_check(adapter_world: AdapterWorld) -> None:
    adapter_world.server.stop()
    report = conformance_check(adapter_world.base, system=adapter_world.system, timeout=2)
    assert report.failed() == ALL_CHECKS


# --- The command line -------------------------------------------------------------------------------------


def test_cli_prints_each_check_and_records(adapter_world: AdapterWorld) -> None:
    from onewindow.cli import main

    system = _planned(adapter_world)
    output = io.StringIO()
    with redirect_stdout(output):
        code = main(["exchange", "conformance", "--system", system.code, "--record", "--json"])
    assert code == 0, output.getvalue()
    report = json.loads(output.getvalue())
    assert report["passed"] is True
    assert [check["name"] for check in report["checks"]] == ALL_CHECKS
    system.refresh_from_db()
    assert system.conformance_passed is True
    assert system.conformance_endpoint == adapter_world.base


def test_cli_exit_code_is_1_when_a_check_fails(adapter_world: AdapterWorld) -> None:
    from django.core.management import call_command

    adapter_world.server.app = adapter_world.make_adapter(nonce_store=_AcceptsReplays())
    output = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("exchange_conformance", adapter_world.base, stdout=output)
    assert exit_.value.code == 1
    text = output.getvalue()
    assert "[失败 FAIL] replayed_nonce" in text
    assert "[通过 PASS] signed_request" in text
    assert "符合性检测未通过 / Conformance check failed: replayed_nonce" in text


# --- "Run conformance" in the catalog API, for every role -------------------------------------------------


def _state(system: InformationSystem) -> dict[str, Any]:
    row = InformationSystem.objects.get(pk=system.pk)
    return {
        "conformance": (row.conformance_passed, row.conformance_checked_at, row.conformance_endpoint),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("action", "object_id")
        ),
    }


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_run_conformance_in_the_catalog_api_for_each_role(
    adapter_world: AdapterWorld,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    role: str,
) -> None:
    system = _planned(adapter_world)
    client = (
        Client()
        if role == "anonymous"
        else Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})
    )
    before = _state(system)
    response = client.post(f"/api/v1/catalog/systems/{system.pk}/conformance/run")
    if role == "system_admin":
        assert response.status_code == 200, response.content
        assert response.json()["conformance_passed"] is True
        assert response.json()["approval_blockers"] == []
        return
    assert response.status_code == (401 if role == "anonymous" else 403), response.content
    body = response.json()
    assert body["message_zh"]
    assert body["message_en"]
    assert _state(system) == before
