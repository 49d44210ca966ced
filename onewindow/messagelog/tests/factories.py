"""Test helpers: subsystems in the catalog's register and exchanges appended to the log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from onewindow.catalog.models import InformationSystem
from onewindow.crypto.sm3 import sm3_hex
from onewindow.messagelog.actions import message_log_append
from onewindow.messagelog.models import MessageLogRecord
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory

REQUEST_BODY = b'{"id_number":"11010519491231002X","secret_marker":"PLAINTEXT-REQUEST"}'
RESPONSE_BODY = '{"name":"张三","secret_marker":"PLAINTEXT-RESPONSE"}'.encode()


def subsystem(code: str, department_code: str) -> InformationSystem:
    department = Department.objects.filter(code=department_code).first() or DepartmentFactory.create(
        code=department_code
    )
    return InformationSystem.objects.create(
        department=department,
        code=code,
        name=f"系统 {code}",
        state="built",
        owner="测试",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )


def append(**overrides: Any) -> MessageLogRecord:
    exchange_id = overrides.pop("exchange_id", uuid.uuid4().hex)
    request_body: bytes = overrides.pop("request_body", REQUEST_BODY)
    response_body: bytes = overrides.pop("response_body", RESPONSE_BODY)
    arguments: dict[str, Any] = {
        "exchange_id": exchange_id,
        "service": "CN/GOV/11110000000000000X/MSR-SYS/entity-basic",
        "consumer": "CN/GOV/11110000000000001X/TAX-SYS",
        "provider": "CN/GOV/11110000000000000X/MSR-SYS",
        "purpose": "QYKB20260001",
        "request_digest": sm3_hex(request_body),
        "response_digest": sm3_hex(response_body),
        "request_signature": "c2lnbmF0dXJlLXJlcXVlc3Q=",
        "response_signature": "c2lnbmF0dXJlLXJlc3BvbnNl",
        "status": 200,
        "error_code": "",
        "started_at": timezone.now() - dt.timedelta(milliseconds=12),
        "duration_ms": 11.7654,
        "request_body": request_body,
        "response_body": response_body,
        "consumer_subsystem_code": "TAX-SYS",
        "provider_subsystem_code": "MSR-SYS",
    }
    arguments.update(overrides)
    return message_log_append(**arguments)
