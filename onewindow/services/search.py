"""Full-text search of the service catalog, with Chinese segmented by jieba.

Both sides of a search are segmented the same way: a service's text into jieba's search-mode tokens
(words and the shorter words inside them, so 城乡居民 also yields 城乡 and 居民), a query into jieba's
precise-mode words; every token is lower-cased and split at anything that is not a letter or digit, so
that SQLite's ``unicode61`` tokenizer and PostgreSQL's ``simple`` configuration see exactly the same
words. A query matches a service when every one of its words is in the service's document (AND).

* SQLite: the FTS5 table ``services_search_fts`` (rowid = service id), ranked by ``bm25``.
* PostgreSQL: ``to_tsvector('simple', tokens) @@ plainto_tsquery('simple', query)`` over
  ``ServiceSearchDocument`` with a GIN index on the expression, ranked by ``ts_rank``.

The publish action calls :func:`search_index_update` inside its transaction; nothing else writes here.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jieba  # type: ignore[import-untyped]
from django.db import connection

from onewindow.services.models import Service, ServiceSearchDocument, ServiceVersion

FTS_TABLE = "services_search_fts"

# The service's name counts this many times, so a match in the name outranks one in the small print.
NAME_WEIGHT = 3

# Words that carry no meaning in a query ("怎么开办企业" searches for 开办 企业).
QUERY_STOP_WORDS = frozenset(
    {
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "在",
        "是",
        "我",
        "要",
        "想",
        "怎么",
        "如何",
        "怎样",
        "办",
        "a",
        "the",
        "of",
    }
)

_WORD = re.compile(r"\w+", re.UNICODE)
_initialised = False
_initialise_lock = threading.Lock()


def _jieba() -> Any:
    """jieba's default tokenizer, initialised once per process, quietly, with its cache in the temp dir."""
    global _initialised  # one process-wide initialisation
    if not _initialised:
        with _initialise_lock:
            if not _initialised:
                jieba.setLogLevel(logging.WARNING)
                jieba.dt.tmp_dir = tempfile.gettempdir()
                jieba.dt.cache_file = str(Path(tempfile.gettempdir()) / "onewindow-jieba.cache")
                jieba.initialize()
                _initialised = True
    return jieba.dt


def _words(pieces: Iterable[str]) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        words.extend(word.lower() for word in _WORD.findall(piece))
    return words


def document_tokens(text: str) -> list[str]:
    """The index tokens of ``text`` (jieba search mode)."""
    return _words(_jieba().cut_for_search(text))


def query_tokens(query: str) -> list[str]:
    """The words of a query (jieba precise mode), without stop words and repeats, in order."""
    seen: dict[str, None] = {}
    for word in _words(_jieba().cut(query)):
        if word not in QUERY_STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


def version_search_text(service: Service, version: ServiceVersion) -> str:
    """What a service is found by: code, name (weighted), summary, legal basis, materials, department."""
    department = service.department
    parts = [service.code]
    parts.extend([version.name, version.name_en] * NAME_WEIGHT)
    parts.extend([version.summary, version.summary_en, version.legal_basis])
    for material in version.materials or []:
        parts.extend([str(material.get("name", "")), str(material.get("name_en", ""))])
    parts.extend([department.name, department.name_en, department.code])
    return "\n".join(part for part in parts if part)


def search_index_update(*, service: Service, version: ServiceVersion) -> None:
    """Index ``version`` as ``service``'s searchable text (call inside the publishing transaction)."""
    tokens = " ".join(document_tokens(version_search_text(service, version)))
    ServiceSearchDocument.objects.update_or_create(service=service, defaults={"tokens": tokens})
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [service.pk])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, tokens) VALUES (%s, %s)",  # noqa: S608
                [service.pk, tokens],
            )


def search_service_ids(query: str) -> dict[int, float] | None:
    """Service ids matching ``query`` with their relevance (higher is better); None for an empty query.

    One database query. The caller orders by relevance, then by service code.
    """
    words = query_tokens(query)
    if not words:
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            match = " ".join(f'"{word}"' for word in words)
            cursor.execute(
                f"SELECT rowid, bm25({FTS_TABLE}) FROM {FTS_TABLE} "  # noqa: S608
                f"WHERE {FTS_TABLE} MATCH %s",
                [match],
            )
            # bm25 is lower for better matches.
            return {int(row[0]): -float(row[1]) for row in cursor.fetchall()}
        table = ServiceSearchDocument._meta.db_table
        cursor.execute(
            "SELECT service_id, ts_rank(to_tsvector('simple', tokens), query) "  # noqa: S608
            f"FROM {table}, plainto_tsquery('simple', %s) AS query "
            "WHERE to_tsvector('simple', tokens) @@ query",
            [" ".join(words)],
        )
        return {int(row[0]): float(row[1]) for row in cursor.fetchall()}
