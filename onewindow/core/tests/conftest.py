"""Fixtures of the operations tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def immediate_tasks() -> Iterator[None]:
    """Tasks run as soon as they are enqueued, whatever backend the settings chose."""
    with override_settings(TASKS=IMMEDIATE_TASKS):
        yield


@pytest.fixture
def database_tasks() -> Iterator[None]:
    """Tasks go to the database queue, as in production, for a worker to claim."""
    with override_settings(TASKS=DATABASE_TASKS):
        yield
