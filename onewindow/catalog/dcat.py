"""The catalog as DCAT-AP 3 (https://semiceu.github.io/DCAT-AP/releases/3.0.0/), JSON-LD or Turtle.

Mapping of the core metadata (DOMAIN.md §5):

==========================  =================================================================
GB/T 21063.3                DCAT-AP 3
==========================  =================================================================
resource                    ``dcat:Dataset`` at ``<base>catalog/resources/<code>/``
code                        ``dct:identifier``
name                        ``dct:title`` (``@zh``, and ``@en`` when there is an English name)
abstract                    ``dct:description`` (``@zh``/``@en``)
provider, provider code     ``dct:publisher`` → ``foaf:Agent`` (``foaf:name``; ``dct:identifier`` the
                            unified social credit code)
update cycle                ``dct:accrualPeriodicity`` → EU frequency authority table
sharing type and condition  ``dct:accessRights`` → ``dct:RightsStatement`` (label, condition, method)
open attribute              ``dct:rights`` on the distribution → ``dct:RightsStatement``
publication date            ``dct:modified`` (this version), ``dct:issued`` (version 1)
version                     ``dcat:version``
classification, themes      ``dcat:theme`` → ``skos:Concept`` in the catalog's ``dcat:themeTaxonomy``
related resource codes      ``dct:relation``
format, data items          the ``dcat:Distribution``: ``dct:format``, ``dct:description`` listing the data
                            items, ``dcat:accessURL`` the resource's API document (full metadata)
==========================  =================================================================

The graph is built here as plain triples and written by two small serialisers, so the platform needs no
RDF library at run time; the tests parse both forms with rdflib and validate them with pySHACL against
the official DCAT-AP 3 shapes. Only what the caller may see is exported (``catalog.selectors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from django.conf import settings
from django.db.models import Min, OuterRef, Prefetch, QuerySet, Subquery

from onewindow.catalog.models import (
    Classification,
    DataItem,
    OpenType,
    Resource,
    ResourceFormat,
    ResourceVersion,
    SharingMethod,
    SharingType,
    UpdateCycle,
)

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    UpdateCycle.REAL_TIME: "UPDATE_CONT",
    UpdateCycle.DAILY: "DAILY",
    UpdateCycle.WEEKLY: "WEEKLY",
    UpdateCycle.MONTHLY: "MONTHLY",
    UpdateCycle.QUARTERLY: "QUARTERLY",
    UpdateCycle.HALF_YEARLY: "ANNUAL_2",
    UpdateCycle.YEARLY: "ANNUAL",
    UpdateCycle.IRREGULAR: "IRREG",
}
TURTLE = "text/turtle"
JSON_LD = "application/ld+json"


# --- A tiny graph ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IRI:
    value: str


@dataclass(frozen=True)
class Literal:
    value: str
    language: str = ""
    datatype: str = ""  # a prefixed name, e.g. "xsd:date"


Term = IRI | Literal | str  # a str is a blank node label


@dataclass
class Graph:
    # subject → [(predicate as a prefixed name, object)], in insertion order.
    nodes: dict[Term, list[tuple[str, Term]]] = field(default_factory=dict)
    _blank: int = 0

    def add(self, subject: Term, predicate: str, obj: Term) -> None:
        self.nodes.setdefault(subject, []).append((predicate, obj))

    def blank(self) -> str:
        self._blank += 1
        return f"b{self._blank}"

    def text(self, subject: Term, predicate: str, zh: str, en: str = "") -> None:
        if zh:
            self.add(subject, predicate, Literal(zh, language="zh"))
        if en:
            self.add(subject, predicate, Literal(en, language="en"))


def _expand(name: str) -> str:
    prefix, local = name.split(":", 1)
    return PREFIXES[prefix] + local


# --- Serialisers -----------------------------------------------------------------------------------------

_TURTLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _turtle_string(value: str) -> str:
    return '"' + "".join(_TURTLE_ESCAPES.get(char, char) for char in value) + '"'


def _turtle_iri(value: str) -> str:
    return "<" + _IRI_UNSAFE.sub(lambda match: quote(match.group(0)), value) + ">"


def _turtle_term(term: Term) -> str:
    if isinstance(term, IRI):
        return _turtle_iri(term.value)
    if isinstance(term, Literal):
        text = _turtle_string(term.value)
        if term.language:
            return f"{text}@{term.language}"
        return f"{text}^^{term.datatype}" if term.datatype else text
    return f"_:{term}"


def to_turtle(graph: Graph) -> str:
    lines = [f"@prefix {prefix}: <{iri}> ." for prefix, iri in PREFIXES.items()]
    for subject, pairs in graph.nodes.items():
        lines.append("")
        body = " ;\n    ".join(f"{predicate} {_turtle_term(obj)}" for predicate, obj in pairs)
        lines.append(f"{_turtle_term(subject)}\n    {body} .")
    return "\n".join(lines) + "\n"


def _json_id(term: Term) -> str:
    return term.value if isinstance(term, IRI) else f"_:{term}"


def _json_value(term: Term) -> dict[str, str]:
    if isinstance(term, Literal):
        value = {"@value": term.value}
        if term.language:
            value["@language"] = term.language
        elif term.datatype:
            value["@type"] = term.datatype
        return value
    return {"@id": _json_id(term)}


def to_json_ld(graph: Graph) -> str:
    """JSON-LD with the prefixes as its inline context (nothing to fetch) and one node per subject."""
    nodes: list[dict[str, object]] = []
    for subject, pairs in graph.nodes.items():
        types = [_json_id(obj) for predicate, obj in pairs if predicate == "rdf:type"]
        values: dict[str, list[dict[str, str]]] = {}
        for predicate, obj in pairs:
            if predicate != "rdf:type":
                values.setdefault(predicate, []).append(_json_value(obj))
        node: dict[str, object] = {"@id": _json_id(subject)}
        if types:
            node["@type"] = types
        node.update(values)
        nodes.append(node)
    return json.dumps({"@context": PREFIXES, "@graph": nodes}, ensure_ascii=False, indent=1)


# --- The catalog as a graph ----------------------------------------------------------------------------


_SHARING_LABELS = {
    SharingType.UNCONDITIONAL: ("无条件共享", "Shared unconditionally between government departments"),
    SharingType.CONDITIONAL: ("有条件共享", "Shared between government departments on conditions"),
    SharingType.NOT_SHARED: ("不予共享", "Not shared"),
}
_OPEN_LABELS = {
    OpenType.OPEN: ("无条件开放", "Open to the public"),
    OpenType.CONDITIONAL: ("有条件开放", "Open to the public on conditions"),
    OpenType.NOT_OPEN: ("不予开放", "Not open to the public"),
}


def base_url(request_base: str) -> str:
    """Where the IRIs start: ``ONEWINDOW_CATALOG_BASE_URL`` when set (stable IRIs behind proxies), else
    the address the request came to. Always ends with a slash."""
    configured = str(getattr(settings, "CATALOG_BASE_URL", "") or "")
    base = configured or request_base
    return base if base.endswith("/") else base + "/"


def _resources_for_export(resources: QuerySet[Resource]) -> QuerySet[Resource]:
    first_published = (
        ResourceVersion.objects.filter(resource=OuterRef("pk"))
        .values("resource")
        .annotate(first=Min("published_on"))
        .values("first")
    )
    return (
        resources.select_related("current_version", "provider", "section")
        .prefetch_related(
            Prefetch("current_version__themes", queryset=Classification.objects.order_by("code")),
            Prefetch("current_version__data_items", queryset=DataItem.objects.order_by("position")),
        )
        .annotate(first_published_on=Subquery(first_published))
        .order_by("code")
    )


def _date(value: date) -> Literal:
    return Literal(value.isoformat(), datatype="xsd:date")


class CatalogGraph:
    """Builds the DCAT-AP graph of a set of resources."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.graph = Graph()
        self.catalog = IRI(f"{base}catalog/")
        self.scheme = IRI(f"{base}catalog/classification")
        # IRIs whose description (type, labels) is already in the graph.
        self._described: set[str] = set()

    def _first(self, iri: IRI) -> bool:
        """True the first time ``iri`` is met (describe it then)."""
        if iri.value in self._described:
            return False
        self._described.add(iri.value)
        return True

    def resource_iri(self, code: str) -> IRI:
        return IRI(f"{self.base}catalog/resources/{code}/")

    def concept(self, node: Classification) -> IRI:
        iri = IRI(f"{self.base}catalog/classification/{node.code}")
        if self._first(iri):
            self.graph.add(iri, "rdf:type", IRI(_expand("skos:Concept")))
            self.graph.text(iri, "skos:prefLabel", node.name, node.name_en)
            self.graph.add(iri, "skos:notation", Literal(node.code))
            self.graph.add(iri, "skos:inScheme", self.scheme)
        return iri

    def agent(self, department_code: str, name: str, credit_code: str) -> IRI:
        iri = IRI(f"{self.base}organisations/departments/{quote(department_code)}")
        if self._first(iri):
            self.graph.add(iri, "rdf:type", IRI(_expand("foaf:Agent")))
            self.graph.add(iri, "rdf:type", IRI(_expand("foaf:Organization")))
            self.graph.text(iri, "foaf:name", name)
            self.graph.add(iri, "dct:identifier", Literal(credit_code))
        return iri

    def header(self, publisher_name: str) -> None:
        g = self.graph
        g.add(self.catalog, "rdf:type", IRI(_expand("dcat:Catalog")))
        g.text(self.catalog, "dct:title", "政务信息资源目录", "Government information resource catalog")
        g.text(
            self.catalog,
            "dct:description",
            "各部门政务信息资源的核心元数据（GB/T 21063）："
            "名称、摘要、提供方、信息项、共享与开放属性、更新周期。",
            "Core metadata of the departments' government information resources (GB/T 21063): name, "
            "abstract, provider, data items, sharing and open attributes, update cycle.",
        )
        publisher = IRI(f"{self.base}catalog/#publisher")
        g.add(self.catalog, "dct:publisher", publisher)
        g.add(publisher, "rdf:type", IRI(_expand("foaf:Agent")))
        g.text(publisher, "foaf:name", publisher_name)
        g.add(self.catalog, "dcat:themeTaxonomy", self.scheme)
        g.add(self.scheme, "rdf:type", IRI(_expand("skos:ConceptScheme")))
        g.text(
            self.scheme, "dct:title", "政务信息资源分类", "Classification of government information resources"
        )

    def rights(self, label: tuple[str, str], *notes: str) -> str:
        node = self.graph.blank()
        self.graph.add(node, "rdf:type", IRI(_expand("dct:RightsStatement")))
        self.graph.text(node, "rdfs:label", *label)
        for note in notes:
            if note:
                self.graph.add(node, "rdfs:comment", Literal(note))
        return node

    def dataset(self, resource: Resource) -> None:
        version = resource.current_version
        if version is None:  # pragma: no cover - resource_create always publishes version 1
            return
        g = self.graph
        iri = self.resource_iri(resource.code)
        g.add(self.catalog, "dcat:dataset", iri)
        g.add(iri, "rdf:type", IRI(_expand("dcat:Dataset")))
        g.add(iri, "dct:identifier", Literal(resource.code))
        g.text(iri, "dct:title", version.name, version.name_en)
        g.text(iri, "dct:description", version.abstract, version.abstract_en)
        g.add(
            iri,
            "dct:publisher",
            self.agent(resource.provider.code, version.provider_name, version.provider_code),
        )
        frequency = IRI(FREQUENCY + FREQUENCIES[UpdateCycle(version.update_cycle)])
        g.add(iri, "dct:accrualPeriodicity", frequency)
        if self._first(frequency):
            g.add(frequency, "rdf:type", IRI(_expand("dct:Frequency")))
        method = SharingMethod(version.sharing_method).label if version.sharing_method else ""
        g.add(
            iri,
            "dct:accessRights",
            self.rights(
                _SHARING_LABELS[SharingType(version.sharing_type)], version.sharing_condition, str(method)
            ),
        )
        first = getattr(resource, "first_published_on", None) or version.published_on
        g.add(iri, "dct:issued", _date(first))
        g.add(iri, "dct:modified", _date(version.published_on))
        g.add(iri, "dcat:version", Literal(str(version.number)))
        g.add(iri, "dcat:theme", self.concept(resource.section))
        for theme in version.themes.all():
            g.add(iri, "dcat:theme", self.concept(theme))
        for code in version.related_codes:
            related = self.resource_iri(code)
            g.add(iri, "dct:relation", related)
            if self._first(related):
                g.add(related, "rdf:type", IRI(_expand("rdfs:Resource")))
        distribution = IRI(f"{iri.value}#distribution")
        g.add(iri, "dcat:distribution", distribution)
        g.add(distribution, "rdf:type", IRI(_expand("dcat:Distribution")))
        access = IRI(f"{self.base}api/v1/catalog/resources/{resource.code}")
        g.add(distribution, "dcat:accessURL", access)
        g.add(access, "rdf:type", IRI(_expand("rdfs:Resource")))
        items = list(version.data_items.all())
        g.text(
            distribution,
            "dct:description",
            "信息项：" + "、".join(f"{item.name}（{item.data_type}）" for item in items),
            "Data items: " + ", ".join(f"{item.name_en or item.name} ({item.data_type})" for item in items),
        )
        media = IRI(f"{self.base}catalog/formats/{version.format}")
        g.add(distribution, "dct:format", media)
        if self._first(media):
            g.add(media, "rdf:type", IRI(_expand("dct:MediaTypeOrExtent")))
            g.add(media, "rdfs:label", Literal(str(ResourceFormat(version.format).label)))
        g.add(
            distribution,
            "dct:rights",
            self.rights(_OPEN_LABELS[OpenType(version.open_type)], version.open_condition),
        )


