"""Fixtures for the applications tests: a published service in TDEPT and submitted applications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onewindow.accounts.models import User
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.services.models import Channel, Service


@pytest.fixture
def service(role_users: dict[str, Any]) -> Service:
    return published_service("TSVC")


@pytest.fixture
def submit(service: Service, role_users: dict[str, Any]) -> Callable[..., Application]:
    """Submit as the resident (web) unless told otherwise; returns the application."""

    def make(user: User | None = None, *, codes: tuple[str, ...] = (), **kwargs: Any) -> Application:
        acting = user or role_users["resident"]
        materials = [str(uploaded_material(acting, code).pk) for code in codes]
        arguments: dict[str, Any] = {
            "acting_user": acting,
            "service_code": service.code,
            "form": dict(VALID_FORM),
            "material_ids": materials,
            "channel": Channel.WEB,
        }
        arguments.update(kwargs)
        application, _ = application_submit(**arguments)
        return application

    return make
