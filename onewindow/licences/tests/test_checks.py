"""``onewindow check-deploy``: licence QR codes must point to the platform's real public https address."""

from __future__ import annotations

import pytest
from django.test import override_settings

from onewindow.licences.checks import public_base_url_check


@pytest.mark.parametrize(
    ("environment", "url", "ids"),
    [
        ("production", "http://127.0.0.1:8000", ["licences.E001"]),
        ("production", "https://localhost", ["licences.E001"]),
        ("production", "http://ywtb.example.gov.cn", ["licences.E001"]),
        ("production", "https://ywtb.example.gov.cn", []),
        ("development", "http://127.0.0.1:8000", []),
    ],
)
def test_the_public_address_is_checked_in_production(environment: str, url: str, ids: list[str]) -> None:
    with override_settings(ONEWINDOW_ENV=environment, PUBLIC_BASE_URL=url):
        assert [message.id for message in public_base_url_check(None)] == ids
