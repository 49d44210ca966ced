"""The population register's HTTP API (/api/v1/registry/persons/...): thin over the actions and selectors.

Parse, call, return: the actions and the selector check who is asking (public-security handlers only:
``HANDLE_TASKS`` in department ``PSB``) and audit. Refusals are mapped once by ``core.api_errors``: 401
without a caller, 403 for everyone but public-security handlers, 404 for an ID number that is invalid or not
in the register (``person_not_found``), 409 for a conflict with the register (``id_number_active_exists``,
``person_deceased``, ``household_has_head``, ...), 422 for per-field errors (``form_invalid`` with
``errors``) or a missing purpose (``purpose_required``).

No response carries a plaintext ID number unless a full view was asked for with a purpose: the operations
answer the masked record.
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations (``PathEx``) at runtime.

from typing import Any, cast

from django.http import HttpRequest
from ninja import P, PathEx, Router, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.registry import actions, entities, selectors
from onewindow.registry.models import Person
from onewindow.registry.schemas import (
    ID_NUMBER_MAX,
    BirthIn,
    CorrectIn,
    DeathIn,
    EntityPublicOut,
    PersonOut,
    PersonWrittenOut,
    RenameIn,
    TransferIn,
)

router = Router(tags=["registry"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}

IdNumber = PathEx[str, P(min_length=1, max_length=ID_NUMBER_MAX)]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# ``/persons/births`` comes before ``/persons/{id_number}``: Django tries the URL patterns in order, and the
# GET-only pattern would otherwise take the POST and answer 405.
@router.post(
    "/persons/births",
    auth=api_auth,
    response={201: PersonWrittenOut, **_ERRORS},
    summary="Register a birth (出生登记)",
    description=(
        "Into an existing household (`household_no`), or a new one (`household_no` with `division_code` and "
        "`address`; the person must be its head). Birth date and gender must match the ID number. 409 "
        "`id_number_active_exists` / `id_number_used` when the ID number is already registered; 422 "
        "`form_invalid` with `errors`. Answers the masked record."
    ),
)
def person_birth_register(request: HttpRequest, payload: BirthIn) -> Status[Person]:
    person = actions.person_birth_register(acting_user=_user(request), **payload.dict())
    return Status(201, person)


@router.get(
    "/persons/{id_number}",
    auth=api_auth,
    response={200: PersonOut, **_ERRORS},
    summary="Look a person up by ID number (masked unless full, with a purpose)",
    description=(
        "The active record holding the ID number, else the latest. Masked (ID number first 6 and last 4, "
        "name's first character; no birth date, address or former names) unless `full=true`, which needs a "
        "`purpose` (the tracking number of the case being handled; 422 `purpose_required`). Public-security "
        "handlers see every field; another department's handlers only the fields the field-level access "
        "policy gives them (the others empty), and only with the tracking number of a case their department "
        "is working on as `purpose` (otherwise 403). Every lookup is audited (`registry.person_viewed`) with "
        "its purpose. 404 for an ID number that is invalid or not in the register."
    ),
)
def person_detail(
    request: HttpRequest, id_number: IdNumber, purpose: str = "", full: bool = False
) -> selectors.PersonView:
    return selectors.person_by_id_number(_user(request), id_number, purpose=purpose, full=full)


@router.get(
    "/entities/{credit_code}",
    auth=None,
    response={200: EntityPublicOut, **_ERRORS},
    summary="An entity's public basic information (anyone)",
    description=(
        "Name, type, status, registration authority and establishment date of the legal entity with this "
        "unified social credit code; no sign-in needed (企业信息公示). 404 `entity_not_found` for a code "
        "that is invalid or not in the register."
    ),
)
def entity_detail(request: HttpRequest, credit_code: str) -> entities.EntityPublicView:
    return entities.entity_public(credit_code)


@router.post(
    "/persons/{id_number}/transfer",
    auth=api_auth,
    response={200: PersonWrittenOut, **_ERRORS},
    summary="Move a person to another household (迁出 + 迁入)",
    description=(
        "To an existing household or a new one (with `division_code` and `address`). 409 `person_deceased`, "
        "`same_household`, `id_number_active_exists`; 404 `person_not_found`; 422 `form_invalid`."
    ),
)
def person_transfer(request: HttpRequest, id_number: IdNumber, payload: TransferIn) -> Person:
    return actions.person_transfer(acting_user=_user(request), id_number=id_number, **payload.dict())


@router.post(
    "/persons/{id_number}/death",
    auth=api_auth,
    response={200: PersonWrittenOut, **_ERRORS},
    summary="Deregister a death (死亡注销)",
    description="409 `person_deceased`, `person_not_active`; 404 `person_not_found`; 422 `form_invalid`.",
)
def person_death_register(request: HttpRequest, id_number: IdNumber, payload: DeathIn) -> Person:
    return actions.person_death_register(acting_user=_user(request), id_number=id_number, **payload.dict())


@router.post(
    "/persons/{id_number}/rename",
    auth=api_auth,
    response={200: PersonWrittenOut, **_ERRORS},
    summary="Change a person's name (变更姓名)",
    description=(
        "The old name becomes a former name. 409 `person_deceased`, `person_not_active`; 404 "
        "`person_not_found`; 422 `form_invalid` (`name_unchanged`, ...)."
    ),
)
def person_rename(request: HttpRequest, id_number: IdNumber, payload: RenameIn) -> Person:
    return actions.person_rename(acting_user=_user(request), id_number=id_number, **payload.dict())


@router.post(
    "/persons/{id_number}/correct",
    auth=api_auth,
    response={200: PersonWrittenOut, **_ERRORS},
    summary="Correct an error in a person's record (更正)",
    description=(
        "`corrections` maps `name`, `ethnicity`, `birthplace_code` or `relation_to_head` to the right value; "
        "a `reason` is required. 404 `person_not_found`; 409 `household_has_head`; 422 `form_invalid` "
        "(`field_not_correctable`, `nothing_to_correct`, ...)."
    ),
)
def person_correct(request: HttpRequest, id_number: IdNumber, payload: CorrectIn) -> Person:
    return actions.person_correct(acting_user=_user(request), id_number=id_number, **payload.dict())
