"""Full-text search of the resource catalog, Chinese segmented by jieba — the service catalog's approach.

The words come from ``onewindow.services.search`` (``document_tokens``/``query_tokens``): a resource's text
in jieba's search mode, a query in precise mode, both lower-cased and split the same way, so searching 人口
finds 人口基础信息. Every word of the query must match (AND).

What a search may return — visibility (status, sharing and open type, provider) and the browsing filters
(department, classification prefix, sharing type, theme) — is written into each document as *tags*,
words that start with ``owtag`` (``owtagactive``, ``owtagprov12``, ``owtagcls301``…), and the search
ANDs them into the full-text query. So one index answers the whole question: no join to the resource
table for thousands of matches, and a count is a merge of posting lists (docs/performance.md, Catalog).

Relevance is in two tiers: resources whose *name* (or code) holds every word come first, then those that
hold them elsewhere (abstract, provider, catalog item, data items); within a tier, in the order they were
catalogued. Reading either tier in index order stops after the page, where ranking every match by BM25
cost most of a query that matches thousands of resources (measured: 13 ms of 15 for 5,000 matches).

* SQLite: the FTS5 table ``catalog_search_fts (name, tokens)``, rowid = resource id, column filters.
* PostgreSQL: the stored, generated ``tsvector`` columns ``name_vector`` and ``vector`` of
  ``catalog_resourcesearchdocument``, each with a GIN index (migration 0001).

The publishing and withdrawing actions call :func:`search_index_update` inside their transaction;
:func:`search_index_rebuild` refills SQLite's table from the documents after a bulk load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from django.db import connection
from django.db.models import QuerySet

from onewindow.catalog.models import Classification, Resource, ResourceSearchDocument, ResourceVersion
from onewindow.services.search import document_tokens, query_tokens

FTS_TABLE = "catalog_search_fts"
DOCUMENT_TABLE = "catalog_resourcesearchdocument"
TAG_PREFIX = "owtag"
_NOT_ALNUM = re.compile(r"[^0-9a-z]")

# A filter in conjunctive form: every clause must hold; a clause holds when any of its tags is present.
Clauses = Sequence[Sequence[str]]


def tag(kind: str, value: object) -> str:
    """A filter tag: one lower-case alphanumeric word, so both tokenizers keep it whole."""
    return TAG_PREFIX + kind + _NOT_ALNUM.sub("", str(value).lower())


def document_tags(
    resource: Resource, version: ResourceVersion, themes: Iterable[Classification]
) -> list[str]:
    code = resource.classification_code
    tags = [
        tag("status", resource.status),
        tag("share", version.sharing_type),
        tag("open", version.open_type),
        tag("prov", resource.provider_id),
    ]
    tags.extend(tag("cls", code[:length]) for length in range(1, len(code) + 1))
    theme_codes = {theme.code for theme in themes}
    if resource.kind == "2":
        theme_codes.add(code[:3])
    tags.extend(tag("theme", theme) for theme in sorted(theme_codes))
    return tags


def tokens_for(text: str) -> str:
    return " ".join(document_tokens(text))


def document_texts(
    resource: Resource,
    version: ResourceVersion,
    item_names: Iterable[str],
    themes: Iterable[Classification],
) -> tuple[str, str]:
    """(name tokens, all tokens): the name column is the code and the names; the other holds those, the
    abstract, provider, catalog item, data items, and the filter tags."""
    themes = list(themes)
    name = tokens_for("\n".join([resource.code, version.name, version.name_en]))
    body = [version.abstract, version.abstract_en, version.provider_name, resource.provider.code]
    body.extend([resource.section.name, resource.section.name_en, *item_names])
    body.extend(theme.name for theme in themes)
    rest = tokens_for("\n".join(part for part in body if part))
    return name, " ".join([name, rest, *document_tags(resource, version, themes)])


def search_index_update(
    *,
    resource: Resource,
    version: ResourceVersion,
    item_names: Iterable[str],
    themes: Iterable[Classification],
) -> None:
    """Index ``version`` (and ``resource``'s status) as the resource's document, inside the transaction."""
    name, tokens = document_texts(resource, version, item_names, themes)
    ResourceSearchDocument.objects.update_or_create(
        resource=resource, defaults={"name_tokens": name, "tokens": tokens}
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [resource.pk])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, name, tokens) VALUES (%s, %s, %s)",  # noqa: S608
                [resource.pk, name, tokens],
            )


def search_index_rebuild() -> None:
    """SQLite: refill the FTS table from the documents (after a bulk load). PostgreSQL needs nothing: its
    vector columns are generated from the tokens on insert."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, name, tokens) "  # noqa: S608
            f"SELECT resource_id, name_tokens, tokens FROM {DOCUMENT_TABLE}"
        )


