"""Key rotation over the population register's real tables: every sealed column moves to the current key."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import connection

from onewindow.registry.models import Household, Person, PersonVersion
from onewindow.registry.protection import keys_rotate, token_key_id
from onewindow.registry.tests.test_population_support import MOTHER_ID, register, registrar

pytestmark = pytest.mark.django_db

OLD = hashlib.sha256(b"old key").digest()
NEW = hashlib.sha256(b"new key").digest()


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> ''")  # noqa: S608 - fixed names
        return [str(row[0]) for row in cursor.fetchall()]


def test_rotation_reseals_people_households_and_history(settings: Any) -> None:
    settings.REGISTRY_KEYS = {"old": OLD}
    person = register(registrar())
    tables = [
        ("registry_person", "id_number"),
        ("registry_person", "name"),
        ("registry_household", "address"),
        ("registry_personversion", "snapshot"),
    ]
    assert all(token_key_id(token) == "old" for table, column in tables for token in _raw(table, column))
    assert all(MOTHER_ID not in token for token in _raw("registry_person", "id_number"))

    settings.REGISTRY_KEYS = {"new": NEW, "old": OLD}
    assert keys_rotate() >= 4
    assert all(token_key_id(token) == "new" for table, column in tables for token in _raw(table, column))
    # The old key can go: everything opens with the new one alone
    settings.REGISTRY_KEYS = {"new": NEW}
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.id_number == MOTHER_ID
    assert Household.objects.get(pk=fresh.household_id).address
    assert PersonVersion.objects.filter(person=fresh).count() == 1
    assert keys_rotate() == 0
