"""Registry records <-> SCIM Users: the name split, the record text, `active`, and field names in errors."""

import json
from datetime import date
from typing import Any

from scim2_models import InvalidValueException, Meta, MutabilityException

from app.errors import Conflict
from app.schemas.interchange import PERSON_LISTS
from app.services.scim.models import PERSON_URN, Name, RegistryPerson, UserResource

OWN_KEYS = ("external_id", "full_name", "birth_date", "gender")  # carried by the User itself, not by `record`
RECORD_KEYS = ("ethnicity", "national_id", "party_member_since", "party_member_until", "general_education", *PERSON_LISTS)
DATED_LISTS = ("employments", "positions", "memberships")
SCIM_FIELDS = {"external_id": "userName", "full_name": "name", "birth_date": f"{PERSON_URN}:birthDate",
               "gender": f"{PERSON_URN}:gender"}


def split_name(full_name: str) -> Name:
    """'Nguyễn Thị Minh Khai' -> family 'Nguyễn', middle 'Thị Minh', given 'Khai'."""
    words = full_name.split()
    if len(words) < 2:
        return Name(family_name=full_name.strip() or None)
    return Name(family_name=words[0], middle_name=" ".join(words[1:-1]) or None, given_name=words[-1])


def join_name(name: Name | None) -> str:
    """The full name a Name stands for: family, middle and given names, in that order."""
    parts = [p.strip() for p in (name.family_name, name.middle_name, name.given_name) if p and p.strip()] if name else []
    if not parts:
        raise InvalidValueException(detail="name: a family name is required (the registry needs a full name)")
    return " ".join(parts)


def dump_record(record: dict[str, Any]) -> str:
    """The `record` attribute: the interchange record without the keys the User carries, as compact JSON."""
    return json.dumps({k: record.get(k) for k in RECORD_KEYS}, ensure_ascii=False, separators=(",", ":"))


def load_record(text: str | None, own: dict[str, Any]) -> dict[str, Any]:
    """A full record dict from the `record` text and the User's own values (which the text may repeat)."""
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise InvalidValueException(detail=f"{PERSON_URN}:record is not JSON text: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidValueException(detail=f"{PERSON_URN}:record must be a JSON object (an interchange record)")
    for key in OWN_KEYS:
        if key in data and data[key] != own[key]:
            raise InvalidValueException(detail=f"{PERSON_URN}:record says {key} {data[key]!r} but the User says "
                                               f"{own[key]!r} ({SCIM_FIELDS[key]})")
    data.pop("redacted", None)
    return data | own


def record_of(user: UserResource) -> dict[str, Any]:
    """The interchange record (as a dict, not yet validated) a User written by a client stands for."""
    ext = user[RegistryPerson] or RegistryPerson()
    own = {"external_id": user.user_name, "full_name": join_name(user.name),
           "birth_date": ext.birth_date, "gender": ext.gender}
    return load_record(ext.record, own)


def is_active(record: dict[str, Any], today: date) -> bool:
    """Whether an employment is open or ends after today."""
    return any(e["end"] is None or e["end"] > today.isoformat() for e in record.get("employments") or [])


def set_active(record: dict[str, Any], active: bool, today: date) -> dict[str, Any]:
    """False ends every open item today (as persons.close does); true reopens the items that end today."""
    if active == is_active(record, today):
        if active:
            _not_separated(record, today)
        return record
    day = today.isoformat()
    for name in DATED_LISTS:
        for item in record.get(name) or []:
            if not active and item["start"] > day:
                raise Conflict(f"{name} starting {item['start']} begins after today; it cannot end today",
                               code="starts_after_close")
            if not active and (item["end"] is None or item["end"] > day):
                item["end"] = day
            elif active and item["end"] == day:
                item["end"] = None
    if active and not is_active(record, today):
        raise MutabilityException(detail="active: nothing ended today to reopen; add an open employment to "
                                          f"{PERSON_URN}:record instead")
    if active:
        _not_separated(record, today)
    return record


def _not_separated(record: dict[str, Any], today: date) -> None:
    """`active: true` on a record whose separations end every assignment would be answered inactive: refused."""
    from app.services.persons import end_at_separations

    closed = {name: [dict(i) for i in record.get(name) or []] for name in DATED_LISTS}
    end_at_separations(closed | {"separations": record.get("separations")})
    if record.get("separations") and not is_active(closed, today):
        days = ", ".join(sorted(s["on"] for s in record["separations"]))
        raise MutabilityException(detail=f"active: the separations in {PERSON_URN}:record ({days}) end every assignment; "
                                          "correct or remove them to make the person active")


def scim_field(field: str) -> str:
    """The SCIM attribute an interchange field lives in ('employments[0].start' is inside `record`)."""
    return SCIM_FIELDS.get(field) or f"{PERSON_URN}:record {field}"


def meta(external_id: str, rev: int, base_url: str, created: Any, modified: Any) -> Meta:
    return Meta(resource_type="User", created=created, last_modified=modified or created,
                location=f"{base_url}/Users/{external_id}", version=f'W/"{rev}"')
