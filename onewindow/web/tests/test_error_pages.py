"""Error pages: bilingual (Chinese and English on the same page), and the 500 page renders with no
request, session or database (it is shown when those are what failed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.template import loader
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views import defaults

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]


def test_not_found_page_is_bilingual() -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert '<span lang="zh-CN">找不到页面</span> <span lang="en">Page not found</span>' in body
    assert '<p class="govuk-body" lang="en">If you typed the web address, check it is correct.' in body
    # rendered in the full layout, so the visitor keeps the language switch and navigation
    assert 'action="/i18n/setlang/"' in body


def test_not_found_page_is_bilingual_in_english_too() -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    body = client.get("/no-such-page/").content.decode()

    assert '<html lang="en" class="govuk-template">' in body
    assert '<span lang="zh-CN">找不到页面</span> <span lang="en">Page not found</span>' in body


def test_forbidden_page_is_bilingual(role_users: dict[str, Any], client_for: ClientFor) -> None:
    response = client_for(role_users["resident"]).get("/workbench/")

    assert response.status_code == 403
    body = response.content.decode()
    assert '<span lang="zh-CN">没有访问权限</span>' in body
    assert '<span lang="en">You do not have permission to see this page</span>' in body
    assert "view_workbench" not in body  # the refused permission is audited, not shown


def test_bad_request_page_is_bilingual() -> None:
    request = RequestFactory().get("/")

    response = defaults.bad_request(request, SuspiciousOperation("bad"))

    assert response.status_code == 400
    body = response.content.decode()
    assert '<span lang="zh-CN">请求无效</span>' in body
    assert '<span lang="en">Sorry, we could not understand that request</span>' in body


def test_server_error_page_needs_no_request_and_no_database() -> None:
    # Given nothing: Django's server_error handler renders 500.html with an empty context
    with CaptureQueriesContext(connection) as queries:
        body = loader.get_template("500.html").render()

    # Then the page is complete, in both languages, and asked the database nothing
    assert len(queries) == 0
    assert '<html lang="zh-CN" class="govuk-template">' in body
    assert '<h1 class="govuk-heading-l">抱歉，服务出现问题</h1>' in body
    assert '<h2 class="govuk-heading-m">Sorry, there is a problem with the service</h2>' in body
    assert '<link rel="stylesheet" href="/static/dist/onewindow.css">' in body


def test_server_error_handler_uses_the_page() -> None:
    response = defaults.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "抱歉，服务出现问题" in response.content.decode()


def test_expired_form_page_is_bilingual() -> None:
    # Given a form posted without its CSRF token (expired page, or a forged cross-site post)
    client = Client(enforce_csrf_checks=True)

    # When it arrives
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    # Then the visitor is told in both languages to go back and try again
    assert response.status_code == 403
    body = response.content.decode()
    assert "页面已过期，请重试" in body
    assert "The page has expired – please try again" in body
