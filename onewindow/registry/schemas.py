"""API bodies of the population register (/api/v1/registry/persons/...): the shapes of issue #5, "API".

Request fields are plain strings with generous length limits: the actions check every value and answer
bilingual per-field errors (422 ``form_invalid``), which a schema-level refusal could not give.

``PersonOut`` is a lookup's answer (``selectors.PersonView``: masked unless a full view was asked for with a
purpose). ``PersonWrittenOut`` is the answer to a front-desk operation, read from the person the action
returns and always masked: the operation's caller typed the ID number and name, so echoing them would only
put personal data in one more response, log and cache (PIPL Art. 6: no more than necessary).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from ninja import Field, Schema

from onewindow.core.validators import mask_id_number
from onewindow.registry.models import Person
from onewindow.registry.selectors import mask_name

# Limits of what is parsed at all; the actions enforce the real ones (a name has at most 50 characters, ...).
ID_NUMBER_MAX = 32
SHORT_TEXT_MAX = 100
ADDRESS_MAX = 400
REASON_MAX = 1000

FieldName = Annotated[str, Field(max_length=40)]
CorrectedValue = Annotated[str, Field(max_length=SHORT_TEXT_MAX)]


class PersonOut(Schema):
    """A person's record; masked (``masked: true``) unless a full view was asked for with a purpose."""

    person_id: int
    masked: bool = Field(
        description="true: ID number and name masked; birth date, address, former names hidden"
    )
    id_number: str = Field(description="Masked: first 6 and last 4 characters (`110105********002X`)")
    name: str = Field(description="Masked: the first character, then one `*` per other character")
    former_names: list[str] = Field(description="Empty when masked")
    gender: str = Field(description="male | female")
    ethnicity: str = Field(description="GB/T 3304 code (01–56, 97, 98)")
    birth_date: date | None = Field(description="null when masked (digits 7–14 of the ID number)")
    birthplace_code: str
    household_no: str
    division_code: str
    address: str = Field(description="Empty when masked")
    relation_to_head: str
    status: str = Field(description="active | moved_out | deceased")
    died_on: date | None
    version: int = Field(description="The number of the record's latest version")


class PersonWrittenOut(PersonOut):
    """The masked record of the person a front-desk operation changed, read from the ``Person``."""

    @staticmethod
    def resolve_person_id(obj: Person) -> int:
        return obj.pk

    @staticmethod
    def resolve_masked(obj: Person) -> bool:
        return True

    @staticmethod
    def resolve_id_number(obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_name(obj: Person) -> str:
        return mask_name(obj.name)

    @staticmethod
    def resolve_former_names(obj: Person) -> list[str]:
        return []

    @staticmethod
    def resolve_birth_date(obj: Person) -> date | None:
        return None

    @staticmethod
    def resolve_household_no(obj: Person) -> str:
        return obj.household.household_no

    @staticmethod
    def resolve_division_code(obj: Person) -> str:
        return obj.household.division.code

    @staticmethod
    def resolve_address(obj: Person) -> str:
        return ""


class BirthIn(Schema):
    id_number: str = Field(max_length=ID_NUMBER_MAX, description="GB 11643-1999, 18 characters")
    name: str = Field(max_length=SHORT_TEXT_MAX)
    gender: str = Field(max_length=10, description="male | female; must match the ID number's 17th digit")
    ethnicity: str = Field(max_length=4, description="GB/T 3304 code")
    birth_date: date = Field(description="Must match digits 7–14 of the ID number")
    birthplace_code: str = Field(max_length=20, description="A division code in the divisions table")
    household_no: str = Field(max_length=SHORT_TEXT_MAX, description="An existing household, or a new one")
    relation_to_head: str = Field(max_length=30, description="head | spouse | child | ... (GB/T 4761)")
    division_code: str = Field(default="", max_length=20, description="Required for a new household")
    address: str = Field(default="", max_length=ADDRESS_MAX, description="Required for a new household only")
    case_tracking_no: str = Field(default="", max_length=SHORT_TEXT_MAX)


class TransferIn(Schema):
    household_no: str = Field(max_length=SHORT_TEXT_MAX, description="The household moved into")
    relation_to_head: str = Field(max_length=30)
    division_code: str = Field(default="", max_length=20, description="Required for a new household")
    address: str = Field(default="", max_length=ADDRESS_MAX, description="Required for a new household only")
    effective_on: date | None = Field(default=None, description="Today when omitted; not in the future")
    case_tracking_no: str = Field(default="", max_length=SHORT_TEXT_MAX)


class DeathIn(Schema):
    died_on: date = Field(description="Not in the future, not before the birth date")
    case_tracking_no: str = Field(default="", max_length=SHORT_TEXT_MAX)


class RenameIn(Schema):
    new_name: str = Field(max_length=SHORT_TEXT_MAX)
    effective_on: date | None = Field(default=None, description="Today when omitted; not in the future")
    case_tracking_no: str = Field(default="", max_length=SHORT_TEXT_MAX)


class CorrectIn(Schema):
    corrections: dict[FieldName, CorrectedValue] = Field(
        max_length=10,
        description="Field → right value, among `name`, `ethnicity`, `birthplace_code`, `relation_to_head`",
    )
    reason: str = Field(max_length=REASON_MAX)
    case_tracking_no: str = Field(default="", max_length=SHORT_TEXT_MAX)


class EntityPublicOut(Schema):
    credit_code: str
    name: str
    type: str
    status: str
    registration_authority: str
    established_on: date
