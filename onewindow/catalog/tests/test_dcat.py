"""The DCAT-AP 3 export (issue #7 item 7): JSON-LD by default, Turtle by content negotiation, the mapping of
DOMAIN.md §5, and zero violations against the official DCAT-AP 3.0.0 SHACL shapes (a copy in
tests/data/dcat-ap-3/, see its README for source and licence)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from onewindow.catalog import dcat

pytestmark = pytest.mark.django_db

rdflib = pytest.importorskip("rdflib")
pyshacl = pytest.importorskip("pyshacl")

SHAPES = Path(__file__).parent / "data" / "dcat-ap-3" / "dcat-ap_3_shacl_shapes.ttl"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"


@cache
def _shapes() -> Any:
    return rdflib.Graph().parse(SHAPES, format="turtle")


def _graph(text: str, fmt: str) -> Any:
    return rdflib.Graph().parse(data=text, format=fmt)


def _validate(graph: Any) -> tuple[bool, str]:
    conforms, _, report = pyshacl.validate(
        graph, shacl_graph=_shapes(), inference="none", abort_on_first=False
    )
    return bool(conforms), str(report)


def _export(client: Client, **headers: Any) -> Any:
    return client.get("/api/v1/catalog/dcat", **headers)


def _full_catalog(catalog: dict[str, Any]) -> None:
    """Versions with themes, related codes and English names, so every mapped property is exported."""
    from onewindow.catalog import actions

    actions.resource_publish_version(
        acting_user=None,
        resource=catalog["other_open"],
        theme_codes=["201", "210"],
        related_codes=[catalog["own_open"].code, catalog["other_not_shared"].code],
        update_cycle="half_yearly",
        name_en='Open days "2027"\nschools',
    )


def test_json_ld_is_the_default_and_conforms_to_dcat_ap_3(
    catalog: dict[str, Any], client: Client, role_users: Any, client_for: Any
) -> None:
    _full_catalog(catalog)
    admin = client_for(role_users["system_admin"])
    response = _export(admin)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json; charset=utf-8"
    assert "Accept" in response["Vary"].split(", ")
    graph = _graph(response.content.decode(), "json-ld")

    conforms, report = _validate(graph)

    assert conforms, report
    datasets = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(DCAT + "Dataset")))
    assert len(datasets) == len(catalog)


def test_turtle_by_content_negotiation_says_the_same(
    catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    _full_catalog(catalog)
    admin = client_for(role_users["system_admin"])
    turtle = _export(admin, HTTP_ACCEPT="text/turtle")
    assert turtle["Content-Type"] == "text/turtle; charset=utf-8"
    json_ld = _export(admin, HTTP_ACCEPT="application/ld+json")
    from rdflib.compare import isomorphic

    turtle_graph = _graph(turtle.content.decode(), "turtle")
    assert isomorphic(turtle_graph, _graph(json_ld.content.decode(), "json-ld"))
    conforms, report = _validate(turtle_graph)
    assert conforms, report
    assert _export(admin, HTTP_ACCEPT="text/turtle;q=0.5, application/ld+json")["Content-Type"].startswith(
        "application/ld+json"
    )
    assert admin.get("/api/v1/catalog/dcat", {"format": "ttl"})["Content-Type"].startswith("text/turtle")


def test_the_mapping_of_domain_section_5(catalog: dict[str, Any], client: Client) -> None:
    """name→dct:title, abstract→dct:description, provider→dct:publisher, update cycle→
    dct:accrualPeriodicity, sharing→dct:accessRights; the public export has the open catalog only."""
    graph = _graph(_export(client).content.decode(), "json-ld")
    resource = catalog["legal_entity"]
    dataset = rdflib.URIRef(f"http://testserver/catalog/resources/{resource.code}/")
    u = rdflib.URIRef

    assert graph.value(dataset, u(DCT + "identifier")) == rdflib.Literal(resource.code)
    titles = set(graph.objects(dataset, u(DCT + "title")))
    assert titles == {
        rdflib.Literal("法人单位基础信息", lang="zh"),
        rdflib.Literal("Legal-entity base information", lang="en"),
    }
    assert str(graph.value(dataset, u(DCT + "description"))).startswith(("市场主体登记信息", "Registration"))
    publisher = graph.value(dataset, u(DCT + "publisher"))
    assert publisher == u("http://testserver/organisations/departments/AMR")
    assert graph.value(publisher, u("http://xmlns.com/foaf/0.1/name")) == rdflib.Literal(
        "福州市市场监督管理局", lang="zh"
    )
    assert graph.value(publisher, u(DCT + "identifier")) == rdflib.Literal(resource.provider.credit_code)
    assert graph.value(dataset, u(DCT + "accrualPeriodicity")) == u(
        "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT"
    )
    rights = graph.value(dataset, u(DCT + "accessRights"))
    assert rdflib.Literal("无条件共享", lang="zh") in set(graph.objects(rights, rdflib.RDFS.label))
    assert graph.value(dataset, u(DCAT + "theme")) == u("http://testserver/catalog/classification/102")
    distribution = graph.value(dataset, u(DCAT + "distribution"))
    assert graph.value(distribution, u(DCAT + "accessURL")) == u(
        f"http://testserver/api/v1/catalog/resources/{resource.code}"
    )
    # Only the open catalog for the public
    identifiers = {str(value) for value in graph.objects(None, u(DCT + "identifier")) if "/" in str(value)}
    assert identifiers == {catalog[name].code for name in ("legal_entity", "own_open", "other_open")}
    conforms, report = _validate(graph)
    assert conforms, report


def test_the_base_url_setting_fixes_the_iris(catalog: dict[str, Any], client: Client, settings: Any) -> None:
    settings.CATALOG_BASE_URL = "https://data.example.gov.cn/onewindow"
    settings.CATALOG_PUBLISHER = "福州市大数据管理局"
    graph = _graph(_export(client, HTTP_ACCEPT="text/turtle").content.decode(), "turtle")
    catalog_iri = rdflib.URIRef("https://data.example.gov.cn/onewindow/catalog/")
    assert (catalog_iri, rdflib.RDF.type, rdflib.URIRef(DCAT + "Catalog")) in graph
    publisher = graph.value(catalog_iri, rdflib.URIRef(DCT + "publisher"))
    assert (
        str(graph.value(publisher, rdflib.URIRef("http://xmlns.com/foaf/0.1/name"))) == "福州市大数据管理局"
    )


def test_an_empty_catalog_still_conforms(client: Client, db: None) -> None:
    conforms, report = _validate(_graph(_export(client).content.decode(), "json-ld"))
    assert conforms, report


@pytest.mark.parametrize(
    ("accept", "requested", "turtle"),
    [
        ("", "", False),
        ("*/*", "", False),
        ("text/turtle", "", True),
        ("application/ld+json, text/turtle", "", False),
        ("text/turtle;q=0.9, application/json;q=0.8", "", True),
        ("text/turtle;q=bad, application/ld+json;q=0.1", "", False),
        ("application/ld+json", "ttl", True),
        ("text/turtle", "jsonld", False),
    ],
)
def test_content_negotiation(accept: str, requested: str, turtle: bool) -> None:
    assert dcat.wants_turtle(accept, requested) is turtle


def test_turtle_escapes_strings_and_iris() -> None:
    graph = dcat.Graph()
    graph.add(dcat.IRI("http://x/a b"), "dct:title", dcat.Literal('say "hi"\\\n', language="en"))
    text = dcat.to_turtle(graph)
    parsed = rdflib.Graph().parse(data=text, format="turtle")
    assert str(next(iter(parsed.objects()))) == 'say "hi"\\\n'
    assert str(next(iter(parsed.subjects()))) == "http://x/a%20b"


def test_the_shapes_do_catch_a_broken_export(catalog: dict[str, Any], client: Client) -> None:
    """The validation is not vacuous: without titles, or with a publisher that is not an agent, it fails."""
    graph = _graph(_export(client).content.decode(), "json-ld")
    graph.remove((None, rdflib.URIRef(DCT + "title"), None))
    conforms, report = _validate(graph)
    assert not conforms
    assert "dcat-ap-SHACL.ttl#dcat:DatasetShape" in report
    assert "MinCountConstraintComponent" in report


# --- Paging (Hydra) ------------------------------------------------------------------------------------

HYDRA = "http://www.w3.org/ns/hydra/core#"


def _view(graph: Any) -> Any:
    catalog_iri = next(iter(graph.subjects(rdflib.RDF.type, rdflib.URIRef(DCAT + "Catalog"))))
    return graph.value(catalog_iri, rdflib.URIRef(HYDRA + "view"))


def _link(graph: Any, view: Any, name: str) -> str | None:
    """The Hydra Core link, checked to be the same as ckanext-dcat's older ``hydra:<name>Page``."""
    link = graph.value(view, rdflib.URIRef(HYDRA + name))
    assert link == graph.value(view, rdflib.URIRef(HYDRA + name + "Page"))
    return None if link is None else str(link)


