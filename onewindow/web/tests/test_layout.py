"""The layout: language (WCAG 2.1 SC 3.1.1/3.1.2), large text (SC 1.4.4; MIIT 2020 适老化 action plan),
account controls, messages, self-hosted assets and the strict content security policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from onewindow.web.context_processors import LARGE_TEXT_COOKIE, platform

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]


def test_pages_are_in_simplified_chinese_by_default() -> None:
    # Given a browser that states no language preference
    # When it opens the landing page
    response = Client().get("/")

    # Then the page is Chinese and says so
    body = response.content.decode()
    assert '<html lang="zh-CN" class="govuk-template">' in body
    assert "跳到主要内容" in body
    assert "<title>政务服务 一网通办 - 一网通办</title>" in body


def test_language_switch_sets_english_and_returns_to_the_page() -> None:
    # Given a visitor on the accessibility statement
    client = Client()

    # When they choose English in the header's form
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accessibility/"})

    # Then they go back to the same page, which is now in English
    assert response.status_code == 302
    assert response["Location"] == "/accessibility/"
    body = client.get("/accessibility/").content.decode()
    assert '<html lang="en" class="govuk-template">' in body
    assert '<h1 class="govuk-heading-xl">Accessibility statement</h1>' in body
    # and the switch offers Chinese, named in Chinese and marked as Chinese
    assert 'value="zh-hans" lang="zh-CN">简体中文</button>' in body


def test_language_switch_is_a_csrf_protected_form_on_every_page() -> None:
    body = Client().get("/").content.decode()

    form = re.search(
        r'<form class="ow-utility-bar__form" action="/i18n/setlang/" method="post">(.*?)</form>', body, re.S
    )
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert '<input type="hidden" name="next" value="/">' in form.group(1)
    assert 'value="en" lang="en">English</button>' in form.group(1)


@pytest.mark.parametrize(
    ("value", "cookie", "html_class"),
    [("1", "1", "govuk-template ow-large-text"), ("0", "0", "govuk-template")],
)
def test_large_text_toggle_sets_the_cookie_and_returns_to_the_page(
    value: str, cookie: str, html_class: str
) -> None:
    # Given a visitor on the accessibility statement
    client = Client()

    # When they press the large-text button
    response = client.post("/display/large-text/", {"large_text": value, "next": "/accessibility/"})

    # Then the choice is kept in a cookie for a year and they return to the page, shown accordingly
    assert response.status_code == 302
    assert response["Location"] == "/accessibility/"
    morsel = response.cookies[LARGE_TEXT_COOKIE]
    assert (morsel.value, morsel["max-age"], morsel["samesite"], morsel["httponly"]) == (
        cookie,
        365 * 24 * 3600,
        "Lax",
        True,
    )
    assert f'class="{html_class}"' in client.get("/accessibility/").content.decode()


def test_large_text_button_offers_the_opposite_of_the_current_mode() -> None:
    client = Client()
    assert ">大字模式</button>" in client.get("/").content.decode()

    client.cookies[LARGE_TEXT_COOKIE] = "1"
    body = client.get("/").content.decode()
    assert ">关闭大字模式</button>" in body
    assert '<input type="hidden" name="large_text" value="0">' in body


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_large_text_toggle_never_redirects_off_site(target: str) -> None:
    response = Client().post("/display/large-text/", {"large_text": "1", "next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_large_text_toggle_refuses_get_and_cross_site_posts() -> None:
    # A GET changes nothing, and a POST without the CSRF token (a forged cross-site form) is refused.
    assert Client().get("/display/large-text/").status_code == 405
    response = Client(enforce_csrf_checks=True).post("/display/large-text/", {"large_text": "1", "next": "/"})
    assert response.status_code == 403
    assert LARGE_TEXT_COOKIE not in response.cookies


def test_signed_in_user_sees_their_name_and_a_sign_out_form(
    role_users: dict[str, Any], client_for: ClientFor
) -> None:
    user = role_users["resident"]
    user.display_name = "张三"
    user.save(update_fields=["display_name"])

    body = client_for(user).get("/").content.decode()

    assert '<span class="ow-utility-bar__user">张三</span>' in body
    assert re.search(
        r'<form class="ow-utility-bar__form" action="/accounts/logout/" method="post">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        body,
    )
    assert ">登录</a>" not in body


def test_anonymous_visitor_sees_sign_in_leading_to_their_home_page() -> None:
    body = Client().get("/").content.decode()

    assert (
        '<a class="govuk-link govuk-link--no-visited-state" href="/accounts/login/?next=/start/">登录</a>'
        in body
    )
    assert "/accounts/logout/" not in body


def test_assets_are_self_hosted_and_there_is_no_inline_script_or_style() -> None:
    # Given any page
    response = Client().get("/")
    body = response.content.decode()

    # Then every script and stylesheet comes from our own /static/ (no CDN: intranets have no internet)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', body)
    assert sources == [
        "/static/images/favicon.svg",
        "/static/dist/onewindow.css",
        "/static/vendor/htmx.min.js",
        "/static/onewindow.js",
        "/static/onewindow-body-start.js",
    ]
    # and nothing inline that the CSP would have to allow
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", body) == []
    assert " style=" not in body
    assert "<style" not in body
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp


def test_htmx_requests_carry_the_csrf_token() -> None:
    body = Client().get("/").content.decode()

    assert re.search(
        r"""<body class="govuk-template__body" hx-headers='\{"X-CSRFToken": "[A-Za-z0-9]{64}"\}'>""", body
    )


def _add_messages(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import render

    messages.success(request, "Saved")
    messages.error(request, "Could not send")
    return render(request, "web/accessibility.html")


# The site's URLs plus one view that queues messages, for the test below.
urlpatterns = [path("test-messages/", _add_messages), *site_urlpatterns]


@pytest.mark.urls("onewindow.web.tests.test_layout")
def test_messages_are_shown_as_notification_banners() -> None:
    body = Client().get("/test-messages/").content.decode()

    assert (
        'class="govuk-notification-banner govuk-notification-banner--success"\n               role="alert"'
        in body
    )
    assert 'class="govuk-notification-banner"\n               role="region"' in body
    assert '<p class="govuk-notification-banner__heading">Saved</p>' in body
    assert '<p class="govuk-notification-banner__heading">Could not send</p>' in body


def test_context_processor_survives_a_request_without_a_user() -> None:
    # A 400 for a bad Host header is rendered before the authentication middleware has run.
    request = RequestFactory().get("/")

    context = platform(request)

    assert [item.url for item in context["nav_items"]] == ["/"]
    assert context["large_text"] is False
