"""Once-only (最多跑一次): pre-fill a form from what the government already knows about the applicant.

A form property opts in with ``"x-prefill": "<key>"``; the sources named in ``settings.PREFILL_SOURCES``
are asked in order and the first that answers a key wins. The same sources say which information
resources (``MaterialSpec.shared_resource``) the government holds for the applicant, so those materials
are 免提交 (need not be submitted), and a source that can also hands over the verified data of such a
material (:func:`extracts_fetch`), which the application keeps with the case. The default sources are the
verified identity and the base registries (``onewindow.registry.prefill.RegistryPrefillSource``).
Interface: ``docs/forms.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from onewindow.accounts.roles import Kind

if TYPE_CHECKING:
    from onewindow.accounts.models import User


@dataclass(frozen=True)
class Identity:
    """Who applies: a resident, or an enterprise through its representative."""

    kind: str  # "resident" | "enterprise"
    name: str
    identifier: str  # ID number (resident) or unified social credit code (enterprise)
    mobile: str = ""
    email: str = ""
    person_name: str = ""  # for an enterprise: the representative's own name
    person_id_number: str = ""  # for an enterprise: the representative's ID number
    user: User | None = None

    @classmethod
    def of_user(cls, user: User) -> Identity:
        """The identity a signed-in account applies with (an enterprise account applies for its enterprise;
        any other account as the person it is)."""
        own_name = user.display_name or user.get_full_name()
        if user.kind == Kind.ENTERPRISE:
            return cls(
                kind="enterprise",
                name=user.enterprise_name,
                identifier=user.enterprise_credit_code,
                mobile=user.mobile,
                email=user.email,
                person_name=own_name,
                person_id_number=user.id_number or "",
                user=user,
            )
        return cls(
            kind="resident",
            name=own_name,
            identifier=user.id_number or "",
            mobile=user.mobile,
            email=user.email,
            person_name=own_name,
            person_id_number=user.id_number or "",
            user=user,
        )

    @property
    def is_enterprise(self) -> bool:
        return self.kind == "enterprise"


PREFILL_KEYS = frozenset(
    {
        "applicant.name",  # the resident's name, or the enterprise's name
        "applicant.identifier",  # ID number or unified social credit code
        "applicant.id_number",  # residents only
        "applicant.credit_code",  # enterprises only
        "applicant.mobile",
        "applicant.email",
        "person.name",  # the natural person acting: the resident, or the enterprise's representative
        "person.id_number",
    }
)


class PrefillSource(Protocol):
    """Something that knows facts about applicants: the identity itself, or a base registry.

    A source may also have a ``keys`` attribute (an iterable of pre-fill keys beyond :data:`PREFILL_KEYS`)
    so that ``check_schema`` accepts forms using them; a true ``purpose_aware`` attribute, so that
    :func:`prefill_form` passes ``values`` a keyword-only ``purpose`` (what the lookup is for, to audit);
    and an ``extract`` method (:class:`ExtractSource`) handing over the verified data of a resource it holds.
    """

    def values(self, identity: Identity, keys: set[str]) -> dict[str, Any]:
        """Values for those of ``keys`` this source knows for ``identity`` (omit the others)."""
        ...

    def held_resources(self, identity: Identity, resources: set[str]) -> set[str]:
        """Those of ``resources`` (information resource codes) the government holds for ``identity``."""
        ...


@dataclass(frozen=True)
class VerifiedData:
    """The verified data of one information resource, as its source holds it for the applicant."""

    resource: str  # the information resource code, e.g. "population.id_card"
    data: dict[str, Any]  # field -> JSON value (strings, numbers, lists)
    source: str  # the source's name, e.g. "registry"
    record_version: int | None = None  # the version of the source's record the data was read from


class ExtractSource(Protocol):
    """The optional part of a source that hands over verified data (免提交 materials kept with the case)."""

    def extract(
        self, identity: Identity, resource: str, *, purpose: str, acting_user: User | None
    ) -> VerifiedData | None:
        """The data of ``resource`` for ``identity``, or None if not held. The source audits the fetch
        (who: ``acting_user``; what: ``resource``; for which case: ``purpose``)."""
        ...


class IdentityPrefillSource:
    """Answers from the verified identity only; holds no information resources."""

    keys = PREFILL_KEYS

    def values(self, identity: Identity, keys: set[str]) -> dict[str, Any]:
        known = {
            "applicant.name": identity.name,
            "applicant.identifier": identity.identifier,
            "applicant.id_number": "" if identity.is_enterprise else identity.identifier,
            "applicant.credit_code": identity.identifier if identity.is_enterprise else "",
            "applicant.mobile": identity.mobile,
            "applicant.email": identity.email,
            "person.name": identity.person_name or ("" if identity.is_enterprise else identity.name),
            "person.id_number": identity.person_id_number
            or ("" if identity.is_enterprise else identity.identifier),
        }
        return {key: value for key, value in known.items() if key in keys and value}

    def held_resources(self, identity: Identity, resources: set[str]) -> set[str]:
        return set()


@cache
def _load_sources(paths: tuple[str, ...]) -> tuple[PrefillSource, ...]:
    return tuple(import_string(path)() for path in paths)


def prefill_sources() -> list[PrefillSource]:
    """The configured sources (``settings.PREFILL_SOURCES``, dotted class paths), instantiated once."""
    return list(_load_sources(tuple(settings.PREFILL_SOURCES)))


def prefill_keys() -> frozenset[str]:
    """Every pre-fill key a form may use: :data:`PREFILL_KEYS` and those the configured sources declare."""
    keys = set(PREFILL_KEYS)
    for source in prefill_sources():
        declared: Iterable[str] = getattr(source, "keys", ())
        keys.update(declared)
    return frozenset(keys)


def prefill_form(schema: dict[str, Any], identity: Identity, *, purpose: str = "prefill") -> dict[str, Any]:
    """{property: value} for every property whose ``x-prefill`` key a source answers (first source wins).

    ``purpose`` says what the lookup is for (``"prefill:<service code>"`` on the application page); sources
    that audit their lookups (``purpose_aware``) record it.
    """
    wanted: dict[str, list[str]] = {}
    properties = schema.get("properties")
    for name, definition in (properties if isinstance(properties, dict) else {}).items():
        key = definition.get("x-prefill") if isinstance(definition, dict) else None
        if isinstance(key, str) and key:
            wanted.setdefault(key, []).append(name)
    answers: dict[str, Any] = {}
    for source in prefill_sources():
        missing = set(wanted) - set(answers)
        if not missing:
            break
        found = (
            source.values(identity, missing, purpose=purpose)  # type: ignore[call-arg]
            if getattr(source, "purpose_aware", False)
            else source.values(identity, missing)
        )
        answers.update(
            {key: value for key, value in found.items() if key in missing and value not in (None, "")}
        )
    return {name: answers[key] for key, names in wanted.items() if key in answers for name in names}


def materials_held(materials: list[dict[str, Any]], identity: Identity) -> set[str]:
    """Codes of materials whose ``shared_resource`` some source says the government holds for this
    identity: these are 免提交 (no need to submit)."""
    resources = {
        resource
        for material in materials
        if isinstance(resource := material.get("shared_resource"), str) and resource
    }
    if not resources:
        return set()
    held: set[str] = set()
    for source in prefill_sources():
        held |= set(source.held_resources(identity, set(resources - held))) & resources
        if held == resources:
            break
    return {
        material["code"]
        for material in materials
        if material.get("shared_resource") in held and isinstance(material.get("code"), str)
    }


def extracts_fetch(
    materials: list[dict[str, Any]],
    identity: Identity,
    codes: set[str],
    *,
    purpose: str,
    acting_user: User | None,
) -> dict[str, VerifiedData]:
    """{material code: verified data} for those of ``codes`` whose ``shared_resource`` a source hands over
    (first source with an ``extract`` method that answers wins; one fetch per resource, shared by the
    materials naming it). ``purpose`` is the case's tracking number: the sources audit every fetch with it.
    """
    wanted: dict[str, list[str]] = {}
    for material in materials:
        code = material.get("code")
        resource = material.get("shared_resource")
        if isinstance(code, str) and code in codes and isinstance(resource, str) and resource:
            wanted.setdefault(resource, []).append(code)
    fetched: dict[str, VerifiedData] = {}
    for resource, material_codes in wanted.items():
        for source in prefill_sources():
            extract = getattr(source, "extract", None)
            if extract is None:
                continue
            data: VerifiedData | None = extract(identity, resource, purpose=purpose, acting_user=acting_user)
            if data is not None:
                fetched.update(dict.fromkeys(material_codes, data))
                break
    return fetched
