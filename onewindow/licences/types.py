"""The licence type catalogue (证照目录): which licence an approval of a service issues.

GB/T 36902-2018 (e-licence catalogue) and GB/T 36903-2018 (metadata) give every kind of licence a type code
(证照类型代码) and a name, the holder's code type (统一社会信用代码 for organisations, 公民身份号码 for
persons), and its validity. The catalogue below is the platform's own, keyed by the code of the service
whose approval issues the licence; a deployment that joins a provincial or the national e-licence catalogue
puts the type codes that catalogue assigned in ``code`` (one line each, docs/licences.md).

A service not listed issues a licence named after the service, with the service code as its type code, as
the back office did before this catalogue existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from onewindow.licences.models import HolderKind

#: GB/T 36903 持证主体代码类型, as written into the signed licence.
HOLDER_CODE_TYPES: dict[str, str] = {
    HolderKind.ENTERPRISE: "credit_code",
    HolderKind.PERSON: "id_number",
}


@dataclass(frozen=True)
class LicenceType:
    code: str  # 证照类型代码
    name: str  # 证照名称
    name_en: str
    holder_kind: HolderKind
    # Validity in years from the issue date; None = long-term (长期), as a business licence without a fixed
    # operating period.
    validity_years: int | None = None


#: Service code → the licence its approval issues.
LICENCE_TYPES: dict[str, LicenceType] = {
    "QYKB": LicenceType(
        code="OWL0001",
        name="营业执照",
        name_en="Business licence",
        holder_kind=HolderKind.ENTERPRISE,
        validity_years=None,
    ),
}


def licence_type_for(service_code: str, *, name: str, name_en: str, holder_kind: HolderKind) -> LicenceType:
    """The catalogue entry of ``service_code``, or one named after the service (type code = service code)."""
    listed = LICENCE_TYPES.get(service_code)
    if listed is not None:
        return listed
    return LicenceType(code=service_code, name=name, name_en=name_en, holder_kind=holder_kind)
