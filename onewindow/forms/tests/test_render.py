"""render_form / error_summary: accessible GOV.UK markup for a form schema.

Covers WCAG 2.1 SC 1.3.1 (labels bound to inputs, fieldset/legend for radio groups), SC 1.3.5 (autocomplete
tokens), SC 3.3.1/3.3.2 (errors identified in text and linked from the summary, labels and hints) and
SC 4.1.2 (aria-invalid, aria-describedby pointing at elements that exist).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import translation

from onewindow.core.errors import FieldError
from onewindow.forms.render import error_summary, render_form
from onewindow.forms.validation import validate_form

SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-order": ["name", "kind"],
    "properties": {
        "name": {
            "type": "string",
            "title": "姓名",
            "x-title-en": "Full name",
            "description": "与身份证一致",
            "x-description-en": "As on your ID card",
            "x-autocomplete": "name",
            "maxLength": 50,
        },
        "kind": {
            "type": "string",
            "title": "类型",
            "x-title-en": "Type",
            "enum": ["a", "b"],
            "x-widget": "radios",
            "x-enum-labels": {"a": {"zh": "甲类", "en": "Type A"}, "b": {"zh": "乙类", "en": "Type B"}},
        },
        "count": {"type": "integer", "title": "人数"},
        "share": {"type": "number", "title": "比例"},
        "agree": {"type": "boolean", "title": "我同意", "x-title-en": "I agree"},
        "level": {"type": "string", "title": "级别", "enum": ["x", "y"]},
        "note": {"type": "string", "title": "备注", "x-widget": "textarea"},
        "born": {"type": "string", "title": "出生日期", "format": "date"},
        "mobile": {"type": "string", "title": "手机", "format": "mobile"},
        "items": {"type": "array", "title": "明细"},
    },
    "required": ["name", "kind", "count", "agree", "level"],
}


class Document(HTMLParser):
    """The elements of a fragment: (tag, attributes) and every id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if a.get("id")]  # type: ignore[misc]

    def controls(self) -> list[dict[str, str | None]]:
        return [
            a
            for tag, a in self.elements
            if tag in ("input", "select", "textarea") and a.get("type") != "hidden"
        ]

    def by_id(self, element_id: str) -> dict[str, str | None]:
        return next(a for _, a in self.elements if a.get("id") == element_id)


def render(*args: Any, **kwargs: Any) -> Document:
    return Document(str(render_form(*args, **kwargs)))


def test_every_control_has_a_bound_label_and_unique_ids() -> None:
    document = render(SCHEMA, {}, [])

    label_targets = {a["for"] for tag, a in document.elements if tag == "label"}
    for control in document.controls():
        assert control["id"] in label_targets, control
    assert len(document.ids) == len(set(document.ids))


def test_field_ids_names_and_order() -> None:
    document = render(SCHEMA, {}, [], prefix="a-")

    names = [c["name"] for c in document.controls()]
    assert names == [
        "a-name",
        "a-kind",
        "a-kind",
        "a-count",
        "a-share",
        "a-agree",
        "a-level",
        "a-note",
        "a-born",
        "a-mobile",
    ]
    assert document.by_id("f-a-name")["name"] == "a-name"
    assert "f-a-items" not in document.ids  # nested data is not rendered


def test_required_and_optional() -> None:
    html = str(render_form(SCHEMA, {}, []))
    document = Document(html)

    assert "required" in document.by_id("f-name")
    assert "required" in document.by_id("f-count")
    assert "required" not in document.by_id("f-share")
    assert "姓名（可选）" not in html
    assert "比例 （可选）" in html
    with translation.override("en"):
        assert "share (optional)" not in str(render_form(SCHEMA, {}, []))
        assert "比例 (optional)" in str(render_form(SCHEMA, {}, []))


def test_hints_errors_and_describedby_point_at_existing_elements() -> None:
    errors = validate_form(SCHEMA, {"count": "x"})
    document = render(SCHEMA, {"count": "x"}, errors)

    for _, attributes in document.elements:
        for target in (attributes.get("aria-describedby") or "").split():
            assert target in document.ids, target
    name = document.by_id("f-name")
    assert name["aria-describedby"] == "f-name-hint f-name-error"
    assert name["aria-invalid"] == "true"
    assert document.by_id("f-count")["aria-describedby"] == "f-count-error"
    assert "aria-invalid" not in document.by_id("f-share")
    assert "“人数”应为整数。" in "".join(document.text)


def test_radios_are_a_fieldset_with_a_legend() -> None:
    html = str(render_form(SCHEMA, {"kind": "b"}, []))
    document = Document(html)

    tags = [tag for tag, _ in document.elements]
    assert "fieldset" in tags
    assert "legend" in tags
    assert "类型" in html
    assert document.by_id("f-kind")["value"] == "a"
    assert "checked" in document.by_id("f-kind-2")
    assert "checked" not in document.by_id("f-kind")


