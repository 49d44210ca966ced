"""Valid registry CSV rows, generated deterministically and lazily, for tests, demos and benchmarks.

``person_rows(count, seed=..., start=...)`` yields rows in the column order of ``registry import persons``
(``importing.PERSON_COLUMNS``), ``entity_rows`` those of ``registry import entities``. Both are generators
(memory flat however many rows) and pure functions of ``(seed, index)``: the rows of ``start=0, count=10``
and of ``start=10, count=10`` are the first and second halves of ``start=0, count=20``. No two rows share
an ID number, a household number, a credit code or a name, within a seed and across seeds (seeds 0–77,
indexes below 2^30, enough for the 10-million-row benchmark), so files of different seeds import side by
side.

ID numbers are valid (GB 11643-1999: address code, birth date, sequence, check character), spread over the
county-level divisions of GB/T 2260 that the divisions data migration loads; birth dates are those of the
ID numbers and the gender is the one its 17th digit encodes. Persons come in households of one to five
(head, spouse, children, a parent) sharing a household number, division and address.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from operator import mul
from pathlib import Path

from onewindow.core.validators import (
    ID_NUMBER_CHECK_CHARACTERS,
    ID_NUMBER_WEIGHTS,
    compute_credit_code_check,
    compute_organisation_code_check,
    known_divisions,
)

PERSON_HEADER = (
    "id_number",
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "division_code",
    "address",
    "household_no",
    "relation_to_head",
)
ENTITY_HEADER = (
    "credit_code",
    "name",
    "type",
    "legal_rep_id_number",
    "registered_capital",
    "division_code",
    "address",
    "business_scope",
    "established_on",
)

_FIRST_BIRTH = dt.date(1940, 1, 1)
_LAST_BIRTH = dt.date(2020, 12, 31)
_DAYS = (_LAST_BIRTH - _FIRST_BIRTH).days + 1
_SEQUENCES = 1000  # the three sequence digits of an ID number

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
    "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
    "闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文斌宇浩鹏飞玉兰海燕"
    "红梅志强晓东俊杰欣怡子涵雨桐思远佳琪梓萱一鸣春生秋菊冬梅嘉怡博文"
)
_STREETS = ("东街", "西路", "南大街", "北环路", "中山路", "人民路", "解放路", "建设路", "和平街", "新华路")
_RELATIONS = ("head", "spouse", "child", "child", "parent")
# Ethnicity: mostly 汉族 (01), the others by GB/T 3304 code.
_ETHNICITIES = tuple(f"{code:02d}" for code in range(2, 57))
_HOUSEHOLD_SIZES = (1, 2, 3, 3, 4, 4, 5)

_ENTITY_WORDS = (
    *("华信", "瑞丰", "恒达", "宏远", "金桥", "天成", "鑫源", "博雅"),
    *("嘉禾", "海纳", "云帆", "启明", "远航", "新元", "中和", "福瑞"),
)
_ENTITY_KINDS = (
    ("科技有限公司", "llc"),
    ("贸易有限公司", "llc"),
    ("股份有限公司", "joint_stock"),
    ("有限合伙企业", "partnership"),
    ("个人独资企业", "sole"),
)
# Text that NFKC (applied to every imported text, as at the front desk) leaves as it is.
_SCOPES = ("软件开发、信息技术咨询服务", "日用百货销售、货物进出口", "技术服务、技术开发、技术咨询")


@functools.cache
def county_codes() -> tuple[str, ...]:
    """The county-level GB/T 2260 codes the divisions data migration loads, in code order."""
    return tuple(sorted(code for code, division in known_divisions().items() if division.level == "county"))


# Seeds take disjoint slices of the index space: seeds 0-77 never share an ID number for indexes below 2^30.
_SEED_STRIDE = 1 << 30


@functools.cache
def _permutation() -> tuple[int, int]:
    """``(multiplier, modulus)`` of the bijection ``n -> a * n mod M`` over the ID number space: a multiplier
    coprime to its size spreads consecutive indexes over divisions, dates and sequences, never repeating."""
    modulus = len(county_codes()) * _DAYS * _SEQUENCES
    multiplier = 2_654_435_761  # near the golden-ratio multiplier
    while math.gcd(multiplier, modulus) != 1:
        multiplier += 2
    return multiplier, modulus


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(map(mul, map(int, digits), weights))


@functools.cache
def _id_parts() -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Texts and weighted digit sums (GB 11643-1999) of every division, birth date and sequence, so an ID
    number costs three lookups and one addition."""
    counties = county_codes()
    days = tuple(f"{_FIRST_BIRTH + dt.timedelta(days=day):%Y%m%d}" for day in range(_DAYS))
    return (
        counties,
        tuple(_weighted(code, ID_NUMBER_WEIGHTS[:6]) for code in counties),
        days,
        tuple(_weighted(text, ID_NUMBER_WEIGHTS[6:14]) for text in days),
        tuple(_weighted(f"{sequence:03d}", ID_NUMBER_WEIGHTS[14:]) for sequence in range(_SEQUENCES)),
    )


def id_number_for(index: int, *, seed: int = 0) -> str:
    """The ID number of person ``index`` of ``seed``: unique for every (seed, index) with seed < 78 and
    index < 2^30."""
    multiplier, modulus = _permutation()
    counties, county_sums, days, day_sums, sequence_sums = _id_parts()
    point, sequence = divmod(multiplier * (seed * _SEED_STRIDE + index) % modulus, _SEQUENCES)
    division, day = divmod(point, _DAYS)
    check = ID_NUMBER_CHECK_CHARACTERS[(county_sums[division] + day_sums[day] + sequence_sums[sequence]) % 11]
    return f"{counties[division]}{days[day]}{sequence:03d}{check}"