def _identifiers(graph: Any) -> set[str]:
    return {
        str(graph.value(dataset, rdflib.URIRef(DCT + "identifier")))
        for dataset in graph.subjects(rdflib.RDF.type, rdflib.URIRef(DCAT + "Dataset"))
    }


def test_pages_follow_one_another_to_the_whole_catalog_and_each_conforms(
    catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    admin = client_for(role_users["system_admin"])
    whole = _identifiers(_graph(_export(admin).content.decode(), "json-ld"))
    assert len(whole) == len(catalog) > 2

    seen: list[str] = []
    url: str | None = "/api/v1/catalog/dcat?page_size=2&format=ttl"
    pages = 0
    while url is not None:
        response = admin.get(url.removeprefix("http://testserver"))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/turtle")
        graph = _graph(response.content.decode(), "turtle")
        conforms, report = _validate(graph)
        assert conforms, report
        view = _view(graph)
        assert (view, rdflib.RDF.type, rdflib.URIRef(HYDRA + "PartialCollectionView")) in graph
        assert int(graph.value(view, rdflib.URIRef(HYDRA + "totalItems"))) == len(whole)
        assert int(graph.value(view, rdflib.URIRef(HYDRA + "itemsPerPage"))) == 2
        page_ids = _identifiers(graph)
        assert 1 <= len(page_ids) <= 2
        seen.extend(sorted(page_ids))
        pages += 1
        assert (
            _link(graph, view, "first")
            == "http://testserver/api/v1/catalog/dcat?page=1&page_size=2&format=ttl"
        )
        assert (_link(graph, view, "previous") is None) == (pages == 1)
        url = _link(graph, view, "next")
        if url is None:
            assert _link(graph, view, "last") == str(view)
    assert pages == -(-len(whole) // 2)
    assert seen == sorted(seen)  # in code order, no overlaps
    assert set(seen) == whole
    assert len(seen) == len(whole)


def test_the_default_page_links_carry_only_the_page(catalog: dict[str, Any], client: Client) -> None:
    graph = _graph(_export(client).content.decode(), "json-ld")
    view = _view(graph)
    assert str(view) == "http://testserver/api/v1/catalog/dcat?page=1"
    assert _link(graph, view, "next") is None
    assert int(graph.value(view, rdflib.URIRef(HYDRA + "totalItems"))) == 3  # the open catalog only


def test_an_empty_catalog_has_one_empty_page(client: Client, db: None) -> None:
    graph = _graph(_export(client).content.decode(), "json-ld")
    assert int(graph.value(_view(graph), rdflib.URIRef(HYDRA + "totalItems"))) == 0
    assert client.get("/api/v1/catalog/dcat", {"page": 2}).status_code == 404


def test_a_page_past_the_last_and_bad_sizes_are_refused_clearly(
    catalog: dict[str, Any], client: Client
) -> None:
    response = client.get("/api/v1/catalog/dcat", {"page": 3, "page_size": 2})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "page_not_found"
    assert "第 3 页" in body["message_zh"]
    assert "page 3" in body["message_en"]
    for parameters in ({"page": 0}, {"page_size": 0}, {"page_size": dcat.MAX_PAGE_SIZE + 1}, {"page": "x"}):
        assert client.get("/api/v1/catalog/dcat", parameters).status_code == 422