def test_numbers_dates_phones_and_autocomplete() -> None:
    document = render(SCHEMA, {"count": 3, "share": 2.0}, [])

    assert document.by_id("f-count")["inputmode"] == "numeric"
    assert document.by_id("f-count")["value"] == "3"
    assert document.by_id("f-share")["inputmode"] == "decimal"
    assert document.by_id("f-share")["value"] == "2"
    assert document.by_id("f-born")["type"] == "date"
    assert document.by_id("f-mobile")["type"] == "tel"
    assert document.by_id("f-mobile")["autocomplete"] == "tel"
    assert document.by_id("f-name")["autocomplete"] == "name"
    assert document.by_id("f-name")["maxlength"] == "50"


def test_select_checkbox_and_textarea() -> None:
    document = render(SCHEMA, {"level": "y", "agree": True, "note": "多行\n文本"}, [])

    options = [a for tag, a in document.elements if tag == "option"]
    assert [o["value"] for o in options] == ["", "x", "y"]
    assert "selected" in options[2]
    assert document.by_id("f-agree")["type"] == "checkbox"
    assert "checked" in document.by_id("f-agree")
    assert "多行\n文本" in "".join(document.text)


def test_prefilled_fields_carry_a_visible_tag() -> None:
    html = str(render_form(SCHEMA, {"name": "张三"}, [], prefilled={"name"}))
    document = Document(html)

    assert "已预填" in html
    assert "来自您已核验的身份信息" in html
    assert document.by_id("f-name")["aria-describedby"] == "f-name-hint f-name-prefilled"
    assert html.count("已预填") == 1
    with translation.override("en"):
        english = str(render_form(SCHEMA, {"name": "张三"}, [], prefilled={"name"}))
    assert "Pre-filled" in english
    assert "from your verified identity" in english


def test_readonly_fields_still_post_their_value() -> None:
    document = render(SCHEMA, {"name": "张三", "kind": "a"}, [], readonly={"name", "kind"})

    assert "readonly" in document.by_id("f-name")
    assert "disabled" in document.by_id("f-kind")
    hidden = [a for tag, a in document.elements if tag == "input" and a.get("type") == "hidden"]
    assert hidden == [{"type": "hidden", "name": "kind", "value": "a"}]


def test_english_labels_hints_and_options() -> None:
    with translation.override("en"):
        html = str(render_form(SCHEMA, {}, []))

    assert "Full name" in html
    assert "As on your ID card" in html
    assert "Type A" in html
    assert "I agree" in html
    assert "Choose" in html


def test_chinese_is_the_default() -> None:
    html = str(render_form(SCHEMA, {}, []))

    assert "姓名" in html
    assert "与身份证一致" in html
    assert "甲类" in html
    assert "请选择" in html


@pytest.mark.parametrize(
    "payload", ['<script>alert("x")</script>', '"><script>alert(1)</script>', "' onfocus='x"]
)
def test_titles_hints_options_and_values_are_escaped(payload: str) -> None:
    schema = {
        "type": "object",
        "properties": {
            "p": {"type": "string", "title": payload, "description": payload},
            "q": {"enum": [payload], "x-enum-labels": {payload: {"zh": payload}}, "x-widget": "radios"},
        },
        "required": ["p"],
    }
    errors = validate_form(schema, {"q": "no"})

    html = str(render_form(schema, {"p": payload}, errors, prefilled={"p"})) + str(error_summary(errors))

    assert "<script" not in html
    assert "' onfocus='" not in html
    assert 'onfocus="' not in html
    assert html.count("&lt;script") >= 1 or "&#x27;" in html


def test_error_summary_links_to_the_fields() -> None:
    errors = [
        FieldError("name", "required", "请填写“姓名”。", "Enter Full name."),
        FieldError("items.0.x", "type", "明细有误。", "Items are wrong."),
        FieldError("", "type", "表单有误。", "The form is wrong."),
    ]

    document = Document(str(error_summary(errors, prefix="a-")))

    alert = [a for _, a in document.elements if a.get("role") == "alert"]
    assert len(alert) == 1
    links = [a["href"] for tag, a in document.elements if tag == "a"]
    assert links == ["#f-a-name", "#f-a-items"]
    assert "请填写“姓名”。" in "".join(document.text)
    assert "表单有误。" in "".join(document.text)
    with translation.override("en"):
        assert "Enter Full name." in str(error_summary(errors))


def test_error_summary_is_empty_without_errors() -> None:
    assert str(error_summary([])) == ""


def test_template_tags() -> None:
    template = Template(
        "{% load onewindow_forms %}{% form_error_summary errors %}"
        "<form>{% render_form schema data errors prefilled %}</form>"
    )
    errors = validate_form(SCHEMA, {})

    html = template.render(
        Context({"schema": SCHEMA, "data": {"name": "张三"}, "errors": errors, "prefilled": ["name"]})
    )

    assert 'href="#f-kind"' in html
    assert 'id="f-name"' in html
    assert "已预填" in html


def test_template_tag_with_prefix_and_no_errors() -> None:
    template = Template(
        "{% load onewindow_forms %}{% render_form schema prefix='b-' %}{% form_error_summary None %}"
    )

    html = template.render(Context({"schema": SCHEMA}))

    assert 'id="f-b-name"' in html
    assert "govuk-error-summary" not in html
