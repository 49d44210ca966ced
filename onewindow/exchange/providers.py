"""What answers a service: the built-in providers (the platform's own registers) and external HTTP systems.

Every provider answers a dict keyed by **catalog data item name** (``姓名``, ``统一社会信用代码`` …), so the
exchange can filter the answer down to the items the consumer's grant covers, whatever the provider.

* ``person_basic`` — population register (人口基础信息) by citizen ID number; every lookup audited here as
  ``registry.person_provided`` with the purpose and the consumer (never the ID number).
* ``entity_basic`` — legal-entity register (法人单位基础信息) by unified social credit code.
* ``licence_verify`` — e-licence verification by licence number (``licences.selectors``).
* HTTP services: the request is POSTed to the registered URL with a timeout; connection failures, timeouts
  and 502/503/504 are retried with exponential backoff (the services are look-ups, so retrying is safe);
  a circuit breaker per service and process opens after ``EXCHANGE_CIRCUIT_FAILURES`` failed calls in a
  row and lets one trial call through after ``EXCHANGE_CIRCUIT_COOLDOWN_SECONDS`` (half-open).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from onewindow.audit.actions import audit_append
from onewindow.catalog.builtin import LEGAL_ENTITY_ITEMS, POPULATION_ITEMS


class ProviderInputError(Exception):
    """The consumer's query is not what the service takes (400 ``bad_request``)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


class ProviderUnavailable(Exception):  # noqa: N818 - names the condition, like Http404
    """The provider did not answer (after retries), answered garbage, or its circuit is open."""


@dataclass(frozen=True)
class ProviderCall:
    query: dict[str, Any]
    items: frozenset[str]  # the granted items the consumer asked for
    purpose: str
    consumer: str  # subsystem identifier
    consumer_department_code: str
    exchange_id: str


# data: item name -> value; None when the register holds no such record.
ProviderAnswer = dict[str, Any] | None
BuiltinProvider = Callable[[ProviderCall], ProviderAnswer]


def _text(query: dict[str, Any], key: str, zh: str) -> str:
    value = query.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ProviderInputError(f"请求须包含{zh}（{key}）。", f"The request needs {key}.")
    return value.strip()


def _item(specs: dict[str, Any], source: str) -> str:
    return str(specs[source].name)


def person_basic(call: ProviderCall) -> ProviderAnswer:
    from onewindow.registry.prefill import active_person

    id_number = _text(call.query, "id_number", "公民身份号码")
    person = active_person(id_number)
    with transaction.atomic():
        audit_append(
            action="registry.person_provided",
            acting_user=None,
            actor_username=call.consumer[:150],
            object_type="person",
            object_id=person.pk if person is not None else "",
            details={
                "purpose": call.purpose,
                "exchange_id": call.exchange_id,
                "consumer": call.consumer,
                "items": sorted(call.items),
                "found": person is not None,
            },
            department_code=call.consumer_department_code,
        )
    if person is None:
        return None
    household = person.household
    values: dict[str, Any] = {
        "Person.id_number": person.id_number,
        "Person.name": person.name,
        "Person.former_names_text": "、".join(person.former_names),
        "Person.gender": person.gender,
        "Person.ethnicity": person.ethnicity,
        "Person.birth_date": person.birth_date.isoformat(),
        "Person.birthplace_code": person.birthplace_code,
        "Person.household": household.household_no,
        "Person.relation_to_head": person.relation_to_head,
        "Person.status": person.status,
        "Person.died_on": person.died_on.isoformat() if person.died_on else None,
        "Household.household_no": household.household_no,
        "Household.division": household.division.code,
        "Household.address": household.address,
        "Household.head": "",
    }
    return {_item(POPULATION_ITEMS, source): value for source, value in values.items()}


def entity_basic(call: ProviderCall) -> ProviderAnswer:
    from onewindow.registry.prefill import active_entity, entity_record

    entity = active_entity(_text(call.query, "credit_code", "统一社会信用代码"))
    if entity is None:
        return None
    record = entity_record(entity)
    values: dict[str, Any] = {
        "LegalEntity.credit_code": record["credit_code"],
        "LegalEntity.name": record["name"],
        "LegalEntity.type": record["type"],
        "LegalEntity.legal_rep": record["legal_rep_name"],
        "LegalEntity.registered_capital": record["registered_capital"],
        "LegalEntity.division_code": record["division_code"],
        "LegalEntity.address": record["address"],
        "LegalEntity.business_scope": record["business_scope"],
        "LegalEntity.established_on": record["established_on"],
        "LegalEntity.status": record["status"],
        "LegalEntity.registration_authority": record["registration_authority"],
    }
    return {_item(LEGAL_ENTITY_ITEMS, source): value for source, value in values.items()}


