"""Find every page of the site and a role that may open it.

Pages are discovered from the URL resolver, so a page added by any app is swept for accessibility without
anyone listing it. Only routes that are not pages are skipped: by prefix with a reason below, or because
they answer GET with 405 (POST-only actions) or with something other than HTML (exports, probes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

# Prefix → why it is not a page to sweep. Keep this list short: every entry is a blind spot.
SKIPPED_PREFIXES: dict[str, str] = {
    "/api/": "the JSON API (its schema is tested separately); the docs page is third-party Swagger UI",
    "/i18n/": "Django's set_language: a POST-only redirect",
    "/static/": "static files",
    "/media/": "uploaded files",
    "/healthz": "plain-text liveness probe",
    "/readyz": "plain-text readiness probe",
    "/metrics": "Prometheus text exposition",
    "/seals/root-ca.pem": "the platform root certificate (a PEM file; 404 until the CA exists)",
    "/seals/root-ca.crl": "the certificate revocation list (DER file), tested in seals",
    "/federation/v1/": "node-to-node federation endpoints: signed machine calls, tested in federation",
    "/start/": "redirects every signed-in user to their home page; has no content of its own",
    # Register keepers' pages: no role of conftest.ALL_ROLES is in PSB or AMR, so nobody in the probe may
    # open them; extra_urls.py sweeps each kind with a handler of the right department.
    "/registry/persons/": "public-security handlers only; swept through samples in extra_urls.py",
    "/registry/entities/new": "market-regulation handlers only; swept through a sample in extra_urls.py",
}

_REGEX_SYNTAX = re.compile(r"[\\()\[\]{}?*+|.]")


def _literal(pattern: Any) -> str | None:
    """The fixed text a URL pattern matches, or None when it takes arguments."""
    if isinstance(pattern, LocalePrefixPattern):
        return str(pattern.language_prefix)
    if isinstance(pattern, RoutePattern):
        return None if pattern.converters else str(pattern)
    if isinstance(pattern, RegexPattern):
        if pattern.regex.groups:
            return None
        text = str(pattern.regex.pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
        return None if _REGEX_SYNTAX.search(text) else text
    return None


def _walk(patterns: Sequence[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
    for entry in patterns:
        literal = _literal(entry.pattern)
        if literal is None:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + literal)
        else:
            yield prefix + literal


def skip_reason(path: str) -> str | None:
    for prefix, reason in SKIPPED_PREFIXES.items():
        if path.startswith(prefix):
            return reason
    return None


def discover_paths() -> list[str]:
    """Every GET path without URL arguments, minus the skipped prefixes, sorted."""
    paths = {"/" + path for path in _walk(get_resolver().url_patterns, "")}
    return sorted(path for path in paths if skip_reason(path) is None)


@dataclass(frozen=True)
class PageAccess:
    """How a page answered each role (a role name or ``anonymous``) with a Django test client."""

    path: str
    statuses: dict[str, int]
    content_types: dict[str, str]

    @property
    def first_allowed_role(self) -> str | None:
        for role, status in self.statuses.items():
            if status == 200:
                return role
        return None

    @property
    def is_post_only(self) -> bool:
        # 405 to a GET from anyone allowed past authentication; the sign-in states may be redirected first.
        return self.first_allowed_role is None and 405 in self.statuses.values()

    @property
    def is_html(self) -> bool:
        role = self.first_allowed_role
        return role is not None and self.content_types[role].startswith("text/html")


def probe(path: str, clients: Mapping[str, Client], *, stop_at_first: bool = True) -> PageAccess:
    """GET ``path`` as each role in order, stopping at the first HTTP 200 when ``stop_at_first``."""
    statuses: dict[str, int] = {}
    content_types: dict[str, str] = {}
    for role, client in clients.items():
        response = client.get(path)
        statuses[role] = response.status_code
        content_types[role] = response.get("Content-Type", "")
        if stop_at_first and response.status_code == 200:
            break
    return PageAccess(path, statuses, content_types)
