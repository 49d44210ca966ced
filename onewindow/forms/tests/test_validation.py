"""validate_form: JSON Schema 2020-12 validation with the platform's asserted formats and bilingual errors.

Standards covered:
- JSON Schema 2020-12 Validation §6 (type, enum, const, bounds, lengths, pattern, required,
  additionalProperties) and §7.2.2 (format as an assertion, which an implementation may opt in to);
- GB 11643-1999 resident ID number, GB 32100-2015 unified social credit code, GB/T 2260 division codes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onewindow.core.errors import FieldError
from onewindow.forms.validation import SCHEMA_DIALECT, property_order, validate_form

SCHEMA: dict[str, Any] = {
    "$schema": SCHEMA_DIALECT,
    "type": "object",
    "x-order": ["name", "age"],
    "properties": {
        "age": {"type": "integer", "title": "年龄", "x-title-en": "Age", "minimum": 18, "maximum": 150},
        "name": {"type": "string", "title": "姓名", "x-title-en": "Name", "minLength": 2, "maxLength": 5},
        "gender": {
            "type": "string",
            "title": "性别",
            "x-title-en": "Gender",
            "enum": ["male", "female"],
            "x-enum-labels": {"male": {"zh": "男", "en": "Male"}, "female": {"zh": "女", "en": "Female"}},
        },
        "postcode": {"type": "string", "title": "邮编", "x-title-en": "Postcode", "pattern": "^[0-9]{6}$"},
        "share": {"type": "number", "title": "持股比例", "x-title-en": "Share", "exclusiveMinimum": 0},
        "notitle": {"type": "string"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def only(errors: list[FieldError]) -> FieldError:
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_data_has_no_errors() -> None:
    assert validate_form(SCHEMA, {"name": "张三", "age": 30, "gender": "male", "share": 0.5}) == []


def test_required_names_the_missing_property() -> None:
    # §6.5.3 required: one error per missing property, field = that property
    errors = validate_form(SCHEMA, {})

    assert errors == [
        FieldError("name", "required", "请填写“姓名”。", "Enter Name."),
        FieldError("age", "required", "请填写“年龄”。", "Enter Age."),
    ]


def test_errors_follow_the_display_order() -> None:
    errors = validate_form(SCHEMA, {"name": "张三", "age": 30, "notitle": 1, "gender": "x"})

    assert [error.field for error in errors] == ["gender", "notitle"]


def test_type() -> None:
    error = only(validate_form(SCHEMA, {"name": "张三", "age": "thirty"}))

    assert error == FieldError("age", "type", "“年龄”应为整数。", "Age must be a whole number.")


def test_type_without_title_uses_the_property_name() -> None:
    error = only(validate_form(SCHEMA, {"name": "张三", "age": 30, "notitle": 5}))

    assert error == FieldError("notitle", "type", "“notitle”应为文本。", "notitle must be text.")


def test_enum_lists_the_option_labels() -> None:
    error = only(validate_form(SCHEMA, {"name": "张三", "age": 30, "gender": "other"}))

    assert error == FieldError(
        "gender", "enum", "“性别”只能是以下之一：男、女。", "Gender must be one of: Male, Female."
    )


def test_const_reports_enum() -> None:
    schema = {"type": "object", "properties": {"agree": {"const": True, "title": "同意"}}}

    error = only(validate_form(schema, {"agree": False}))

    assert error == FieldError("agree", "enum", "“同意”只能是以下之一：true。", "同意 must be one of: true.")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"age": 17}, FieldError("age", "minimum", "“年龄”不能小于 18。", "Age must be 18 or more.")),
        ({"age": 151}, FieldError("age", "maximum", "“年龄”不能大于 150。", "Age must be 150 or less.")),
        (
            {"share": 0},
            FieldError("share", "exclusive_minimum", "“持股比例”必须大于 0。", "Share must be more than 0."),
        ),
        (
            {"name": "张"},
            FieldError(
                "name", "min_length", "“姓名”至少应有 2 个字符。", "Name must be 2 characters or more."
            ),
        ),
        (
            {"name": "张三李四王五"},
            FieldError("name", "max_length", "“姓名”最多 5 个字符。", "Name must be 5 characters or fewer."),
        ),
        (
            {"postcode": "35000"},
            FieldError("postcode", "pattern", "“邮编”的格式不正确。", "Postcode is not in the right format."),
        ),
    ],
)
def test_bounds_lengths_and_pattern(data: dict[str, Any], expected: FieldError) -> None:
    error = only(validate_form(SCHEMA, {"name": "张三", "age": 30} | data))

    assert error == expected


def test_exclusive_maximum() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "number", "exclusiveMaximum": 10, "title": "数"}},
    }

    error = only(validate_form(schema, {"n": 10}))

    assert (error.code, error.message_zh, error.message_en) == (
        "exclusive_maximum",
        "“数”必须小于 10。",
        "数 must be less than 10.",
    )


def test_additional_properties_are_unknown_fields() -> None:
    errors = validate_form(SCHEMA, {"name": "张三", "age": 30, "zz": 1, "aa": 2})

    assert errors == [
        FieldError("aa", "unknown_field", "“aa”不是本表单的字段。", "aa is not a field of this form."),
        FieldError("zz", "unknown_field", "“zz”不是本表单的字段。", "zz is not a field of this form."),
    ]


def test_one_error_per_field_the_most_basic_first() -> None:
    # "x" is both too short and not matching the pattern: the length is reported, once
    schema = {
        "type": "object",
        "properties": {"p": {"type": "string", "minLength": 6, "pattern": "^[0-9]+$"}},
    }

    assert [(e.field, e.code) for e in validate_form(schema, {"p": "x"})] == [("p", "min_length")]


def test_nested_paths_are_dotted() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "title": "名称", "x-title-en": "Name"}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            },
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string", "minLength": 2, "title": "城市"}},
            },
        },
    }

    errors = validate_form(schema, {"items": [{"name": 1}, {"x": 1}], "address": {"city": "福"}})

    assert [(e.field, e.code) for e in errors] == [
        ("items.0.name", "type"),
        ("items.1.name", "required"),
        ("items.1.x", "unknown_field"),
        ("address.city", "min_length"),
    ]
    assert errors[1].message_en == "Enter Name."


def test_data_that_is_not_an_object() -> None:
    error = only(validate_form(SCHEMA, ["not", "an", "object"]))

    assert (error.field, error.code) == ("", "type")
    assert error.message_zh
    assert error.message_en


def test_property_order_puts_x_order_first() -> None:
    assert property_order(SCHEMA) == ["name", "age", "gender", "postcode", "share", "notitle"]


# --- formats ------------------------------------------------------------------------------------------------

FORMATS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id_number": {
            "type": "string",
            "format": "id-number",
            "title": "身份证号码",
            "x-title-en": "ID number",
        },
        "credit_code": {
            "type": "string",
            "format": "credit-code",
            "title": "统一社会信用代码",
            "x-title-en": "Credit code",
        },
        "mobile": {"type": "string", "format": "mobile", "title": "手机号码", "x-title-en": "Mobile"},
        "division": {
            "type": "string",
            "format": "division-code",
            "title": "行政区划",
            "x-title-en": "Division",
        },
        "date": {"type": "string", "format": "date", "title": "日期", "x-title-en": "Date"},
        "email": {"type": "string", "format": "email", "title": "邮箱", "x-title-en": "Email"},
        "unchecked": {"type": "string", "format": "uri"},
    },
}


@pytest.mark.django_db
def test_valid_platform_formats() -> None:
    # DOMAIN.md §8 examples: GB 11643-1999 and GB 32100-2015; 350102 鼓楼区 (GB/T 2260) is loaded
    data = {
        "id_number": "11010519491231002X",
        "credit_code": "91350100M000100Y43",
        "mobile": "13800138000",
        "division": "350102",
        "date": "2026-02-28",
        "email": "name@example.com",
        "unchecked": "not a uri, only annotated",
    }

    assert validate_form(FORMATS, data) == []


def test_id_number_check_digit() -> None:
    # GB 11643-1999: the check character of 11010519491231002 is X
    error = only(validate_form(FORMATS, {"id_number": "110105194912310021"}))

    assert error == FieldError(
        "id_number",
        "format_id_number",
        "“身份证号码”：校验码应为 X，实际为 1。",
        "ID number: The check character should be X, not 1.",
    )


def test_credit_code_check_character() -> None:
    # GB 32100-2015: the 18th character of 91350100M000100Y4… is 3
    error = only(validate_form(FORMATS, {"credit_code": "91350100M000100Y44"}))

    assert error == FieldError(
        "credit_code",
        "format_credit_code",
        "“统一社会信用代码”：校验码应为 3，实际为 4。",
        "Credit code: The check character should be 3, not 4.",
    )


def test_mobile_prefix() -> None:
    error = only(validate_form(FORMATS, {"mobile": "12345678901"}))

    assert (error.code, error.message_zh, error.message_en) == (
        "format_mobile",
        "“手机号码”：号段 123 不是已分配的手机号段。",
        "Mobile: 123 is not an allocated mobile number prefix.",
    )


@pytest.mark.django_db
def test_unknown_division_code() -> None:
    error = only(validate_form(FORMATS, {"division": "999999"}))

    assert (error.field, error.code) == ("division", "format_division_code")
    assert error.message_zh == "“行政区划”：999999 不是已知的行政区划代码（GB/T 2260）。"
    assert error.message_en == "Division: 999999 is not a known administrative division code (GB/T 2260)."


@pytest.mark.django_db
def test_division_code_must_be_registered_on_the_platform() -> None:
    # 350102001 is well-formed (a township of 鼓楼区) but no such Division row exists
    from onewindow.organisations.models import Division

    assert not Division.objects.filter(code="350102001001").exists()

    error = only(validate_form(FORMATS, {"division": "350102001001"}))

    assert error == FieldError(
        "division",
        "format_division_code",
        "“行政区划”：350102001001 不是本平台已登记的行政区划。",
        "Division: 350102001001 is not an administrative division registered on this platform.",
    )


@pytest.mark.parametrize("value", ["2026-02-30", "2026/02/01", "20260201", "2026-2-1"])
def test_invalid_dates(value: str) -> None:
    error = only(validate_form(FORMATS, {"date": value}))

    assert error == FieldError(
        "date",
        "format_date",
        "“日期”：应为有效日期，格式为 年-月-日，例如 2026-01-31。",
        "Date: must be a real date written year-month-day, for example 2026-01-31.",
    )


@pytest.mark.parametrize("value", ["name@", "no-at-sign", "a@b@c.cn"])
def test_invalid_email(value: str) -> None:
    error = only(validate_form(FORMATS, {"email": value}))

    assert (error.code, error.message_en) == (
        "format_email",
        "Email: must be an email address, for example name@example.com.",
    )


def test_format_on_a_non_string_reports_only_the_type() -> None:
    schema = {"type": "object", "properties": {"m": {"type": "string", "format": "mobile"}}}

    assert [(e.field, e.code) for e in validate_form(schema, {"m": 13800138000})] == [("m", "type")]


# --- property: never raises, always bilingual ---------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
field_names = st.sampled_from([*SCHEMA["properties"], *FORMATS["properties"], "extra", ""])


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(field_names, json_values, max_size=8), use_formats=st.booleans())
def test_random_data_never_raises_and_messages_are_bilingual(data: dict[str, Any], use_formats: bool) -> None:
    schema = FORMATS | {"additionalProperties": False} if use_formats else SCHEMA

    errors = validate_form(schema, data)

    assert len({error.field for error in errors}) == len(errors)
    for error in errors:
        assert error.code
        assert error.message_zh.strip()
        assert error.message_en.strip()
