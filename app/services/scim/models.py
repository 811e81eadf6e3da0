"""The SCIM resource models (scim2-models): a registry person as a SCIM User with three extensions.

Each datum appears once in a User, so that a PUT or a PATCH can never contradict itself:
`id` = `userName` = `externalId` = enterprise `employeeNumber` = the registry's external id;
`name` = the full name; the person extension's `birthDate` and `gender`; its `record` = the rest of
the interchange record (GET /api/v1/persons/{id} without those four keys) as JSON text.
"""

from typing import Annotated

from pydantic import Field
from scim2_models import (
    CaseExact,
    ComplexAttribute,
    Extension,
    Mutability,
    Required,
    Resource,
    Returned,
    Uniqueness,
)
from scim2_models.resources.resource import AnyExtension
from scim2_models.urn import URN

PERSON_URN = "urn:vn:gov:registry:scim:schemas:extension:person:1.0:User"
SUMMARY_URN = "urn:vn:gov:registry:scim:schemas:extension:summary:1.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ReadOnly = Mutability.read_only


class Name(ComplexAttribute):
    """The full name, split the Vietnamese way: family name first, given name last, middle names between."""

    family_name: Annotated[str | None, Required.true] = None
    """The first word of the full name (họ)."""

    middle_name: str | None = None
    """The words between the family name and the given name (tên đệm)."""

    given_name: str | None = None
    """The last word of the full name (tên)."""


class EnterpriseUser(Extension):
    """RFC 7643 §4.3, read only: the registry's external id and the primary employment's units today."""

    __schema__ = URN(ENTERPRISE_URN)

    employee_number: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The registry's external id of the person."""

    organization: Annotated[str | None, ReadOnly] = None
    """The name of the unit above the primary employment's unit (or of that unit when it is a root)."""

    department: Annotated[str | None, ReadOnly] = None
    """The name of the primary employment's unit."""


class RegistryPerson(Extension):
    """What the registry records of a person besides the name: birth date, gender and the full record."""

    __schema__ = URN(PERSON_URN)

    birth_date: Annotated[str | None, Required.true, CaseExact.true] = None
    """The birth date, YYYY-MM-DD."""

    gender: Annotated[str | None, Required.true] = Field(None, examples=["male", "female"])
    """The gender code of the registry's code lists."""

    record: Annotated[str | None, Required.true, CaseExact.true] = None
    """JSON text: the interchange record of GET /api/v1/persons/{id} without external_id, full_name,
    birth_date and gender (the User carries those). Its lists replace the person's on PUT and PATCH."""


class RegistrySummary(Extension):
    """Read only: the person's qualifications and primary employment today, derived from the record."""

    __schema__ = URN(SUMMARY_URN)

    highest_degree: Annotated[str | None, ReadOnly] = None
    """The highest degree level held (intermediate < college < bachelor < master < doctor < doctor_science)."""

    highest_foreign_language_level: Annotated[int | None, ReadOnly] = None
    """The highest level (1-6) of any foreign-language certificate."""

    political_theory: Annotated[str | None, ReadOnly] = None
    """The highest political-theory level held."""

    state_management: Annotated[str | None, ReadOnly] = None
    """The highest state-management level held."""

    party_member: Annotated[bool | None, ReadOnly] = None
    """Whether the person is a party member (given only to roles that see sensitive data)."""

    primary_unit: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The code of the primary employment's unit today."""

    category: Annotated[str | None, ReadOnly] = None
    """The category of the primary employment today."""

    occupation: Annotated[str | None, ReadOnly] = None
    """The occupation of the primary employment today."""


class User(Resource[AnyExtension]):
    """A person of the registry. Every writable attribute is required: the registry cannot leave any unset."""

    __schema__ = URN(USER_URN)

    external_id: Annotated[str | None, ReadOnly, Returned.default, CaseExact.true] = None
    """The registry's external id (the same as id and userName)."""

    user_name: Annotated[str | None, Required.true, Mutability.immutable, CaseExact.true, Uniqueness.server] = None
    """The registry's external id: letters, digits, '_', '.', '-' (at most 64)."""

    name: Annotated[Name | None, Required.true] = None
    """The full name, split into its parts."""

    display_name: Annotated[str | None, ReadOnly] = None
    """The full name as one text."""

    active: Annotated[bool | None, Required.true] = None
    """True while an employment is open or ends after today. False ends every employment, position and seat
    today; true reopens what ended today."""


UserResource = User[
    Annotated[RegistryPerson, Required.true]
    | Annotated[EnterpriseUser, ReadOnly]
    | Annotated[RegistrySummary, ReadOnly]
]
