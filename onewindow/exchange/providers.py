"""What answers a service: the built-in providers (the platform's own registers) and external HTTP systems.

Every provider answers a dict keyed by **catalog data item name** (``姓名``, ``统一社会信用代码`` …), so the
exchange can filter the answer down to the items the consumer's grant covers, whatever the provider.

* ``person_basic`` — population register (人口基础信息) by citizen ID number; every lookup audited here as
  ``registry.person_provided`` with the purpose and the consumer (never the ID number).
* ``entity_basic`` — legal-entity register (法人单位基础信息) by unified social credit code.
* ``licence_verify`` — e-licence verification by licence number (``licences.selectors``).
* HTTP services: ``http_provider`` (signed both ways by the adapter protocol, retries, circuit breaker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    from onewindow.registry.prefill import active_entity_record

    record = active_entity_record(_text(call.query, "credit_code", "统一社会信用代码"))
    if record is None:
        return None
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


# --- External HTTP services: moved to ``http_provider`` (the adapter protocol), importable from here too

_MOVED_TO_HTTP_PROVIDER = frozenset({"Circuit", "circuit_for", "circuits_reset", "http_call"})


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_HTTP_PROVIDER:  # lazily: http_provider imports this module
        from onewindow.exchange import http_provider

        return getattr(http_provider, name)
    message = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(message)