#: The data items of the licence-verification answer: a resource served by ``licence_verify`` names these.
LICENCE_ITEMS: dict[str, str] = {
    "证照编号": "number",
    "验证结果": "valid",
    "证照状态": "status",
    "证照名称": "licence_name",
    "证照类型代码": "type_code",
    "发证机关": "issuer",
    "持证主体（脱敏）": "holder_masked",
    "签发日期": "issued_at",
    "有效期至": "valid_until",
}


def licence_verify(call: ProviderCall) -> ProviderAnswer:
    from onewindow.licences.selectors import licence_verify_by_number

    verification = licence_verify_by_number(_text(call.query, "number", "证照编号"))
    if verification is None:
        return None
    values: dict[str, Any] = {}
    for item, attribute in LICENCE_ITEMS.items():
        value = getattr(verification, attribute)
        values[item] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


BUILTIN_PROVIDERS: dict[str, BuiltinProvider] = {
    "person_basic": person_basic,
    "entity_basic": entity_basic,
    "licence_verify": licence_verify,
}


# --- External HTTP services -------------------------------------------------------------------------------


@dataclass
class Circuit:
    """Consecutive failures of one service in this process and when the circuit opened (0: closed)."""

    failures: int = 0
    opened_at: float = 0.0
    trial_running: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_circuits: dict[int, Circuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(service_id: int) -> Circuit:
    with _circuits_lock:
        return _circuits.setdefault(service_id, Circuit())


def circuits_reset() -> None:
    """Forget every circuit's state (tests, and after an operator fixed a provider)."""
    with _circuits_lock:
        _circuits.clear()


def _circuit_admit(circuit: Circuit) -> bool:
    """Closed: yes. Open: no until the cool-down is over, then one trial call (half-open)."""
    with circuit.lock:
        if circuit.failures < int(settings.EXCHANGE_CIRCUIT_FAILURES):
            return True
        if time.monotonic() - circuit.opened_at < float(settings.EXCHANGE_CIRCUIT_COOLDOWN_SECONDS):
            return False
        if circuit.trial_running:
            return False
        circuit.trial_running = True
        return True


def _circuit_record(circuit: Circuit, *, success: bool) -> None:
    with circuit.lock:
        circuit.trial_running = False
        if success:
            circuit.failures = 0
            circuit.opened_at = 0.0
            return
        circuit.failures += 1
        if circuit.failures >= int(settings.EXCHANGE_CIRCUIT_FAILURES):
            circuit.opened_at = time.monotonic()


_RETRIED_STATUSES = frozenset({502, 503, 504})


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked at registration
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read(10 * 1024 * 1024)
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(64 * 1024)


def http_call(
    *, service_id: int, url: str, timeout: float, retries: int, call: ProviderCall
) -> ProviderAnswer:
    """POST ``{"query": …, "items": […]}`` to the external system; answer its ``data`` (404: None)."""
    circuit = circuit_for(service_id)
    if not _circuit_admit(circuit):
        raise ProviderUnavailable("circuit open")
    body = json.dumps(
        {"query": call.query, "items": sorted(call.items)}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-OW-Client": call.consumer,
        "X-OW-Exchange-Id": call.exchange_id,
    }
    backoff = float(settings.EXCHANGE_RETRY_BACKOFF_SECONDS)
    problem = "no attempt"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * (2 ** (attempt - 1)))
        try:
            status, content = _post_once(url, body, headers, timeout)
        except (TimeoutError, OSError) as error:  # URLError is an OSError; so are refused connections
            problem = f"{type(error).__name__}: {error}"
            continue
        if status in _RETRIED_STATUSES:
            problem = f"HTTP {status}"
            continue
        if status == 404:
            _circuit_record(circuit, success=True)
            return None
        if status != 200:
            problem = f"HTTP {status}"
            break  # a 4xx/500 is the provider's answer, not a passing failure: not retried
        try:
            answer = json.loads(content)
        except ValueError:
            problem = "not JSON"
            break
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            problem = "no data object"
            break
        _circuit_record(circuit, success=True)
        return data
    _circuit_record(circuit, success=False)
    raise ProviderUnavailable(problem)
