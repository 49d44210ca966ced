"""Search (jieba-segmented full text), the public selectors and the demo catalog (issue #3 §7, §9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from onewindow.services import selectors
from onewindow.services.demo import BUNDLES, ITEMS, demo_services_load
from onewindow.services.models import BusinessLine, LifeEvent, Service, ServiceVersion, VersionStatus
from onewindow.services.search import document_tokens, query_tokens

pytestmark = pytest.mark.django_db


def _codes(**filters: Any) -> list[str]:
    return [service.code for service in selectors.published_services(**filters)]


def test_tokens_are_jieba_words_lower_cased() -> None:
    assert query_tokens("怎么开办企业") == ["开办", "企业"]
    assert {"城乡", "居民", "城乡居民"} <= set(document_tokens("城乡居民医保"))
    assert query_tokens("QYKB") == ["qykb"]


def test_searching_kaiban_finds_open_a_company(demo_catalog: Any) -> None:
    assert _codes(query="开办")[0] == "QYKB"


def test_searching_chusheng_finds_birth_of_a_child(demo_catalog: Any) -> None:
    found = _codes(query="出生")
    assert "XSECS" in found
    assert {"HEALTH-CSYXZM", "PSB-CSDJ"} <= set(found)


def test_search_by_code_legal_basis_and_department(demo_catalog: Any) -> None:
    assert _codes(query="qykb") == ["QYKB"]
    assert "QI-TZSB" in _codes(query="特种设备安全法")
    assert "PSB-YZKZ" in _codes(query="公安局")


def test_no_match_and_empty_query(demo_catalog: Any) -> None:
    assert _codes(query="火星移民") == []
    assert _codes(query="   ") == _codes() == sorted(service.code for service in (*ITEMS, *BUNDLES))


def test_filters_by_audience_department_and_life_event(demo_catalog: Any) -> None:
    enterprise = _codes(audience="enterprise")
    assert "QYKB" in enterprise
    assert "XSECS" not in enterprise
    resident = _codes(audience="resident")
    assert "QYKB" in resident
    assert "XSECS" in resident
    assert "QI-TZSB" not in resident
    assert _codes(department_code="AMR") == ["AMR-GSSL", "QYKB"]
    assert _codes(life_event="BIRTH") == ["HEALTH-CSYXZM", "HRSS-JMYB", "PSB-CSDJ", "TAX-ZXFJKC", "XSECS"]
    assert _codes(query="出生", department_code="PSB") == ["PSB-CSDJ"]


def test_list_takes_two_queries_whatever_the_size(
    demo_catalog: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        assert len(selectors.published_services(query="登记")) > 3


def test_published_service_and_departments(demo_catalog: Any) -> None:
    _service, version = selectors.published_service("XSECS")
    assert selectors.version_department_codes(version) == ["HEALTH", "PSB", "HRSS"]
    qykb = selectors.published_service("QYKB")[1]
    assert selectors.version_department_codes(qykb) == ["AMR", "PSB", "TAX", "HRSS"]
    item = selectors.published_service("QI-TZSB")[1]
    assert selectors.version_department_codes(item) == ["QI"]
    with pytest.raises(Http404):
        selectors.published_service("NOPE")


def test_demo_catalog_has_twelve_items_and_two_bundles(demo_catalog: Any) -> None:
    services = Service.objects.filter(current_version__status=VersionStatus.PUBLISHED)
    assert services.filter(kind="item").count() >= 12
    assert sorted(services.filter(kind="bundle").values_list("code", flat=True)) == ["QYKB", "XSECS"]
    assert set(services.values_list("department__code", flat=True)) == {
        "PSB",
        "AMR",
        "QI",
        "TAX",
        "HRSS",
        "HEALTH",
        "CIVIL",
    }
    for service in services.filter(kind="item"):
        assert service.current_version.process_key == service.code  # type: ignore[union-attr]
    assert LifeEvent.objects.filter(code="OPEN-BUSINESS").exists()
    assert BusinessLine.objects.count() >= 10


def test_qykb_form_has_exactly_the_required_fields(demo_catalog: Any) -> None:
    version = selectors.published_service("QYKB")[1]
    schema = version.form_schema
    assert schema["required"] == [
        "company_name",
        "company_type",
        "registered_capital",
        "division_code",
        "address",
        "business_scope",
        "legal_rep_name",
        "legal_rep_id_number",
        "legal_rep_mobile",
        "employees",
    ]
    assert set(schema["properties"]) == {*schema["required"], "need_invoice"}
    properties = schema["properties"]
    assert properties["company_type"]["enum"] == ["llc", "sole", "partnership"]
    assert properties["registered_capital"]["exclusiveMinimum"] == 0
    assert properties["employees"] == {**properties["employees"], "type": "integer", "minimum": 0}
    assert properties["legal_rep_id_number"]["format"] == "id-number"
    assert properties["legal_rep_id_number"]["x-prefill"] == "person.id_number"
    assert properties["legal_rep_name"]["x-prefill"] == "person.name"
    assert properties["legal_rep_mobile"]["x-prefill"] == "applicant.mobile"
    assert properties["need_invoice"]["type"] == "boolean"
    assert all("x-title-en" in definition for definition in properties.values())
    assert (version.promised_days, version.auto_accept, version.case_type) == (3, True, "2")
    assert version.audience == ["enterprise", "resident"]


def test_demo_load_is_idempotent(demo_catalog: Any) -> None:
    counts = (Service.objects.count(), ServiceVersion.objects.count(), LifeEvent.objects.count())
    assert demo_services_load(acting_user=None) == 0
    assert (Service.objects.count(), ServiceVersion.objects.count(), LifeEvent.objects.count()) == counts


def test_demo_load_publishes_a_new_version_when_the_data_changed(demo_catalog: Any) -> None:
    # An edit by hand (as if the data had changed) is put right by a new version; the old one is kept.
    version = selectors.published_service("HRSS-JMYB")[1]
    ServiceVersion.objects.filter(pk=version.pk).update(promised_days=9)
    assert demo_services_load(acting_user=None) >= 1
    _service, current = selectors.published_service("HRSS-JMYB")
    assert (current.number, current.promised_days) == (2, 3)
    # XSECS uses HRSS-JMYB, so it moved to a version that combines the new one.
    xsecs = selectors.published_service("XSECS")[1]
    assert current in selectors.version_components(xsecs)
    assert demo_services_load(acting_user=None) == 0