def _household_start(index: int, seed: int) -> tuple[int, int]:
    """The first index and the size of the household person ``index`` belongs to.

    Households are laid out in blocks of 24 persons (the sizes of ``_HOUSEHOLD_SIZES`` rotated by the
    block), so any index finds its household without generating the ones before it.
    """
    block, offset = divmod(index, 24)
    sizes = _block_sizes((block + seed) % len(_HOUSEHOLD_SIZES))
    first = block * 24
    for size in sizes:
        if offset < size:
            return first, size
        offset -= size
        first += size
    raise AssertionError  # pragma: no cover - the sizes of a block add up to 24


@functools.cache
def _block_sizes(rotation: int) -> tuple[int, ...]:
    sizes = _HOUSEHOLD_SIZES[rotation:] + _HOUSEHOLD_SIZES[:rotation]  # 22 persons
    return (*sizes, 2)


def person_row(index: int, *, seed: int = 0) -> tuple[str, ...]:
    """Person ``index`` of ``seed`` as a CSV row (``PERSON_HEADER`` order)."""
    id_number = id_number_for(index, seed=seed)
    head, _size = _household_start(index, seed)
    position = index - head
    counties = county_codes()
    mix = (head * 2_246_822_519 + seed * 3_266_489_917) & 0xFFFFFFFF
    division = counties[mix % len(counties)]
    # Head and children share a surname; a spouse or parent has their own.
    surname = _SURNAMES[mix % len(_SURNAMES)] if position in (0, 2, 3) else _SURNAMES[(index * 31) % 100]
    given = _GIVEN[(index * 7 + seed) % len(_GIVEN)] + (
        _GIVEN[(index * 13) % len(_GIVEN)] if index % 3 else ""
    )
    street = _STREETS[(mix >> 8) % len(_STREETS)]
    ethnicity = "01" if index % 10 else _ETHNICITIES[(index // 10) % len(_ETHNICITIES)]
    return (
        id_number,
        surname + given,
        "1" if int(id_number[16]) % 2 else "2",
        ethnicity,
        f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        division,
        f"{street}{(mix >> 12) % 999 + 1}号",
        f"{division}{seed % 100:02d}{head:08d}",
        _RELATIONS[min(position, len(_RELATIONS) - 1)],
    )


def person_rows(count: int, *, seed: int = 0, start: int = 0) -> Iterator[tuple[str, ...]]:
    """Persons ``start`` to ``start + count - 1`` of ``seed``, lazily (see the module docstring)."""
    for index in range(start, start + count):
        yield person_row(index, seed=seed)


def credit_code_for(index: int, *, seed: int = 0) -> str:
    """A valid unified social credit code (GB 32100-2015, registered by market regulation: 9, enterprise: 1)
    for entity ``index`` of ``seed``."""
    counties = county_codes()
    division = counties[(index * 40_503 + seed) % len(counties)]
    base = (
        f"{(index * 7_777_777) % 100_000_000:08d}"  # a bijection of the index; the division differs by seed
    )
    organisation = base + compute_organisation_code_check(base)
    first_seventeen = f"91{division}{organisation}"
    return first_seventeen + compute_credit_code_check(first_seventeen)


def entity_row(index: int, *, seed: int = 0, legal_rep_id_number: str | None = None) -> tuple[str, ...]:
    """Entity ``index`` of ``seed`` as a CSV row (``ENTITY_HEADER`` order); the representative is person
    ``index`` of ``seed`` (``person_row``) unless ``legal_rep_id_number`` is given ("" for none)."""
    code = credit_code_for(index, seed=seed)
    suffix, kind = _ENTITY_KINDS[index % len(_ENTITY_KINDS)]
    word = _ENTITY_WORDS[(index + seed) % len(_ENTITY_WORDS)]
    established = _FIRST_BIRTH + dt.timedelta(days=20_000 + (index * 97) % 10_000)
    representative = id_number_for(index, seed=seed) if legal_rep_id_number is None else legal_rep_id_number
    return (
        code,
        f"{word}{seed}-{index}{suffix}",
        kind,
        representative,
        f"{(index % 5000 + 1) * 10}",
        code[2:8],
        f"{_STREETS[index % len(_STREETS)]}{index % 999 + 1}号",
        _SCOPES[index % len(_SCOPES)],
        established.isoformat(),
    )


def entity_rows(count: int, *, seed: int = 0, start: int = 0) -> Iterator[tuple[str, ...]]:
    """Entities ``start`` to ``start + count - 1`` of ``seed``, lazily."""
    for index in range(start, start + count):
        yield entity_row(index, seed=seed)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write ``header`` and ``rows`` as UTF-8 CSV (``\\n`` line ends) to ``path``; returns the row count."""
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


def write_persons_csv(path: Path, count: int, *, seed: int = 0, start: int = 0) -> int:
    """``count`` valid persons in ``path`` with the header row; returns ``count``."""
    return write_csv(path, PERSON_HEADER, person_rows(count, seed=seed, start=start))


def write_entities_csv(path: Path, count: int, *, seed: int = 0, start: int = 0) -> int:
    """``count`` valid entities in ``path`` with the header row; returns ``count``."""
    return write_csv(path, ENTITY_HEADER, entity_rows(count, seed=seed, start=start))