def search_words(query: str) -> list[str]:
    """The query's words (jieba precise mode), without stop words, repeats and anything tag-like."""
    return [word for word in query_tokens(query) if not word.startswith(TAG_PREFIX)]


# --- Statements -------------------------------------------------------------------------------------------


def _fts(words: list[str], clauses: Clauses) -> tuple[str, str, str]:
    """FTS5 MATCH expressions: (every match, the name tier, the other tier)."""
    found = " AND ".join(f'"{word}"' for word in words)
    where = " AND ".join("(" + " OR ".join(clause) + ")" for clause in clauses) or f"{TAG_PREFIX}statusactive"
    everything = f"tokens : ({found}) AND tokens : ({where})"
    return everything, f"name : ({found}) AND tokens : ({where})", f"({everything}) NOT name : ({found})"


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"'{word}'" for word in words)


def _tsfilter(clauses: Clauses) -> str:
    return " & ".join("(" + " | ".join(clause) + ")" for clause in clauses) or f"{TAG_PREFIX}statusactive"


class SearchResults:
    """A search's results: counted and sliced lazily, like a queryset, for the API's limit/offset paging and
    the pages' ``Paginator``. A page costs at most four short queries (five on SQLite, which counts the
    tiers apart) whatever the number of matches."""

    def __init__(self, words: list[str], clauses: Clauses, resources: QuerySet[Resource]) -> None:
        self._words = words
        self._clauses = [list(clause) for clause in clauses]
        self._resources = resources
        self._counts: tuple[int, int] | None = None

    # Statements ----------------------------------------------------------------------------------------

    def _scalar(self, sql: str, params: list[Any]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    def _ids(self, sql: str, params: list[Any]) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [int(row[0]) for row in cursor.fetchall()]

    def _tier_counts(self) -> tuple[int, int]:
        """(all matches, name-tier matches)."""
        if self._counts is None:
            if connection.vendor == "sqlite":
                everything, name, _ = _fts(self._words, self._clauses)
                count = f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
                self._counts = (self._scalar(count, [everything]), self._scalar(count, [name]))
            else:
                # One pass over the matches' rows for both counts: on PostgreSQL the rows are the cost.
                words, where = _tsquery(self._words), _tsfilter(self._clauses)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*), count(*) FILTER (WHERE name_vector @@ to_tsquery('simple', %s)) "  # noqa: S608
                        f"FROM {DOCUMENT_TABLE} WHERE vector @@ to_tsquery('simple', %s)",
                        [words, f"({words}) & ({where})"],
                    )
                    everything, in_name = cursor.fetchone()
                self._counts = (int(everything), int(in_name))
        return self._counts

    def _tier_ids(self, tier: int, offset: int, limit: int) -> list[int]:
        if limit <= 0:
            return []
        if connection.vendor == "sqlite":
            match = _fts(self._words, self._clauses)[tier]
            return self._ids(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608
                "ORDER BY rowid LIMIT %s OFFSET %s",
                [match, limit, offset],
            )
        words, where = _tsquery(self._words), _tsfilter(self._clauses)
        if tier == 1:
            condition = "vector @@ to_tsquery('simple', %s) AND name_vector @@ to_tsquery('simple', %s)"
            params: list[Any] = [f"({words}) & ({where})", words]
        else:
            condition = "vector @@ to_tsquery('simple', %s) AND NOT (name_vector @@ to_tsquery('simple', %s))"
            params = [f"({words}) & ({where})", words]
        return self._ids(
            f"SELECT resource_id FROM {DOCUMENT_TABLE} WHERE {condition} "  # noqa: S608
            "ORDER BY resource_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )

    def _page(self, offset: int, limit: int) -> list[Resource]:
        _, in_name = self._tier_counts()
        ids = self._tier_ids(1, offset, min(limit, max(in_name - offset, 0)))
        ids += self._tier_ids(2, max(offset - in_name, 0), limit - len(ids))
        found = {resource.pk: resource for resource in self._resources.filter(pk__in=ids)}
        return [found[pk] for pk in ids if pk in found]

    # The queryset-like surface ------------------------------------------------------------------------

    def all(self) -> SearchResults:
        return self

    def count(self) -> int:
        return self._tier_counts()[0]

    def exists(self) -> bool:
        return self.count() > 0

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Resource: ...
    @overload
    def __getitem__(self, index: slice) -> list[Resource]: ...
    def __getitem__(self, index: int | slice) -> Resource | list[Resource]:
        if isinstance(index, int):
            page = self._page(index, 1)
            if not page:
                raise IndexError(index)
            return page[0]
        start, stop, step = index.indices(self.count())
        if step != 1:
            raise ValueError(step)
        return self._page(start, max(stop - start, 0))

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._page(0, self.count()))

    def __contains__(self, resource: object) -> bool:
        return isinstance(resource, Resource) and any(found.pk == resource.pk for found in self)