# Paging (docs/catalog.md "DCAT-AP 3 export"): a page of datasets per request, as harvesters expect.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    """Which page of the export to write: ``number`` from 1, ``size`` datasets, and ``url(n)`` the address
    of page n (the view's IRI, and what the links point to)."""

    number: int
    size: int
    url: Callable[[int], str]


class PageNotFound(LookupError):  # noqa: N818 - names the condition, like Http404
    """The page asked for is past the last one."""


def _paging(builder: CatalogGraph, page: Page, total: int, last: int) -> None:
    """The Hydra description of this page: a ``hydra:PartialCollectionView`` of the catalog (Hydra Core) with
    first/last/next/previous, and the same links under the older ``hydra:PagedCollection`` names that
    ckanext-dcat's RDF harvester (and harvesters built on it, e.g. data.europa.eu's) follows."""
    g = builder.graph
    view = IRI(page.url(page.number))
    g.add(builder.catalog, "hydra:view", view)
    g.add(view, "rdf:type", IRI(_expand("hydra:PartialCollectionView")))
    g.add(view, "rdf:type", IRI(_expand("hydra:PagedCollection")))
    g.add(view, "hydra:totalItems", Literal(str(total), datatype="xsd:integer"))
    g.add(view, "hydra:itemsPerPage", Literal(str(page.size), datatype="xsd:integer"))
    links = {"first": 1, "last": last}
    if page.number < last:
        links["next"] = page.number + 1
    if page.number > 1:
        links["previous"] = page.number - 1
    for name, number in links.items():
        g.add(view, f"hydra:{name}", IRI(page.url(number)))
        g.add(view, f"hydra:{name}Page", IRI(page.url(number)))


def catalog_graph(resources: QuerySet[Resource], *, request_base: str, page: Page | None = None) -> Graph:
    """The DCAT-AP 3 graph of ``resources`` (already limited to what the caller may see): all of them, or
    with ``page`` that page of them (by code) with its Hydra paging links; ``PageNotFound`` past the last
    page (page 1 of an empty catalog exists)."""
    builder = CatalogGraph(base_url(request_base))
    builder.header(str(getattr(settings, "CATALOG_PUBLISHER", "") or "OneWindow"))
    exported = _resources_for_export(resources)
    if page is not None:
        total = resources.count()
        last = max(1, -(-total // page.size))
        if page.number > last:
            raise PageNotFound(page.number)
        start = (page.number - 1) * page.size
        exported = exported[start : start + page.size]
        _paging(builder, page, total, last)
    for resource in exported:
        builder.dataset(resource)
    return builder.graph


def wants_turtle(accept: str, requested_format: str = "") -> bool:
    """Content negotiation: Turtle when ``?format=ttl`` asks for it or the Accept header prefers
    ``text/turtle`` to JSON-LD (by quality, then by order); JSON-LD otherwise, the default."""
    if requested_format:
        return requested_format.lower() in {"ttl", "turtle"}
    best_media, best_quality = JSON_LD, 0.0
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media = media.strip().lower()
        if media not in {TURTLE, JSON_LD, "application/json"}:
            continue
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > best_quality:
            best_media, best_quality = media, quality
    return best_media == TURTLE


def serialise(graph: Graph, *, turtle: bool) -> tuple[str, str]:
    """(body, content type)."""
    if turtle:
        return to_turtle(graph), f"{TURTLE}; charset=utf-8"
    return to_json_ld(graph), f"{JSON_LD}; charset=utf-8"
