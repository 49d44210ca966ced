"""form_data_from_post: an HTML POST (strings) becomes typed JSON data for the schema."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from onewindow.forms.coerce import form_data_from_post

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "share": {"type": "number"},
        "agree": {"type": "boolean"},
        "level": {"enum": [1, 2, 3]},
        "flag": {"enum": [True, False, None, "x"]},
        "note": {"type": ["string", "null"]},
        "items": {"type": "array"},
    },
}


def post(**values: str) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        query[key] = value
    return query


def test_typed_values() -> None:
    data = form_data_from_post(
        SCHEMA, post(name=" 张三 ", age="30", share="0.25", agree="true", level="2", flag="false", note="n")
    )

    assert data == {
        "name": "张三",
        "age": 30,
        "share": 0.25,
        "agree": True,
        "level": 2,
        "flag": False,
        "note": "n",
    }


def test_empty_values_are_absent_and_an_unticked_checkbox_is_false() -> None:
    data = form_data_from_post(SCHEMA, post(name="", age="  ", share=""))

    assert data == {"agree": False}


def test_numbers_that_do_not_parse_stay_strings_for_validation_to_refuse() -> None:
    data = form_data_from_post(SCHEMA, post(age="thirty", share="nan", level="9"))

    assert data == {"age": "thirty", "share": "nan", "agree": False, "level": "9"}


def test_full_width_digits_and_separators() -> None:
    # typed with a Chinese input method: full-width digits, thousands separators, "3.0" as integer
    assert form_data_from_post(SCHEMA, post(age="３０", share="1,000.5"))["age"] == 30
    assert form_data_from_post(SCHEMA, post(share="1,000.5"))["share"] == 1000.5
    assert form_data_from_post(SCHEMA, post(age="3.0"))["age"] == 3
    assert form_data_from_post(SCHEMA, post(age="3.5"))["age"] == "3.5"


def test_other_keys_and_nested_properties_are_ignored() -> None:
    data = form_data_from_post(SCHEMA, post(csrfmiddlewaretoken="t", items="[1]", other="x"))

    assert data == {"agree": False}


def test_prefix() -> None:
    data = form_data_from_post(
        SCHEMA, post(**{"a-name": "李四", "name": "ignored", "a-agree": "true"}), prefix="a-"
    )

    assert data == {"name": "李四", "agree": True}


def test_round_trip_through_the_rendered_values() -> None:
    # Given data, the values the rendered form posts back give the same data
    from onewindow.forms.render import build_fields

    data = {"name": "王五", "age": 41, "share": 12.5, "agree": True, "level": 3}
    fields = build_fields(SCHEMA, data, [])
    posted = post(**{f.name: f.value for f in fields if f.widget != "checkbox"}, agree="true")

    assert form_data_from_post(SCHEMA, posted) == data


def test_valid_identifiers_are_normalised_invalid_ones_left_as_typed() -> None:
    # GB 11643-1999: the check character is written as a capital X
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "id-number"},
            "code": {"type": "string", "format": "credit-code"},
            "mobile": {"type": "string", "format": "mobile"},
            "bad": {"type": "string", "format": "id-number"},
        },
    }

    data = form_data_from_post(
        schema,
        post(id="11010519491231002x", code="91350100m000100y43", mobile="+86 138-0013-8000", bad="123x"),
    )

    assert data == {
        "id": "11010519491231002X",
        "code": "91350100M000100Y43",
        "mobile": "13800138000",
        "bad": "123x",
    }
