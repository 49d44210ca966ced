"""Row checks of the bulk import (``importing``): one CSV row in, a row ready to write or its rejects out.

These run in the import's worker processes, so they touch no database: the divisions table comes in with
:class:`Checks`. Each check is the one the front-desk action applies to the same field (``actions`` for
persons, ``entities`` for legal entities), with the same limits and, where the platform's validators say
what is wrong (ID numbers, credit codes, division codes), their exact codes and messages.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import mul
from typing import Any, BinaryIO, Final, NamedTuple

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from onewindow.core.validators import (
    EARLIEST_BIRTH_DATE,
    GROUPING_DIVISION_CODES,
    HISTORICAL_DIVISION_CODES,
    ID_NUMBER_CHECK_CHARACTERS,
    ID_NUMBER_WEIGHTS,
    Gender,
    InvalidIdentifier,
    known_divisions,
    mask_id_number,
    validate_credit_code,
    validate_division_code,
    validate_id_number,
)
from onewindow.registry.actions import ADDRESS_MAX_LENGTH, HOUSEHOLD_NO_MAX_LENGTH, NAME_MAX_LENGTH
from onewindow.registry.entities import CAPITAL_MAX, CAPITAL_QUANTUM, ENTITY_NAME_MAX_LENGTH, SCOPE_MAX_LENGTH
from onewindow.registry.ethnicity import is_ethnicity_code
from onewindow.registry.models import ImportKind, PersonStatus, Relation
from onewindow.registry.models_entities import EntityType
from onewindow.registry.protection import NONCE_BYTES, TOKEN_VERSION, blind_index, current_key_id

PERSON_COLUMNS: Final = (
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
ENTITY_COLUMNS: Final = (
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
# GB/T 2261.1-2003 性别代码: 1 male, 2 female; the platform's own words are accepted too.
GENDER_CODES: Final = {"1": Gender.MALE.value, "2": Gender.FEMALE.value, "male": "male", "female": "female"}


def _gbt4761_relations() -> dict[str, str]:
    """GB/T 4761-2008 家庭关系代码 → ``Relation``, by the code's main group (its first digit): 01 本人 and
    02 户主 are the head; 10–12 spouse; 20–39 sons and daughters are children, except 28 女婿 and 38 儿媳
    (children-in-law); 4x grandchildren; 5x parents; 6x grandparents; 7x brothers and sisters; 80–97 other
    relatives; 99 not related."""
    groups = {
        "2": Relation.CHILD,
        "3": Relation.CHILD,
        "4": Relation.GRANDCHILD,
        "5": Relation.PARENT,
        "6": Relation.GRANDPARENT,
        "7": Relation.SIBLING,
        "8": Relation.OTHER_RELATIVE,
        "9": Relation.OTHER_RELATIVE,
    }
    mapping = {code: str(groups[code[0]].value) for code in (f"{number}" for number in range(20, 98))}
    mapping.update({"01": Relation.HEAD, "02": Relation.HEAD, "10": Relation.SPOUSE, "11": Relation.SPOUSE})
    mapping.update({"12": Relation.SPOUSE, "28": Relation.CHILD_IN_LAW, "38": Relation.CHILD_IN_LAW})
    mapping["99"] = Relation.NON_RELATIVE
    return {code: str(value) for code, value in mapping.items()}


# Relation to the head: the platform's words (head, spouse, …) or a GB/T 4761 code.
RELATION_CODES: Final = {**{value: value for value in Relation.values}, **_gbt4761_relations()}

# Reject codes of the import itself → (Chinese, English) reasons; str.format fields filled per row. Codes
# from the platform's validators (id_number_*, credit_code_*, division_code_*) bring their own reasons.
REJECT_REASONS: Final[dict[str, tuple[str, str]]] = {
    "csv_invalid": ("CSV 格式错误：{error}。", "The CSV syntax is not valid: {error}."),
    "encoding_invalid": ("该行不是有效的 UTF-8 文本。", "The line is not valid UTF-8 text."),
    "column_count": (
        "该行有 {found} 列，应为 {expected} 列。",
        "The row has {found} columns; {expected} are expected.",
    ),
    "name_required": ("请填写名称或姓名。", "Enter the name."),
    "too_long": ("不能超过 {limit} 个字符。", "At most {limit} characters."),
    "gender_unknown": (
        "“{value}”不是性别代码（1 男，2 女）。",
        "'{value}' is not a gender code (1 male, 2 female).",
    ),
    "gender_mismatch": (
        "性别与身份证号码第 17 位不一致。",
        "The gender differs from the one the ID number encodes (17th digit).",
    ),
    "ethnicity_unknown": (
        "“{value}”不是 GB/T 3304 民族代码（01–56、97、98）。",
        "'{value}' is not a GB/T 3304 ethnic group code (01–56, 97, 98).",
    ),
    "date_invalid": (
        "“{value}”不是 YYYY-MM-DD 格式的有效日期。",
        "'{value}' is not a valid date in the form YYYY-MM-DD.",
    ),
    "birth_date_mismatch": (
        "出生日期与身份证号码中的 {expected} 不一致。",
        "The birth date differs from the one in the ID number ({expected}).",
    ),
    "date_in_future": ("日期不能晚于今天。", "The date cannot be in the future."),
    "division_not_found": ("行政区划 {value} 不存在。", "Division {value} does not exist."),
    "household_no_invalid": (
        f"户号应为 1–{HOUSEHOLD_NO_MAX_LENGTH} 位数字或字母。",
        f"A household number has 1–{HOUSEHOLD_NO_MAX_LENGTH} digits or letters.",
    ),
    "relation_unknown": (
        "“{value}”不是有效的与户主关系（名称或 GB/T 4761 代码）。",
        "'{value}' is not a valid relation to the head of household (a name or a GB/T 4761 code).",
    ),
    "address_required": (
        "户 {household} 是新户，须填写住址。",
        "Household {household} is new: it needs an address.",
    ),
    "household_division_mismatch": (
        "户 {household} 登记在另一个行政区划，不在 {value}。",
        "Household {household} is registered in another division, not {value}.",
    ),
    "household_has_head": ("户 {household} 已有户主。", "Household {household} already has a head."),
    "duplicate_in_file": ("与本文件第 {first} 行重复。", "Duplicates line {first} of this file."),
    "duplicate_in_database": (
        "登记中已有使用该{subject_zh}的在册记录。",
        "The register already holds an active record with this {subject_en}.",
    ),
    "name_duplicate_in_file": (
        "名称与本文件第 {first} 行相同；存续的市场主体名称不能重复。",
        "The name is the one of line {first} of this file; names are unique among active entities.",
    ),
    "name_taken": (
        "已有存续的市场主体使用该名称，名称不能重复。",
        "An active entity already has this name; names are unique among active entities.",
    ),
    "entity_type_unknown": ("“{value}”不是有效的市场主体类型。", "'{value}' is not a valid entity type."),
    "capital_invalid": (
        "注册资本应为大于 0 的金额（万元）。",
        "The registered capital is an amount above 0 (in 10,000 yuan).",
    ),
}


class Reject(NamedTuple):
    """One problem with one row: physical line (header = 1), column ("" = the whole row), the value as far
    as the rejects file may repeat it (see :func:`shown`), code and reasons."""

    line: int
    column: str
    value: str
    code: str
    reason_zh: str
    reason_en: str


_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def shown(column: str, value: str) -> str:
    """The value as the rejects file may repeat it: ID numbers masked (first 6, last 4), names, addresses
    and business scopes left out (the line number finds them), the rest cut at 60 characters and defused
    for spreadsheets (a leading =, +, -, @ gets a ')."""
    if column in {"id_number", "legal_rep_id_number"}:
        value = mask_id_number(text(value))
    elif column in {"name", "address", "business_scope"}:
        return ""
    value = value[:60]
    return "'" + value if value.startswith(_SPREADSHEET_FORMULA) else value


def reject(line: int, column: str, value: str, code: str, **details: object) -> Reject:
    """A reject with the reasons of ``REJECT_REASONS[code]`` (``value`` is available to them as is)."""
    zh, en = REJECT_REASONS[code]
    return Reject(
        line,
        column,
        shown(column, value),
        code,
        zh.format(value=value, **details),
        en.format(value=value, **details),
    )


def reject_invalid(line: int, column: str, value: str, error: InvalidIdentifier) -> Reject:
    """A reject with the platform validator's own code and reasons."""
    return Reject(line, column, shown(column, value), str(error.code), error.message_zh, error.message_en)


def text(value: str) -> str:
    """NFKC (full-width digits and letters typed with a Chinese input method become ASCII), stripped."""
    return value.strip() if value.isascii() else unicodedata.normalize("NFKC", value).strip()


def strict_date(value: str) -> dt.date | None:
    """A YYYY-MM-DD date (``date.fromisoformat`` alone would also take 20200314 and other ISO forms)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# --- Protection, fast and format-compatible -------------------------------------------------------------


class Sealer:
    """``protection.encrypt`` and ``protection.blind_index(kind="id_number")`` for many values: the same
    token format and index (the tests compare them), without looking the keys up for every value."""

    def __init__(self) -> None:
        self.key_id = current_key_id()  # also refuses the development keys in production
        self.prefix = f"{TOKEN_VERSION}.{self.key_id}."
        self.associated = self.key_id.encode()
        self.cipher = AESGCM(settings.REGISTRY_KEYS[self.key_id])
        blind_index("0", kind="id_number")  # checks the index key once
        self.mac = hmac.HMAC(settings.REGISTRY_INDEX_KEY, hashes.SM3())
        self.nonces = b""
        self.position = 0

    def _nonce(self) -> bytes:
        if self.position >= len(self.nonces):
            self.nonces = os.urandom(NONCE_BYTES * 4096)  # random 96-bit nonces, as encrypt() draws them
            self.position = 0
        nonce = self.nonces[self.position : self.position + NONCE_BYTES]
        self.position += NONCE_BYTES
        return nonce

    def encrypt(self, plaintext: str) -> str:
        nonce = self._nonce()
        sealed = self.cipher.encrypt(nonce, plaintext.encode(), self.associated)
        return self.prefix + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def id_number_index(self, normalised: str) -> str:
        mac = self.mac.copy()
        mac.update(b"id_number:" + normalised.encode())
        return mac.finalize().hex()


# --- What the checks share ------------------------------------------------------------------------------


@dataclass
class Checks:
    """What the row checks need, set up once per import and inherited by the forked workers."""

    kind: str
    job_id: int
    today: dt.date
    division_ids: dict[str, int]
    sealer: Sealer = field(default_factory=Sealer)
    # GB 11643-1999 address codes: current divisions, grouping codes and abolished ones.
    id_divisions: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {*known_divisions(), *GROUPING_DIVISION_CODES, *HISTORICAL_DIVISION_CODES}
        )
    )


_WORKER_CHECKS: Checks | None = None


def worker_init(checks: Checks) -> None:
    """Pool initializer: the import's checks, for :func:`check_records` in this worker."""
    global _WORKER_CHECKS
    _WORKER_CHECKS = checks
    checks.sealer.nonces = b""  # never reuse random nonces drawn by the parent before the fork


def _division(line: int, raw: str, checks: Checks, rejects: list[Reject]) -> tuple[str, int]:
    """The division's code and id; ("", 0) with a reject for an invalid code or one not in the table."""
    value = text(raw)
    division_id = checks.division_ids.get(value)
    if division_id is not None:
        return value, division_id
    try:
        code = validate_division_code(value)
    except InvalidIdentifier as error:
        rejects.append(reject_invalid(line, "division_code", value, error))
        return "", 0
    division_id = checks.division_ids.get(code)
    if division_id is None:
        rejects.append(reject(line, "division_code", code, "division_not_found"))
        return "", 0
    return code, division_id


def _id_number(line: int, column: str, value: str, checks: Checks, rejects: list[Reject]) -> str:
    """The normalised ID number, or "" with a reject saying exactly what is wrong (GB 11643-1999).

    A fast path accepts a well-formed number; whatever it does not accept goes to the platform's own
    validator, which accepts it after all or says why not.
    """
    if len(value) == 18 and value.isascii() and value[:17].isdigit() and value[17] in "0123456789Xx":
        code = value.upper()
        if code[:6] in checks.id_divisions:
            try:
                birth: dt.date | None = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
            except ValueError:
                birth = None
            if (
                birth is not None
                and EARLIEST_BIRTH_DATE <= birth <= checks.today
                and ID_NUMBER_CHECK_CHARACTERS[sum(map(mul, map(int, code[:17]), ID_NUMBER_WEIGHTS)) % 11]
                == code[17]
            ):
                return code
    try:
        return validate_id_number(value, today=checks.today)
    except InvalidIdentifier as error:
        rejects.append(reject_invalid(line, column, value, error))
        return ""


def _length(line: int, column: str, value: str, limit: int, rejects: list[Reject]) -> None:
    if len(value) > limit:
        rejects.append(reject(line, column, value, "too_long", limit=limit))


def version_reason(job_id: int, line: int) -> str:
    """The reason of an imported record's version 1: the job and line it came from."""
    return f"批量导入 #{job_id} 第 {line} 行 / bulk import #{job_id}, line {line}"


_REASON = re.compile(r"^批量导入 #(\d+) 第 (\d+) 行")


def reason_line(reason: str, job_id: int) -> int | None:
    """The line of job ``job_id`` that wrote a record, from its version 1 reason; None if another source."""
    match = _REASON.match(reason)
    if match is None or int(match.group(1)) != job_id:
        return None
    return int(match.group(2))


# --- Persons --------------------------------------------------------------------------------------------


class PersonRow(NamedTuple):
    line: int
    id_number: str
    id_index: str
    name: str
    gender: str
    ethnicity: str
    birth_date: str
    division_code: str
    division_id: int
    address: str
    household_no: str
    relation: str
    id_token: str
    name_token: str
    snapshot_token: str  # made with this row's address; made again if its household's differs


def person_snapshot(row: PersonRow, address: str) -> str:
    """The version 1 snapshot: the dictionary ``actions._snapshot`` makes of a new record."""
    return json.dumps(
        {
            "id_number": row.id_number,
            "name": row.name,
            "former_names": [],
            "gender": row.gender,
            "ethnicity": row.ethnicity,
            "birth_date": row.birth_date,
            "birthplace_code": "",
            "household_no": row.household_no,
            "division_code": row.division_code,
            "address": address,
            "relation_to_head": row.relation,
            "status": PersonStatus.ACTIVE.value,
            "died_on": None,
        },
        ensure_ascii=False,
    )


def person_check(line: int, fields: list[str], checks: Checks, rejects: list[Reject]) -> PersonRow | None:
    """A person row checked as ``person_birth_register`` checks its input, or None (its rejects added)."""
    (
        id_raw,
        name_raw,
        gender_raw,
        ethnicity_raw,
        birth_raw,
        division_raw,
        address_raw,
        household_raw,
        relation_raw,
    ) = fields
    found = len(rejects)
    code = _id_number(line, "id_number", id_raw, checks, rejects)
    name = text(name_raw)
    if not name:
        rejects.append(reject(line, "name", "", "name_required"))
    _length(line, "name", name, NAME_MAX_LENGTH, rejects)
    gender = GENDER_CODES.get(gender_raw.strip(), "")
    if not gender:
        rejects.append(reject(line, "gender", gender_raw, "gender_unknown"))
    ethnicity = ethnicity_raw.strip()
    if not is_ethnicity_code(ethnicity):
        rejects.append(reject(line, "ethnicity", ethnicity, "ethnicity_unknown"))
    birth_date = birth_raw.strip()
    if code:
        in_id = f"{code[6:10]}-{code[10:12]}-{code[12:14]}"
        if birth_date != in_id:
            mismatch = strict_date(birth_date) is not None
            code_ = "birth_date_mismatch" if mismatch else "date_invalid"
            rejects.append(reject(line, "birth_date", birth_date, code_, expected=in_id))
        if gender and gender != (Gender.MALE.value if int(code[16]) % 2 else Gender.FEMALE.value):
            rejects.append(reject(line, "gender", gender_raw, "gender_mismatch"))
    elif strict_date(birth_date) is None:
        rejects.append(reject(line, "birth_date", birth_date, "date_invalid"))
    division_code, division_id = _division(line, division_raw, checks, rejects)
    address = text(address_raw)
    _length(line, "address", address, ADDRESS_MAX_LENGTH, rejects)
    household_no = text(household_raw)
    if not (
        0 < len(household_no) <= HOUSEHOLD_NO_MAX_LENGTH and household_no.isascii() and household_no.isalnum()
    ):
        rejects.append(reject(line, "household_no", household_raw, "household_no_invalid"))
    relation = RELATION_CODES.get(relation_raw.strip(), "")
    if not relation:
        rejects.append(reject(line, "relation_to_head", relation_raw, "relation_unknown"))
    if len(rejects) > found:
        return None
    sealer = checks.sealer
    row = PersonRow(
        line,
        code,
        sealer.id_number_index(code),
        name,
        gender,
        ethnicity,
        birth_date,
        division_code,
        division_id,
        address,
        household_no,
        relation,
        sealer.encrypt(code),
        sealer.encrypt(name),
        "",
    )
    return row._replace(snapshot_token=sealer.encrypt(person_snapshot(row, address)))


# --- Legal entities -------------------------------------------------------------------------------------


class EntityRow(NamedTuple):
    line: int
    credit_code: str
    name: str
    type: str
    legal_rep_index: str
    legal_rep_province: str
    registered_capital: Decimal | None
    division_code: str
    address: str
    business_scope: str
    established_on: dt.date


def _capital(line: int, raw: str, rejects: list[Reject]) -> Decimal | None:
    value = text(raw)
    if not value:
        return None
    try:
        capital = Decimal(value)
    except InvalidOperation:
        capital = Decimal("NaN")
    if not capital.is_finite() or capital <= 0 or capital > CAPITAL_MAX:
        rejects.append(reject(line, "registered_capital", raw, "capital_invalid"))
        return None
    return capital.quantize(CAPITAL_QUANTUM)


def entity_check(line: int, fields: list[str], checks: Checks, rejects: list[Reject]) -> EntityRow | None:
    """An entity row checked as ``entity_register`` checks its input, or None (its rejects added)."""
    (
        code_raw,
        name_raw,
        type_raw,
        rep_raw,
        capital_raw,
        division_raw,
        address_raw,
        scope_raw,
        established_raw,
    ) = fields
    found = len(rejects)
    try:
        code = validate_credit_code(code_raw)
    except InvalidIdentifier as error:
        rejects.append(reject_invalid(line, "credit_code", code_raw, error))
        code = ""
    name = text(name_raw)
    if not name:
        rejects.append(reject(line, "name", "", "name_required"))
    _length(line, "name", name, ENTITY_NAME_MAX_LENGTH, rejects)
    entity_type = type_raw.strip()
    if entity_type not in EntityType.values:
        rejects.append(reject(line, "type", type_raw, "entity_type_unknown"))
    representative = text(rep_raw)
    rep_index = rep_province = ""
    if representative:
        rep_code = _id_number(line, "legal_rep_id_number", representative, checks, rejects)
        if rep_code:
            rep_index, rep_province = checks.sealer.id_number_index(rep_code), rep_code[:2]
    capital = _capital(line, capital_raw, rejects)
    division_code, _division_id = _division(line, division_raw, checks, rejects)
    address = text(address_raw)
    _length(line, "address", address, ADDRESS_MAX_LENGTH, rejects)
    scope = text(scope_raw)
    _length(line, "business_scope", scope, SCOPE_MAX_LENGTH, rejects)
    established_text = established_raw.strip()
    established = strict_date(established_text)
    if established is None:
        rejects.append(reject(line, "established_on", established_text, "date_invalid"))
    elif established > checks.today:
        rejects.append(reject(line, "established_on", established_text, "date_in_future"))
    if len(rejects) > found or established is None:
        return None
    return EntityRow(
        line,
        code,
        name,
        entity_type,
        rep_index,
        rep_province,
        capital,
        division_code,
        address,
        scope,
        established,
    )


_CHECKERS: Final[dict[str, tuple[Callable[[int, list[str], Checks, list[Reject]], Any], int]]] = {
    ImportKind.PERSONS: (person_check, len(PERSON_COLUMNS)),
    ImportKind.ENTITIES: (entity_check, len(ENTITY_COLUMNS)),
}


class Checked(NamedTuple):
    rows: list[Any]
    rejects: list[Reject]


class Lines:
    """The physical lines of a binary file as text for ``csv.reader``, counting lines and bytes read."""

    def __init__(self, handle: BinaryIO, *, line: int, offset: int) -> None:
        self.handle = handle
        self.line = line
        self.offset = offset
        self.undecodable = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        self.line += 1
        self.offset += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.undecodable = True
            return raw.decode("utf-8", "replace")


def check_records(blob: bytes, first_line: int, checks: Checks | None = None) -> Checked:
    """Parse and check a blob of whole CSV records starting on physical line ``first_line``: in a worker
    (``checks`` from :func:`worker_init`) or in the calling process. Blank lines are skipped; a record
    that is not UTF-8, not valid CSV or has the wrong number of columns is refused as a whole."""
    checks = checks if checks is not None else _WORKER_CHECKS
    if checks is None:  # pragma: no cover - the pool always runs worker_init first
        message = "check_records needs the import's checks"
        raise RuntimeError(message)
    check, columns = _CHECKERS[checks.kind]
    rows: list[Any] = []
    rejects: list[Reject] = []
    lines = Lines(io.BytesIO(blob), line=first_line - 1, offset=0)
    reader = csv.reader(lines)
    while True:
        start = lines.line + 1
        lines.undecodable = False
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            rejects.append(reject(start, "", "", "csv_invalid", error=error))
            continue
        if lines.undecodable:
            rejects.append(reject(start, "", "", "encoding_invalid"))
        elif not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line: nothing to import, nothing to refuse
        elif len(fields) != columns:
            rejects.append(
                reject(start, "", str(len(fields)), "column_count", found=len(fields), expected=columns)
            )
        else:
            row = check(start, fields, checks, rejects)
            if row is not None:
                rows.append(row)
    return Checked(rows, rejects)
