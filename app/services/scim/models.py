"""The SCIM resource models (scim2-models): a registry person as a SCIM User with three extensions.

Each datum appears once in a User, so that a PUT or a PATCH can never contradict itself:
`id` = `userName` = `externalId` = enterprise `employeeNumber` = the registry's external id;
`name` = the full name; the person extension holds the rest of the interchange record
(GET /api/v1/persons/{id}), attribute by attribute: its own fields as simple attributes, party
membership as one complex attribute, each list as a multi-valued complex attribute whose
sub-attributes are simple (RFC 7643 §2.3.8). Two lists are split where SCIM cannot say what the
record says: `employments` into primary and concurrent ones (RFC 7643 §2.4 lets one value of a list
be `primary`, the registry keeps one primary employment at a time, several over a career), and
`languages` into foreign and ethnic-minority ones (each kind has sub-attributes the other must not
have). Coded values list their code list as canonical values; dates are strings YYYY-MM-DD.
"""

from functools import cache
from typing import Annotated, Any

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

from app.services import codelists

PERSON_URN = "urn:vn:gov:registry:scim:schemas:extension:person:1.0:User"
SUMMARY_URN = "urn:vn:gov:registry:scim:schemas:extension:summary:1.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ReadOnly = Mutability.read_only
Exact = CaseExact.true


@cache
def _code_lists() -> dict[str, list[dict[str, Any]]]:
    data = codelists.packaged()
    return data


def codes(list_name: str) -> Any:
    """A field whose canonical values (RFC 7643 §7) are the codes of a packaged code list."""
    return Field(None, examples=[str(c["code"]) for c in _code_lists()[list_name]])


Date = Annotated[str | None, Exact]
NeededDate = Annotated[str | None, Required.true, Exact]
UnitCode = Annotated[str | None, Required.true, Exact]


class Name(ComplexAttribute):
    """The full name, split the Vietnamese way: family name first, given name last, middle names between."""

    family_name: Annotated[str | None, Required.true] = None
    """The first word of the full name (họ)."""

    middle_name: str | None = None
    """The words between the family name and the given name (tên đệm)."""

    given_name: str | None = None
    """The last word of the full name (tên)."""


class PartyMembership(ComplexAttribute):
    """Membership of the Communist Party of Viet Nam (sensitive: given only to roles that see sensitive data)."""

    since: NeededDate = None
    """The day membership began, YYYY-MM-DD."""

    until: Date = None
    """The last day of membership, YYYY-MM-DD; none while a member."""


class Employment(ComplexAttribute):
    """An employment: at an org unit, in a category, from `start` to `end` (inclusive; none: open)."""

    org_unit: UnitCode = None
    """The code of the org unit (not a body: seats in bodies are memberships)."""

    category: Annotated[str | None, Required.true, Exact] = codes("employment_category")
    """The employment category."""

    occupation: Annotated[str | None, Exact] = codes("occupation")
    """The occupation."""

    start: NeededDate = None
    """The first day, YYYY-MM-DD."""

    end: Date = None
    """The last day, YYYY-MM-DD; none while it lasts."""


class Position(ComplexAttribute):
    """A leadership position at an org unit."""

    org_unit: UnitCode = None
    """The code of the org unit."""

    title: str | None = None
    """The title as written."""

    rank: Annotated[str | None, Required.true, Exact] = codes("leadership_rank")
    """The leadership rank."""

    key_leader: bool | None = None
    """Whether the position is one of the unit's key leaders."""

    start: NeededDate = None
    """The first day, YYYY-MM-DD."""

    end: Date = None
    """The last day, YYYY-MM-DD; none while it lasts."""


class Membership(ComplexAttribute):
    """A seat in a body (party committee, people's council, management list, planning pool)."""

    body: UnitCode = None
    """The code of the body."""

    role: Annotated[str | None, Exact] = codes("membership_role")
    """The role in the body (member when none is given)."""

    start: NeededDate = None
    """The first day, YYYY-MM-DD."""

    end: Date = None
    """The last day, YYYY-MM-DD; none while it lasts."""


class Degree(ComplexAttribute):
    """A degree."""

    level: Annotated[str | None, Required.true, Exact] = codes("degree_level")
    """The degree level."""

    field: str | None = None
    """The field of study."""

    institution: str | None = None
    """The institution that awarded it."""

    country: Annotated[str | None, Exact] = None
    """The country of the institution, ISO 3166-1 alpha-2 (e.g. VN)."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class ForeignLanguage(ComplexAttribute):
    """A foreign language at a level of the six-level framework, or as a paper the equivalence table places."""

    language: Annotated[str | None, Required.true, Exact] = None
    """The language, ISO 639 (e.g. en)."""

    level: int | None = None
    """The level, 1 to 6 (derived from the certificate and score when not given)."""

    certificate: str | None = None
    """The certificate as written (e.g. IELTS, VSTEP)."""

    score: str | None = None
    """The score as on the paper (e.g. 6.0); only beside a certificate."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class EthnicMinorityLanguage(ComplexAttribute):
    """An ethnic-minority language the person speaks, fluently or not."""

    language: Annotated[str | None, Required.true, Exact] = None
    """The language, ISO 639 (e.g. km)."""

    fluent: Annotated[bool | None, Required.true] = None
    """Whether the person speaks it fluently."""

    certificate: str | None = None
    """The certificate as written, if any."""

    awarded_on: NeededDate = None
    """The day it was awarded or attested, YYYY-MM-DD."""


