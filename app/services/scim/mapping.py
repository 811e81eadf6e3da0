"""Registry records <-> SCIM Users: the name split, the person extension, `active`, and field names in errors."""

import re
from datetime import date
from typing import Any

from scim2_models import ComplexAttribute, InvalidValueException, Meta, MutabilityException

from app.errors import Conflict
from app.services.scim.models import (
    PERSON_URN,
    Name,
    PartyMembership,
    RegistryPerson,
    UserResource,
)

DATED_LISTS = ("employments", "positions", "memberships")
OWN = ("birth_date", "gender", "ethnicity", "national_id", "general_education")  # simple attributes of the extension
LISTS = ("positions", "memberships", "degrees", "political_theory", "state_management", "specialties",
         "academic_titles", "it_skills", "trainings", "separations", "disciplines")  # one list, one attribute
# A record list the extension splits in two: (record list, key, [(attribute, value of the key)]), the first part first
SPLIT = (("employments", "primary", (("primary_employments", True), ("concurrent_employments", False))),
         ("languages", "kind", (("foreign_languages", "foreign"), ("ethnic_minority_languages", "ethnic_minority"))))
USER_FIELDS = {"external_id": "userName", "full_name": "name"}
FIELD = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?$")


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


def _values(item: ComplexAttribute) -> dict[str, Any]:
    """An item of the extension as a record item: its sub-attributes that have a value (the record's defaults
    apply to the others)."""
    return {k: v for k in type(item).model_fields if (v := getattr(item, k)) is not None}


def _items(model: Any, entries: list[dict[str, Any]] | None) -> list[Any] | None:
    """Record items as items of the extension (keys the item does not have are left out); none: no attribute."""
    return [model(**{k: entry.get(k) for k in model.model_fields}) for entry in entries] if entries else None


def person_extension(record: dict[str, Any]) -> RegistryPerson:
    """The person extension of a record (sensitive fields the record withholds are left out)."""
    ext = RegistryPerson(**{k: record.get(k) for k in OWN})
    if record.get("party_member_since"):
        ext.party_membership = PartyMembership(since=record["party_member_since"], until=record.get("party_member_until"))
    for name in LISTS:
        setattr(ext, name, _items(item_model(name), record.get(name)))
    for name, key, parts in SPLIT:
        for attr, value in parts:
            part = [i for i in record.get(name) or [] if i[key] == value]
            setattr(ext, attr, _items(item_model(attr), part))
    for item in ext.political_theory or []:
        item.equivalent = bool(item.equivalent)  # the record leaves out `equivalent` when false
    return ext


def item_model(attribute: str) -> Any:
    """The item class of a multi-valued attribute of the extension."""
    return RegistryPerson.get_field_root_type(attribute)


def record_of(user: UserResource) -> dict[str, Any]:
    """The interchange record (as a dict, not yet validated) a User written by a client stands for."""
    ext = user[RegistryPerson] or RegistryPerson()
    record: dict[str, Any] = {"external_id": user.user_name, "full_name": join_name(user.name)}
    record |= {k: getattr(ext, k) for k in OWN}
    party = ext.party_membership
    record |= {"party_member_since": party.since if party else None, "party_member_until": party.until if party else None}
    record |= {name: [_values(i) for i in getattr(ext, name) or []] for name in LISTS}
    for name, key, parts in SPLIT:
        record[name] = [_values(i) | {key: value} for attr, value in parts for i in getattr(ext, attr) or []]
    for name in DATED_LISTS:
        for item in record[name]:
            item.setdefault("end", None)  # a dated item always says whether it ends
    return record


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
            if not active and (item.get("start") or "") > day:
                raise Conflict(f"{name} starting {item['start']} begins after today; it cannot end today",
                               code="starts_after_close")
            if not active and (item["end"] is None or item["end"] > day):
                item["end"] = day
            elif active and item["end"] == day:
                item["end"] = None
    if active and not is_active(record, today):
        raise MutabilityException(detail="active: nothing ended today to reopen; add an open employment to "
                                          f"{PERSON_URN}:primaryEmployments instead")
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
        raise MutabilityException(detail=f"active: the separations in {PERSON_URN}:separations ({days}) end every "
                                          "assignment; correct or remove them to make the person active")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def scim_field(field: str, record: dict[str, Any]) -> str:
    """The SCIM attribute a field of `record` (as record_of built it) lives in: 'languages[2].level' ->
    'urn:...:ethnicMinorityLanguages[0].level' when the record's first two languages are foreign ones."""
    found = FIELD.match(field)
    if found is None:
        return f"{PERSON_URN}:{field}"
    name, index, sub = found.group(1), found.group(2), found.group(3)
    if name in USER_FIELDS:
        return USER_FIELDS[name]
    if name in ("party_member_since", "party_member_until"):
        return f"{PERSON_URN}:partyMembership.{name.removeprefix('party_member_')}"
    for list_name, key, parts in SPLIT:
        if name == list_name and index is not None:
            items, i = record.get(list_name) or [], int(index)
            value = items[i].get(key) if i < len(items) else None
            attr = next((a for a, v in parts if v == value), parts[0][0])
            name, index = attr, str(sum(1 for item in items[:i] if item.get(key) == value))
    where = _camel(name) + (f"[{index}]" if index is not None else "") + (f".{_camel(sub)}" if sub else "")
    return f"{PERSON_URN}:{where}"


def meta(external_id: str, rev: int, base_url: str, created: Any, modified: Any) -> Meta:
    return Meta(resource_type="User", created=created, last_modified=modified or created,
                location=f"{base_url}/Users/{external_id}", version=f'W/"{rev}"')