class PoliticalTheory(ComplexAttribute):
    """A political-theory qualification."""

    level: Annotated[str | None, Required.true, Exact] = codes("political_theory")
    """The level."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""

    equivalent: bool | None = None
    """Whether it is held by a certificate of equivalence (tương đương), counted as the level."""


class StateManagement(ComplexAttribute):
    """A state-management qualification."""

    level: Annotated[str | None, Required.true, Exact] = codes("state_management")
    """The level."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class Specialty(ComplexAttribute):
    """A medical specialty (chuyên khoa) level."""

    level: Annotated[str | None, Required.true, Exact] = codes("specialist_level")
    """The level."""

    field: str | None = None
    """The specialty."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class AcademicTitle(ComplexAttribute):
    """An academic title (professor, associate professor)."""

    title: Annotated[str | None, Required.true, Exact] = codes("academic_title")
    """The title."""

    field: str | None = None
    """The field."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class ItSkill(ComplexAttribute):
    """An IT-skills certificate."""

    level: Annotated[str | None, Required.true, Exact] = codes("it_skill")
    """The level."""

    certificate: str | None = None
    """The certificate as written."""

    awarded_on: NeededDate = None
    """The day it was awarded, YYYY-MM-DD."""


class Training(ComplexAttribute):
    """A training course completed."""

    course: Annotated[str | None, Required.true] = None
    """The course."""

    hours: int | None = None
    """Its length in hours (0 to 100000)."""

    completed_on: NeededDate = None
    """The day it was completed, YYYY-MM-DD."""


class Separation(ComplexAttribute):
    """The person leaves the public service: every employment, position and seat in force that day ends then."""

    on: NeededDate = None
    """The day, YYYY-MM-DD."""

    reason: Annotated[str | None, Required.true, Exact] = codes("separation_reason")
    """Why (retirement, resignation, transfer out, dismissal, death)."""


class Discipline(ComplexAttribute):
    """A disciplinary measure in force from `start` to `end`."""

    form: Annotated[str | None, Required.true, Exact] = codes("discipline_form")
    """The form of the measure."""

    start: NeededDate = None
    """The first day, YYYY-MM-DD."""

    end: Date = None
    """The last day, YYYY-MM-DD; none while in force."""


class EnterpriseUser(Extension):
    """RFC 7643 §4.3, read only: the registry's external id and the primary employment's units today."""

    __schema__ = URN(ENTERPRISE_URN)

    employee_number: Annotated[str | None, ReadOnly, Exact] = None
    """The registry's external id of the person."""

    organization: Annotated[str | None, ReadOnly] = None
    """The name of the unit above the primary employment's unit (or of that unit when it is a root)."""

    department: Annotated[str | None, ReadOnly] = None
    """The name of the primary employment's unit."""


class RegistryPerson(Extension):
    """What the registry records of a person besides the name: the interchange record, attribute by attribute.

    PUT replaces every attribute (one left out has no value afterwards); PATCH changes those it names.
    """

    __schema__ = URN(PERSON_URN)

    birth_date: Annotated[str | None, Required.true, Exact] = None
    """The birth date, YYYY-MM-DD."""

    gender: Annotated[str | None, Required.true, Exact] = codes("gender")
    """The gender."""

    ethnicity: Annotated[str | None, Exact] = codes("ethnicity")
    """The official code of the ethnic group (sensitive)."""

    national_id: Annotated[str | None, Exact] = None
    """The national identity number, 9 or 12 digits (sensitive)."""

    party_membership: PartyMembership | None = None
    """Membership of the Communist Party of Viet Nam (sensitive)."""

    general_education: Annotated[str | None, Exact] = codes("general_education")
    """The general education completed, grade/system: 12/12, 9/12, 10/10."""

    primary_employments: Annotated[list[Employment] | None, Required.true] = None
    """The primary employments, one at a time (none overlap); a User needs one to be managed over SCIM."""

    concurrent_employments: list[Employment] | None = None
    """The employments held beside the primary one (kiêm nhiệm)."""

    positions: list[Position] | None = None
    """Leadership positions."""

    memberships: list[Membership] | None = None
    """Seats in bodies."""

    degrees: list[Degree] | None = None
    """Degrees."""

    foreign_languages: list[ForeignLanguage] | None = None
    """Foreign languages."""

    ethnic_minority_languages: list[EthnicMinorityLanguage] | None = None
    """Ethnic-minority languages."""

    political_theory: list[PoliticalTheory] | None = None
    """Political-theory qualifications."""

    state_management: list[StateManagement] | None = None
    """State-management qualifications."""

    specialties: list[Specialty] | None = None
    """Medical specialty levels."""

    academic_titles: list[AcademicTitle] | None = None
    """Academic titles."""

    it_skills: list[ItSkill] | None = None
    """IT-skills certificates."""

    trainings: list[Training] | None = None
    """Training courses completed."""

    separations: list[Separation] | None = None
    """Separations from the public service."""

    disciplines: list[Discipline] | None = None
    """Disciplinary measures."""


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

    primary_unit: Annotated[str | None, ReadOnly, Exact] = None
    """The code of the primary employment's unit today."""

    category: Annotated[str | None, ReadOnly] = None
    """The category of the primary employment today."""

    occupation: Annotated[str | None, ReadOnly] = None
    """The occupation of the primary employment today."""


class User(Resource[AnyExtension]):
    """A person of the registry. `userName`, `name`, `active` and the person extension are required."""

    __schema__ = URN(USER_URN)

    external_id: Annotated[str | None, ReadOnly, Returned.default, Exact] = None
    """The registry's external id (the same as id and userName)."""

    user_name: Annotated[str | None, Required.true, Mutability.immutable, Exact, Uniqueness.server] = None
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
