"""Reference implementation ("oracle") of every indicator of targets.yaml, in plain Python.

It works directly on interchange records (spec/interchange.md): a registry is
``{"org_units": [...], "persons": [...], "statistics": [...]}`` holding the JSON Lines records as dicts.
It shares no code with the service's engine (app/services/indicators/ was deliberately never read), so
that the two can be compared: a disagreement is a bug on one side, to be settled from spec/domain.md.

Decisions taken for the points the spec leaves open (the same ones the engine is built on):

 1. As of D: a dated record counts when start <= D and (end is null or D <= end): end dates inclusive.
    A qualification counts when awarded_on <= D.  A unit exists on D when valid_from <= D <= valid_to
    (null = open).  Its parent on D is the parent link active on D.
 2. Unit scope: a record anchored at unit A is under U on D when A exists on D and U is reached by
    following the parent links active on D through units that exist on D (A == U included).  A unit that
    does not exist on D, or whose chain to U is broken on D, is not under U.  Hence a U that does not
    exist on D has empty populations (e.g. a district as of 2025-12-31).
 3. Active employee on D: has an employment (primary or concurrent) active on D.  Their unit, tier,
    sector, category and occupation on D are those of their PRIMARY employment active on D, and
    employment-based populations are anchored at that unit.  A person with only concurrent employments
    active on D is in no employment-based population.
 4. Position-based populations ("active persons holding a leadership position ..."): the position is
    active on D AND the person has SOME employment active on D (posts lie within employment); anchored at
    the position's unit; tier/kind filters apply to the position's unit.  "Highest held leadership rank"
    is the max rank over the positions active on D (so a person whose highest rank is office level has
    only office-level positions, and is anchored at any of them).
 5. Membership-based populations: membership active on D and the body exists on D; no employment is
    needed (spec revision 2, point 3: delegates who are farmers, committee members from the police and the
    army); anchored at the body (a unit of the tree); body kind and tier are the body's own as recorded,
    wherever it sits (revision 2, point 4: a district-tier committee directly under a province is district).
 6. CT-2025-LEADER-U40-LANG4 (and CT-2030-, same_as): employment-based (primary category can_bo or
    cong_chuc, primary unit of tier province or district, anchored at the primary unit) AND some position
    active on D with rank >= office_deputy (in any unit) AND age < 40.
 7. CT-2030-DISTRICT-KEY-LEADERS-U40: union of (an active key_leader position in a unit of tier district,
    anchored at the position's unit) and (an active membership, any role, of a party_standing_committee of
    tier district, anchored at the body); each person once.
 8. Age on D = D.year - b.year - ((D.month, D.day) < (b.month, b.day)); "under 40" is age < 40.
 9. Highest levels: the max over the records counted on D, in the orders of domain.md (cu_nhan ==
    cao_cap).  Postgraduate: a degree master/doctor/doctor_science, a specialty ck1/ck2, or a medical
    residency noi_tru (spec revision 2, point 13; noi_tru has no place in the ck1 < ck2 order).  International
    capability: a foreign language (kind foreign) of level >= 4, or a degree whose country is not "VN"
    (country null = not abroad).  Ethnic-language share: a language of kind ethnic_minority with fluent
    true, awarded on or before D.  Ethnic minority: ethnicity not in {01, 55, 99} (null = not minority).
    DOCTORS-CK1: highest specialty is exactly ck1; DOCTORS-CK2: highest specialty is ck2.
10. Title standards (table of domain.md).  A row is met when highest degree >= its degree, highest
    political theory >= its political theory and highest state management >= its state management
    (blank = no requirement); a person with no matching row meets it.
      - "meets the title standard" (ST-2025-PD-STAFF-MEET-STANDARDS, ST-2025-COMMUNE-STAFF-STANDARD) = the
        row of every leadership position active on D, plus the rows of the occupation and of the category
        of the primary employment;
      - CT-2025-LEADERS-MEET-STANDARDS = the rows of the positions active on D only;
      - ST-2025-TEACHERS-MEET-STANDARD, ST-2025-COLLEGE-LECTURERS-STANDARD = the occupation row only.
11. ST-2025-PD-STAFF-* populations: primary category can_bo/cong_chuc/vien_chuc, primary unit of tier
    province or district, minus vien_chuc whose primary unit has sector education or health.
    ST-2030-PD-STAFF-POSTGRAD (spec revision 2, point 6): every tier, categories can_bo ... cap_xa_cong_chuc,
    minus vien_chuc in education or health.  ST-2025-COMMUNE-STAFF-STANDARD (point 7): primary category
    cap_xa_chuyen_trach/cap_xa_cong_chuc; share = general_education "12/12" or "10/10" AND highest degree >=
    the degree of the category's row (no political theory, no position rows).  CT-2030-COMMUNE-CADRES-DEGREE: primary
    category cap_xa_chuyen_trach AND primary unit of tier commune (targets.yaml says "employed in a unit
    of tier commune").
12. ST-2025-ETHNIC-STAFF-LANGUAGE / ST-2025-CONTACT-STAFF-LANGUAGE: primary category in can_bo, cong_chuc,
    vien_chuc, cap_xa_chuyen_trach, cap_xa_cong_chuc.  CONTACT: the primary unit or one of its ancestors
    on D (the chain of decision 2) has ethnic_contact true.  Share (spec revision 2, point 8): fluent in a
    language listed in `local_languages` by the primary unit or a unit above it on D (the chain of decision
    2, lists united); where none of them lists any, fluent in any ethnic-minority language.
13. Coverage: the units are those of the kind that exist on D and are U or below U on D.  A
    party_standing_committee passes if it has an active member (decision 5) who is female; a
    commune_health_station passes if a person whose PRIMARY employment active on D is at that station has
    occupation doctor.  numerator = passing units, denominator = units.
14. Per-capita: numerator = the statistic `doctors` / `nurses` of U itself (same rule as population) when
    there is one (spec revision 2, point 9), else the active employees whose primary employment (active on D)
    has the occupation (doctor / nurse) and lies under U; denominator = the "population" statistic of U itself: among the
    statistics of code population and org_unit U whose period starts on or before D (a year from its
    1 January, a range from its first day, a date on that day), the one that starts latest.  value =
    numerator * 10000 / denominator.  No such statistic: value None, status no_data, denominator None,
    numerator still given.  A figure of 0: denominator 0, value None, status no_data.
15. Women shares (CT-2030-WOMEN-PARTY-COMMITTEE, -PEOPLES-COUNCIL): distinct persons over all bodies of
    the kind in scope is the value; the target is set "at every level" (spec revision 2, point 2): the
    status is not_met when some tier (the body's tier) with members under U is not met on its own
    figures (persons of that tier's bodies, each once); no_data stays no_data.
16. Flow count CT-2025-MASTERS-PHD-INFLOW (spec revision 2, point 11): the period 2022-01-01..2025-12-31,
    cut at D; the public sector is every category but doanh_nghiep and hop_dong.  Events:
    (a) a degree master/doctor/doctor_science awarded on day d in the period, when the person had a
        public-sector primary employment active on d, scoped by that employment's unit in the tree on d;
    (b) "attracted": the start day d (in the period) of a public-sector employment (primary or not) at a unit
        under U on d, when the person already held such a degree (awarded_on <= d), had no public-sector
        employment active on d-1 at a unit under U in the tree of d-1, and had no employment active on d-1 at
        a unit whose valid_to is d-1 (a move out of a unit closed the day before is a reorganisation).
    Distinct persons with at least one event under U; value = the count, denominator None; status met
    when count >= 300.  A count of 0 is a value (0, not_met), not no_data.
17. same_as entries reuse the population and share of the referenced id, with their own band.
18. Reported indicators: the statistic whose code is the indicator id, read for the unit itself with
    the same "latest period starting on or before D" rule as population; numerator and denominator None;
    no statistic -> value None, no_data.  (ASSUMPTION: the statistic code is the indicator id.)
    JOBS-YEARLY (spec revision 2, point 10): the mean of the whole-year figures of the period's years whose
    1 January is on or before D; none -> no_data.
19. Qualitative: numerator, denominator and value None, status no_data.
20. Bands (spec revision 2, point 1): met when value >= min (strict: value > min); above max is met too.
    Compared exactly (fractions), value itself reported as an unrounded float.
21. Empty population for a ratio or coverage: value None, status no_data; numerator/denominator 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

# ───────────────────────── catalog (transcribed from targets.yaml) ─────────────────────────
# id -> (kind, same_as, band, strict)
TARGETS: dict[str, tuple[str, str | None, tuple[float | None, float | None] | None, bool]] = {
    "CT-2025-MASTERS-PHD-INFLOW": ("flow_count", None, (300, None), False),
    "CT-2025-COLLEGE-LECTURER-PHD": ("ratio", None, (0.05, None), False),
    "CT-2025-UNIVERSITY-LECTURER-PHD": ("ratio", None, (0.2, None), False),
    "CT-2025-TEACHING-STAFF": ("qualitative", None, None, False),
    "CT-2025-LEADER-U40-LANG4": ("ratio", None, (0.25, None), False),
    "CT-2025-LABOUR-TRAINED": ("reported", None, (0.85, None), False),
    "CT-2025-NEW-ENTERPRISES-YEARLY": ("reported", None, (1400, None), False),
    "CT-2025-NEW-ENTERPRISES-TOTAL": ("reported", None, (5600, None), True),
    "CT-2025-ST-ENTERPRISES-YEARLY": ("reported", None, (10, 30), False),
    "CT-2025-ST-ENTERPRISES-STOCK": ("reported", None, (50, 80), False),
    "CT-2025-LEADERS-MEET-STANDARDS": ("ratio", None, (1.0, None), False),
    "CT-2030-SCIENCE-WORKFORCE": ("qualitative", None, None, False),
    "CT-2030-LEADER-U40-LANG4": ("ratio", "CT-2025-LEADER-U40-LANG4", (0.35, None), False),
    "CT-2030-LABOUR-TRAINED": ("reported", None, (0.9, None), False),
    "CT-2030-NEW-ENTERPRISES-YEARLY": ("reported", None, (1500, None), False),
    "CT-2030-NEW-ENTERPRISES-TOTAL": ("reported", None, (7500, None), True),
    "CT-2030-CITY-LEADERS-U40": ("ratio", None, (0.15, 0.2), False),
    "CT-2030-CITY-LEADERS-INTERNATIONAL": ("ratio", None, (0.25, 0.35), False),
    "CT-2030-DISTRICT-KEY-LEADERS-U40": ("ratio", None, (0.2, 0.25), False),
    "CT-2030-COMMUNE-CADRES-DEGREE": ("ratio", None, (1.0, None), False),
    "CT-2030-WOMAN-IN-EVERY-STANDING-COMMITTEE": ("coverage", None, (1.0, None), False),
    "CT-2030-WOMEN-PARTY-COMMITTEE": ("ratio", None, (0.2, 0.25), False),
    "CT-2030-WOMEN-PEOPLES-COUNCIL": ("ratio", None, (0.35, None), True),
    "CT-2030-SOE-MANAGERS-INTERNATIONAL": ("ratio", None, (0.7, 0.8), False),
    "CT-2030-ENTREPRENEURS": ("qualitative", None, None, False),
    "ST-2025-PD-STAFF-MEET-STANDARDS": ("ratio", None, (1.0, None), False),
    "ST-2025-PD-STAFF-POSTGRAD": ("ratio", None, (0.2, None), False),
    "ST-2030-PD-STAFF-POSTGRAD": ("ratio", None, (0.25, None), False),
    "ST-2025-COMMUNE-STAFF-STANDARD": ("ratio", None, (1.0, None), False),
    "ST-2025-PROVINCE-COMMITTEE-POSTGRAD": ("ratio", None, (0.7, None), False),
    "ST-2030-PROVINCE-COMMITTEE-POSTGRAD": ("ratio", "ST-2025-PROVINCE-COMMITTEE-POSTGRAD", (0.8, None), False),
    "ST-2025-STANDING-MANAGED-POSTGRAD": ("ratio", None, (0.5, None), False),
    "ST-2025-DISTRICT-COMMITTEE-POSTGRAD": ("ratio", None, (0.4, None), False),
    "ST-2030-DISTRICT-COMMITTEE-POSTGRAD": ("ratio", "ST-2025-DISTRICT-COMMITTEE-POSTGRAD", (0.6, None), False),
    "ST-2025-OFFICE-LEADERS-POSTGRAD": ("ratio", None, (0.3, None), False),
    "ST-2030-OFFICE-LEADERS-POSTGRAD": ("ratio", "ST-2025-OFFICE-LEADERS-POSTGRAD", (0.4, None), False),
    "ST-2025-ETHNIC-STAFF-LANGUAGE": ("ratio", None, (1.0, None), False),
    "ST-2025-CONTACT-STAFF-LANGUAGE": ("ratio", None, (1.0, None), False),
    "ST-2025-TEACHERS-MEET-STANDARD": ("ratio", None, (1.0, None), False),
    "ST-2025-POLITICAL-SCHOOL-MASTERS": ("ratio", None, (0.9, None), False),
    "ST-2025-POLITICAL-SCHOOL-PHD": ("ratio", None, (0.2, None), False),
    "ST-2025-COLLEGE-LECTURERS-STANDARD": ("ratio", None, (1.0, None), False),
    "ST-2025-COLLEGE-LECTURERS-MASTERS": ("ratio", None, (0.8, None), False),
    "ST-2025-COLLEGE-LECTURERS-PHD": ("ratio", None, (0.12, None), False),
    "ST-2030-UPPER-SECONDARY-TEACHERS-MASTERS": ("ratio", None, (0.2, None), False),
    "ST-2030-COLLEGE-LECTURERS-PHD": ("ratio", "ST-2025-COLLEGE-LECTURERS-PHD", (0.15, None), False),
    "ST-2025-COMMUNE-STATIONS-WITH-DOCTOR": ("coverage", None, (1.0, None), False),
    "ST-2025-DOCTORS-PER-10K": ("per_capita", None, (10, None), False),
    "ST-2025-NURSES-PER-10K": ("per_capita", None, (25, None), False),
    "ST-2025-DOCTORS-CK1": ("ratio", None, (0.4, None), False),
    "ST-2025-DOCTORS-CK2": ("ratio", None, (0.06, None), False),
    "ST-2030-DOCTORS-PER-10K": ("per_capita", "ST-2025-DOCTORS-PER-10K", (11, None), False),
    "ST-2030-NURSES-PER-10K": ("per_capita", "ST-2025-NURSES-PER-10K", (30, None), False),
    "ST-2030-DOCTORS-CK1": ("ratio", "ST-2025-DOCTORS-CK1", (0.45, None), False),
    "ST-2030-DOCTORS-CK2": ("ratio", "ST-2025-DOCTORS-CK2", (0.1, None), False),
    "ST-2025-LABOUR-TRAINED": ("reported", None, (0.65, None), False),
    "ST-2025-LABOUR-CERTIFIED": ("reported", None, (0.3, None), False),
    "ST-2025-EMPLOYMENT-RATE": ("reported", None, (0.85, None), False),
    "ST-2030-LABOUR-TRAINED": ("reported", None, (0.7, None), False),
    "ST-2030-LABOUR-CERTIFIED": ("reported", None, (0.325, None), False),
    "ST-2030-EMPLOYMENT-RATE": ("reported", None, (0.9, None), False),
    "ST-2025-VOCATIONAL-EMPLOYED": ("reported", None, (1.0, None), False),
    "ST-2025-VOCATIONAL-ADVANTAGE-SECTORS": ("reported", None, (0.25, None), False),
    "ST-2025-JOBS-YEARLY": ("reported", None, (28000, None), False),
    "ST-2030-VOCATIONAL-ADVANTAGE-SECTORS": ("reported", None, (0.3, None), False),
    "ST-2030-JOBS-YEARLY": ("reported", None, (30000, None), False),
    "ST-2025-TOURISM-WORKERS-TRAINED": ("reported", None, (0.75, None), False),
    "ST-2030-TOURISM-WORKERS-TRAINED": ("reported", None, (0.8, None), False),
    # spec revision 2, points 8 and 12
    "ST-2030-ETHNIC-STAFF-LANGUAGE": ("ratio", "ST-2025-ETHNIC-STAFF-LANGUAGE", (1.0, None), False),
    "ST-2030-CONTACT-STAFF-LANGUAGE": ("ratio", "ST-2025-CONTACT-STAFF-LANGUAGE", (1.0, None), False),
    "ST-2025-POLITICAL-SCHOOL-LEVEL1": ("reported", None, (1, None), False),
}

# "bình quân hằng năm" (spec revision 2, point 10): the average of the yearly figures of these years
PERIOD_AVERAGE: dict[str, tuple[int, int]] = {"ST-2025-JOBS-YEARLY": (2021, 2025), "ST-2030-JOBS-YEARLY": (2026, 2030)}

COMPUTED_KINDS = ("ratio", "coverage", "per_capita", "flow_count")
REGISTRY_IDS = [i for i, t in TARGETS.items() if t[0] in COMPUTED_KINDS]
REPORTED_IDS = [i for i, t in TARGETS.items() if t[0] == "reported"]
QUALITATIVE_IDS = [i for i, t in TARGETS.items() if t[0] == "qualitative"]

FLOW_PERIOD = (date(2022, 1, 1), date(2025, 12, 31))
PER_N = 10000

# ───────────────────────── code orders (domain.md / codelists.yaml) ─────────────────────────
DEGREE = {"intermediate": 1, "college": 2, "bachelor": 3, "master": 4, "doctor": 5, "doctor_science": 6}
THEORY = {"so_cap": 1, "trung_cap": 2, "cao_cap": 3, "cu_nhan": 3}
STATE_MGMT = {"chuyen_vien": 1, "chuyen_vien_chinh": 2, "chuyen_vien_cao_cap": 3}
SPECIALTY = {"ck1": 1, "ck2": 2}
RANK = {"office_deputy": 1, "office_head": 2, "department_deputy": 3, "department_head": 4,
        "province_deputy": 5, "province_head": 6}
NOT_MINORITY = {"01", "55", "99"}
POSTGRAD_DEGREES = {"master", "doctor", "doctor_science"}
NOT_PUBLIC = {"doanh_nghiep", "hop_dong"}  # not the public sector (spec revision 2, point 11)
TEACHERS = {"teacher_preschool", "teacher_primary", "teacher_lower_secondary", "teacher_upper_secondary"}
STAFF_CATS = {"can_bo", "cong_chuc", "vien_chuc", "cap_xa_chuyen_trach", "cap_xa_cong_chuc"}

# Title standards: (degree at least, political theory at least, state management at least); None = no requirement.
Row = tuple[str | None, str | None, str | None]
RANK_ROWS: dict[str, Row] = {
    "office_deputy": ("bachelor", "trung_cap", "chuyen_vien"),
    "office_head": ("bachelor", "trung_cap", "chuyen_vien"),
    "department_deputy": ("bachelor", "cao_cap", "chuyen_vien_chinh"),
    "department_head": ("bachelor", "cao_cap", "chuyen_vien_chinh"),
    "province_deputy": ("bachelor", "cao_cap", "chuyen_vien_cao_cap"),
    "province_head": ("bachelor", "cao_cap", "chuyen_vien_cao_cap"),
}
OCCUPATION_ROWS: dict[str, Row] = {
    "teacher_preschool": ("college", None, None),
    "teacher_primary": ("bachelor", None, None),
    "teacher_lower_secondary": ("bachelor", None, None),
    "teacher_upper_secondary": ("bachelor", None, None),
    "lecturer_college": ("bachelor", None, None),
    "lecturer_political_school": ("bachelor", None, None),
    "lecturer_university": ("master", None, None),
    "doctor": ("bachelor", None, None),
    "nurse": ("college", None, None),
    "specialist": ("bachelor", None, None),
}
CATEGORY_ROWS: dict[str, Row] = {
    "cap_xa_chuyen_trach": ("intermediate", "so_cap", None),
    "cap_xa_cong_chuc": ("intermediate", "so_cap", None),
}


def _d(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def active(rec: dict[str, Any], on: date) -> bool:
    """start <= D and (end is null or D <= end): end dates are inclusive."""
    start, end = _d(rec["start"]), _d(rec.get("end"))
    assert start is not None
    return start <= on and (end is None or on <= end)


def awarded(rec: dict[str, Any], on: date) -> bool:
    day = _d(rec["awarded_on"])
    assert day is not None
    return day <= on


def age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def period_start(period: str) -> date:
    """First day of a statistic's period: a year from 1 January, a range from its first day, a date itself."""
    if len(period) == 4:
        return date(int(period), 1, 1)
    return date.fromisoformat(period.split("/")[0])


def band_met(value: Any, band: tuple[Any, Any] | None, strict: bool) -> bool:
    if band is None:
        return False
    low, _high = band  # spec revision 2: the band's min is a floor; a value above max has reached it too
    exact = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if low is not None:
        lo = Fraction(str(low))
        if exact < lo or (strict and exact == lo):
            return False
    return True


# ───────────────────────── the person as of D ─────────────────────────
class PersonOn:
    """One person's facts as of a day."""

    def __init__(self, rec: dict[str, Any], on: date, reg: Registry) -> None:
        self.rec, self.on, self.reg = rec, on, reg
        self.id: str = rec["external_id"]
        self.employments = [e for e in rec.get("employments") or [] if active(e, on)]
        self.employed = bool(self.employments)
        prim = [e for e in self.employments if e.get("primary", True)]
        self.primary: dict[str, Any] | None = prim[0] if prim else None
        # posts lie within employment: they count only while some employment is active; seats need no
        # employment (spec revision 2, point 3): a farmer delegate or a police member of a committee counts
        self.positions = [p for p in rec.get("positions") or [] if active(p, on)] if self.employed else []
        self.memberships = [m for m in rec.get("memberships") or [] if active(m, on) and reg.exists(m["body"], on)]

    # the primary employment
    @property
    def unit(self) -> str | None:
        return self.primary["org_unit"] if self.primary else None

    @property
    def category(self) -> str | None:
        return self.primary["category"] if self.primary else None

    @property
    def occupation(self) -> str | None:
        return self.primary.get("occupation") if self.primary else None

    def unit_attr(self, attr: str) -> Any:
        u = self.reg.units.get(self.unit) if self.unit else None
        return u.get(attr) if u else None

    # qualifications
    def _highest(self, name: str, order: dict[str, int]) -> int:
        """The highest ordered level held (noi_tru, a residency, has no place in the specialist order)."""
        return max((order[q["level"]] for q in self.rec.get(name) or [] if awarded(q, self.on) and q["level"] in order),
                   default=0)

    @property
    def degree(self) -> int:
        return self._highest("degrees", DEGREE)

    @property
    def theory(self) -> int:
        return self._highest("political_theory", THEORY)

    @property
    def state_mgmt(self) -> int:
        return self._highest("state_management", STATE_MGMT)

    @property
    def specialty(self) -> int:
        return self._highest("specialties", SPECIALTY)

    @property
    def foreign_level(self) -> int:
        return max((lang["level"] for lang in self.rec.get("languages") or []
                    if lang["kind"] == "foreign" and awarded(lang, self.on)), default=0)

    @property
    def age(self) -> int:
        birth = _d(self.rec["birth_date"])
        assert birth is not None
        return age(birth, self.on)

    @property
    def female(self) -> bool:
        return self.rec.get("gender") == "female"

    @property
    def minority(self) -> bool:
        eth = self.rec.get("ethnicity")
        return eth is not None and eth not in NOT_MINORITY

    @property
    def postgraduate(self) -> bool:
        residency = any(q["level"] == "noi_tru" and awarded(q, self.on) for q in self.rec.get("specialties") or [])
        return self.degree >= DEGREE["master"] or self.specialty >= SPECIALTY["ck1"] or residency

    @property
    def international(self) -> bool:
        abroad = any(d.get("country") is not None and d["country"] != "VN"
                     for d in self.rec.get("degrees") or [] if awarded(d, self.on))
        return abroad or self.foreign_level >= 4

    @property
    def ethnic_fluent(self) -> bool:
        return any(lang["kind"] == "ethnic_minority" and lang.get("fluent") is True and awarded(lang, self.on)
                   for lang in self.rec.get("languages") or [])

    @property
    def local_languages(self) -> set[str]:
        """The languages listed by the place of work (the primary unit) or any unit above it on D (decision 12)."""
        if self.unit is None:
            return set()
        return {lang for c in self.reg.chain(self.unit, self.on) for lang in self.reg.units[c].get("local_languages") or []}

    @property
    def fluent_at_place_of_work(self) -> bool:
        """Fluent in a local language of the place of work; where none is listed, in any minority language."""
        listed = self.local_languages
        return any(lang["kind"] == "ethnic_minority" and lang.get("fluent") is True and awarded(lang, self.on)
                   and (not listed or lang["language"] in listed) for lang in self.rec.get("languages") or [])

    @property
    def max_rank(self) -> int:
        return max((RANK[p["rank"]] for p in self.positions), default=0)

    def meets_row(self, row: Row | None) -> bool:
        if row is None:
            return True
        deg, theory, mgmt = row
        return ((deg is None or self.degree >= DEGREE[deg])
                and (theory is None or self.theory >= THEORY[theory])
                and (mgmt is None or self.state_mgmt >= STATE_MGMT[mgmt]))

    def meets_positions(self) -> bool:
        return all(self.meets_row(RANK_ROWS.get(p["rank"])) for p in self.positions)

    def meets_occupation(self) -> bool:
        return self.meets_row(OCCUPATION_ROWS.get(self.occupation or ""))

    def meets_category_degree(self) -> bool:
        """The degree of the category's row only ("văn hóa và chuyên môn": spec revision 2, point 7)."""
        row = CATEGORY_ROWS.get(self.category or "")
        return self.meets_row((row[0], None, None) if row else None)

    def meets_standard(self) -> bool:
        """Rows of every position held, and of the occupation and category of the primary employment."""
        return self.meets_positions() and self.meets_occupation() and self.meets_row(CATEGORY_ROWS.get(self.category or ""))


# ───────────────────────── the tree ─────────────────────────
class Registry:
    """Indexes over interchange records."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.units: dict[str, dict[str, Any]] = {u["code"]: u for u in data.get("org_units") or []}
        self.persons: list[dict[str, Any]] = list(data.get("persons") or [])
        self.statistics: list[dict[str, Any]] = list(data.get("statistics") or [])
        self._chains: dict[tuple[str, date], list[str]] = {}

    def exists(self, code: str, on: date) -> bool:
        u = self.units.get(code)
        if u is None:
            return False
        start, end = _d(u["valid_from"]), _d(u.get("valid_to"))
        assert start is not None
        return start <= on and (end is None or on <= end)

    def parent_on(self, code: str, on: date) -> str | None:
        links = [p["code"] for p in self.units[code].get("parents") or [] if active(p, on)]
        return links[0] if links else None

    def chain(self, code: str, on: date) -> list[str]:
        """`code` and its ancestors on `on`, through existing units; [] when `code` does not exist then."""
        key = (code, on)
        if key not in self._chains:
            out: list[str] = []
            cur: str | None = code
            while cur is not None and cur not in out and self.exists(cur, on):
                out.append(cur)
                cur = self.parent_on(cur, on)
            self._chains[key] = out
        return self._chains[key]

    def under(self, code: str | None, top: str, on: date) -> bool:
        return code is not None and top in self.chain(code, on)

    def children(self, code: str, on: date) -> list[str]:
        if not self.exists(code, on):
            return []
        return sorted(c for c in self.units if c != code and self.exists(c, on) and self.parent_on(c, on) == code)

    def statistic(self, code: str, unit: str, on: date) -> dict[str, Any] | None:
        found = [s for s in self.statistics if s["code"] == code and s["org_unit"] == unit and period_start(s["period"]) <= on]
        return max(found, key=lambda s: period_start(s["period"]), default=None)

    def persons_on(self, on: date) -> list[PersonOn]:
        return [PersonOn(p, on, self) for p in self.persons]


# ───────────────────────── indicator definitions ─────────────────────────
# A population definition maps a person on D to the units that anchor them in the population (empty: not
# in it); the share maps them to pass/fail.

Anchors = Callable[[PersonOn], list[str]]
Share = Callable[[PersonOn], bool]


def employees(pred: Callable[[PersonOn], bool]) -> Anchors:
    """Employment-based: anchored at the primary employment's unit."""
    return lambda p: [p.unit] if p.primary is not None and p.unit is not None and pred(p) else []


def position_holders(pred: Callable[[PersonOn, dict[str, Any]], bool]) -> Anchors:
    """Position-based: anchored at the unit of each qualifying position active on D."""
    return lambda p: [pos["org_unit"] for pos in p.positions if pred(p, pos)]


def members(kind: str, tier: str | None = None) -> Anchors:
    """Membership-based: anchored at each qualifying body."""
    def anchors(p: PersonOn) -> list[str]:
        out = []
        for m in p.memberships:
            body = p.reg.units[m["body"]]
            if body["kind"] == kind and (tier is None or body["tier"] == tier):
                out.append(m["body"])
        return out
    return anchors


def _unit(p: PersonOn, code: str) -> dict[str, Any]:
    return p.reg.units.get(code) or {}


def _occupation(*codes: str) -> Anchors:
    return employees(lambda p: p.occupation in codes)


def _pd_staff(p: PersonOn) -> bool:
    return (p.category in ("can_bo", "cong_chuc", "vien_chuc") and p.unit_attr("tier") in ("province", "district")
            and not (p.category == "vien_chuc" and p.unit_attr("sector") in ("education", "health")))


def _contact(p: PersonOn) -> bool:
    return p.unit is not None and any(_unit(p, c).get("ethnic_contact") for c in p.reg.chain(p.unit, p.on))


def _key_leaders(p: PersonOn) -> list[str]:
    held = position_holders(lambda _p, pos: bool(pos.get("key_leader")) and _unit(_p, pos["org_unit"]).get("tier") == "district")
    return held(p) + members("party_standing_committee", "district")(p)


_PD = employees(_pd_staff)
_LEADER_U40 = employees(lambda p: p.category in ("can_bo", "cong_chuc") and p.unit_attr("tier") in ("province", "district")
                        and p.max_rank >= RANK["office_deputy"] and p.age < 40)
_CITY_LEADERS = position_holders(lambda p, pos: RANK[pos["rank"]] >= RANK["department_deputy"]
                                 and _unit(p, pos["org_unit"]).get("tier") == "province")

RATIOS: dict[str, tuple[Anchors, Share]] = {
    "CT-2025-COLLEGE-LECTURER-PHD": (_occupation("lecturer_college"), lambda p: p.degree >= DEGREE["doctor"]),
    "CT-2025-UNIVERSITY-LECTURER-PHD": (_occupation("lecturer_university"), lambda p: p.degree >= DEGREE["doctor"]),
    "CT-2025-LEADER-U40-LANG4": (_LEADER_U40, lambda p: p.foreign_level >= 4),
    "CT-2025-LEADERS-MEET-STANDARDS": (position_holders(lambda p, pos: RANK[pos["rank"]] >= RANK["office_deputy"]),
                                       lambda p: p.meets_positions()),
    "CT-2030-CITY-LEADERS-U40": (_CITY_LEADERS, lambda p: p.age < 40),
    "CT-2030-CITY-LEADERS-INTERNATIONAL": (_CITY_LEADERS, lambda p: p.international),
    "CT-2030-DISTRICT-KEY-LEADERS-U40": (_key_leaders, lambda p: p.age < 40),
    "CT-2030-COMMUNE-CADRES-DEGREE": (employees(lambda p: p.category == "cap_xa_chuyen_trach"
                                                and p.unit_attr("tier") == "commune"),
                                      lambda p: p.degree >= DEGREE["college"] and p.theory >= THEORY["trung_cap"]),
    "CT-2030-WOMEN-PARTY-COMMITTEE": (members("party_executive_committee"), lambda p: p.female),
    "CT-2030-WOMEN-PEOPLES-COUNCIL": (members("peoples_council"), lambda p: p.female),
    "CT-2030-SOE-MANAGERS-INTERNATIONAL": (position_holders(lambda p, pos: _unit(p, pos["org_unit"]).get("kind") == "soe"),
                                           lambda p: p.international),
    "ST-2025-PD-STAFF-MEET-STANDARDS": (_PD, lambda p: p.meets_standard()),
    "ST-2025-PD-STAFF-POSTGRAD": (_PD, lambda p: p.postgraduate),
    "ST-2030-PD-STAFF-POSTGRAD": (employees(lambda p: p.category in STAFF_CATS and not (
                                      p.category == "vien_chuc" and p.unit_attr("sector") in ("education", "health"))),
                                  lambda p: p.postgraduate),
    "ST-2025-COMMUNE-STAFF-STANDARD": (employees(lambda p: p.category in ("cap_xa_chuyen_trach", "cap_xa_cong_chuc")),
                                       lambda p: p.rec.get("general_education") in ("12/12", "10/10")
                                       and p.meets_category_degree()),
    "ST-2025-PROVINCE-COMMITTEE-POSTGRAD": (members("party_executive_committee", "province"), lambda p: p.postgraduate),
    "ST-2025-STANDING-MANAGED-POSTGRAD": (members("management_list", "province"), lambda p: p.postgraduate),
    "ST-2025-DISTRICT-COMMITTEE-POSTGRAD": (members("party_executive_committee", "district"), lambda p: p.postgraduate),
    "ST-2025-OFFICE-LEADERS-POSTGRAD": (position_holders(lambda p, _pos: p.max_rank in (RANK["office_deputy"],
                                                                                         RANK["office_head"])),
                                        lambda p: p.postgraduate),
    "ST-2025-ETHNIC-STAFF-LANGUAGE": (employees(lambda p: p.category in STAFF_CATS and p.minority),
                                      lambda p: p.fluent_at_place_of_work),
    "ST-2025-CONTACT-STAFF-LANGUAGE": (employees(lambda p: p.category in STAFF_CATS and _contact(p)),
                                       lambda p: p.fluent_at_place_of_work),
    "ST-2025-TEACHERS-MEET-STANDARD": (_occupation(*sorted(TEACHERS)), lambda p: p.meets_occupation()),
    "ST-2025-POLITICAL-SCHOOL-MASTERS": (_occupation("lecturer_political_school"), lambda p: p.degree >= DEGREE["master"]),
    "ST-2025-POLITICAL-SCHOOL-PHD": (_occupation("lecturer_political_school"), lambda p: p.degree >= DEGREE["doctor"]),
    "ST-2025-COLLEGE-LECTURERS-STANDARD": (_occupation("lecturer_college"), lambda p: p.meets_occupation()),
    "ST-2025-COLLEGE-LECTURERS-MASTERS": (_occupation("lecturer_college"), lambda p: p.degree >= DEGREE["master"]),
    "ST-2025-COLLEGE-LECTURERS-PHD": (_occupation("lecturer_college"), lambda p: p.degree >= DEGREE["doctor"]),
    "ST-2030-UPPER-SECONDARY-TEACHERS-MASTERS": (_occupation("teacher_upper_secondary"), lambda p: p.degree >= DEGREE["master"]),
    "ST-2025-DOCTORS-CK1": (_occupation("doctor"), lambda p: p.specialty == SPECIALTY["ck1"]),
    "ST-2025-DOCTORS-CK2": (_occupation("doctor"), lambda p: p.specialty == SPECIALTY["ck2"]),
}

# targets set "at every level" (các cấp; disaggregate_by: tier of the body): spec revision 2, point 2
EVERY_LEVEL = frozenset({"CT-2030-WOMEN-PARTY-COMMITTEE", "CT-2030-WOMEN-PEOPLES-COUNCIL"})

PER_CAPITA: dict[str, str] = {"ST-2025-DOCTORS-PER-10K": "doctor", "ST-2025-NURSES-PER-10K": "nurse"}
# the area's own count, reported, when there is one (spec revision 2, point 9): private doctors included
AREA_COUNT: dict[str, str] = {"ST-2025-DOCTORS-PER-10K": "doctors", "ST-2025-NURSES-PER-10K": "nurses"}


def _woman_member(persons: list[PersonOn], body: str) -> bool:
    return any(p.female and any(m["body"] == body for m in p.memberships) for p in persons)


def _station_doctor(persons: list[PersonOn], station: str) -> bool:
    return any(p.unit == station and p.occupation == "doctor" for p in persons)


COVERAGE: dict[str, tuple[str, Callable[[list[PersonOn], str], bool]]] = {
    "CT-2030-WOMAN-IN-EVERY-STANDING-COMMITTEE": ("party_standing_committee", _woman_member),
    "ST-2025-COMMUNE-STATIONS-WITH-DOCTOR": ("commune_health_station", _station_doctor),
}


def base_id(indicator_id: str) -> str:
    return TARGETS[indicator_id][1] or indicator_id


# ───────────────────────── the oracle ─────────────────────────
@dataclass
class Detail:
    """What lies behind a figure: the counted persons (or units) and those that pass."""

    population: set[str]
    passing: set[str]


class Oracle:
    def __init__(self, registry: dict[str, Any] | Registry) -> None:
        self.reg = registry if isinstance(registry, Registry) else Registry(registry)
        self._persons: dict[date, list[PersonOn]] = {}
        self._anchors: dict[tuple[str, date], dict[str, list[str]]] = {}
        self._territories: dict[tuple[str, date], tuple[set[str], set[str]] | None] = {}

    # scope ---------------------------------------------------------------------------------------
    def territory(self, unit: str, on: date) -> tuple[set[str], set[str]] | None:
        """(units, shared units) of the territory of `unit` on `on` when it closed before `on` (None otherwise), by
        the words of domain.md ('Targets outlive the units they were set for'), computed the plain way: the units in
        its subtree on its last day; a successor (in force from the day after its predecessor's last day, so only
        of units closed before `on`) joins when *all* its predecessors (the units naming it) have joined,
        until nothing changes; the successors reachable but never joined are shared; both kept to units active on `on`."""
        key = (unit, on)
        if key not in self._territories:
            rec = self.reg.units.get(unit)
            last = _d(rec.get("valid_to")) if rec else None
            found: tuple[set[str], set[str]] | None = None
            if last is not None and last < on:
                units = self.reg.units

                def onward(code: str) -> list[str]:  # successors in force on `on`: their predecessor has closed
                    end = _d(units[code].get("valid_to"))
                    return list(units[code].get("successors") or []) if end is not None and end < on else []

                preds: dict[str, set[str]] = {}
                for code in units:
                    for succ in onward(code):
                        preds.setdefault(succ, set()).add(code)
                joined = {c for c in units if self.reg.under(c, unit, last)}
                reached, todo = set(joined), list(joined)
                while todo:
                    for succ in onward(todo.pop()):
                        if succ not in reached:
                            reached.add(succ)
                            todo.append(succ)
                grew = True
                while grew:
                    grew = False
                    for succ in sorted(reached - joined):
                        if preds.get(succ, set()) <= joined:
                            joined.add(succ)
                            grew = True
                found = ({c for c in joined if self.reg.exists(c, on)},
                         {c for c in reached - joined if self.reg.exists(c, on)})
            self._territories[key] = found
        return self._territories[key]

    def in_scope(self, code: str | None, unit: str, on: date) -> bool:
        """Whether `code` is in the scope of `unit` on `on`: under it, or in its territory once it has closed."""
        terr = self.territory(unit, on)
        if terr is None:
            return self.reg.under(code, unit, on)
        return code in terr[0]

    def persons_on(self, on: date) -> list[PersonOn]:
        if on not in self._persons:
            self._persons[on] = self.reg.persons_on(on)
        return self._persons[on]

    # populations -------------------------------------------------------------------------------
    def anchors(self, indicator_id: str, on: date) -> dict[str, list[str]]:
        """Person id -> the units anchoring them in the population of a ratio or per-capita indicator."""
        bid = base_id(indicator_id)
        if (bid, on) in self._anchors:
            return self._anchors[(bid, on)]
        if bid in RATIOS:
            fn = RATIOS[bid][0]
        elif bid in PER_CAPITA:
            fn = _occupation(PER_CAPITA[bid])
        else:
            raise KeyError(f"{indicator_id} has no person population")
        out = {}
        for p in self.persons_on(on):
            units = fn(p)
            if units:
                out[p.id] = units
        self._anchors[(bid, on)] = out
        return out

    def detail(self, indicator_id: str, unit: str, on: date) -> Detail:
        """The population (persons, units for coverage) of the indicator under `unit` on `on`, and who passes."""
        bid = base_id(indicator_id)
        if bid in COVERAGE:
            kind, passes = COVERAGE[bid]
            units = {c for c, u in self.reg.units.items() if u["kind"] == kind and self.in_scope(c, unit, on)}
            persons = self.persons_on(on)
            return Detail(units, {c for c in units if passes(persons, c)})
        if bid == "CT-2025-MASTERS-PHD-INFLOW":
            counted = self.inflow(unit, on)
            return Detail(counted, counted)
        anchors = self.anchors(bid, on)
        pop = {pid for pid, units in anchors.items() if any(self.in_scope(a, unit, on) for a in units)}
        if bid in PER_CAPITA:
            return Detail(pop, pop)
        share = RATIOS[bid][1]
        return Detail(pop, {p.id for p in self.persons_on(on) if p.id in pop and share(p)})

    def explain(self, indicator_id: str, pid: str, on: date) -> dict[str, Any]:
        """The facts the oracle used about one person (for mismatch reports)."""
        p = next((x for x in self.persons_on(on) if x.id == pid), None)
        if p is None:
            return {"person": pid, "missing": True}
        bid = base_id(indicator_id)
        facts: dict[str, Any] = {
            "person": pid, "age": p.age, "primary": p.primary, "employed": p.employed,
            "positions": [(x["org_unit"], x["rank"], x.get("key_leader")) for x in p.positions],
            "memberships": [x["body"] for x in p.memberships],
            "levels": {"degree": p.degree, "theory": p.theory, "state_mgmt": p.state_mgmt, "specialty": p.specialty,
                       "foreign": p.foreign_level},
        }
        if bid in RATIOS:
            facts["anchors"] = RATIOS[bid][0](p)
            facts["share"] = RATIOS[bid][1](p)
        elif bid in PER_CAPITA:
            facts["anchors"] = _occupation(PER_CAPITA[bid])(p)
        elif bid == "CT-2025-MASTERS-PHD-INFLOW":
            rec = next(r for r in self.reg.persons if r["external_id"] == pid)
            facts["events"] = [(d.isoformat(), u, why) for d, u, why in self.inflow_events(rec)]
        return facts

    def inflow_events(self, rec: dict[str, Any]) -> list[tuple[date, str, str]]:
        """(day, unit, why) of every event that may count, in or out of the period (decision 16)."""
        events: list[tuple[date, str, str]] = []
        emps = [e for e in rec.get("employments") or [] if e["category"] not in NOT_PUBLIC]
        degrees = [d for d in rec.get("degrees") or [] if d["level"] in POSTGRAD_DEGREES]
        for deg in degrees:
            day = _d(deg["awarded_on"])
            assert day is not None
            for e in emps:
                if e.get("primary", True) and active(e, day):
                    events.append((day, e["org_unit"], f"(a) {deg['level']} awarded {day}"))
        for e in emps:
            day = _d(e["start"])
            assert day is not None
            if any(_d(d["awarded_on"]) <= day for d in degrees):  # type: ignore[operator]
                events.append((day, e["org_unit"], f"(b) public employment starts {day}"))
        return events

    def attracted(self, rec: dict[str, Any], day: date, unit: str) -> bool:
        """Event (b) on `day` counts for `unit` unless the person worked under `unit` in the public sector the day
        before (tree of the day before), or left a unit that closed the day before (a reorganisation)."""
        before = day - timedelta(days=1)
        for e in rec.get("employments") or []:
            if not active(e, before):
                continue
            closed = _d(self.reg.units[e["org_unit"]].get("valid_to"))
            if closed == before:
                return False
            if e["category"] not in NOT_PUBLIC and self.reg.under(e["org_unit"], unit, before):
                return False
        return True

    def inflow(self, unit: str, on: date) -> set[str]:
        """Persons with an event for `unit` (tree of the event's day) or, once it has closed, for a unit of its
        territory (each judged for that unit)."""
        start, end = FLOW_PERIOD
        end = min(end, on)
        terr = self.territory(unit, on)
        scopes = [unit, *sorted(terr[0])] if terr is not None else [unit]
        out = set()
        for rec in self.reg.persons:
            for day, anchor, why in self.inflow_events(rec):
                if not start <= day <= end:
                    continue
                if any(self.reg.under(anchor, s, day) and (why.startswith("(a)") or self.attracted(rec, day, s))
                       for s in scopes):
                    out.add(rec["external_id"])
                    break
        return out

    # the figure ----------------------------------------------------------------------------------
    def evaluate(self, indicator_id: str, unit: str, on: date) -> dict[str, Any]:
        kind, _same, band, strict = TARGETS[indicator_id]
        if kind == "qualitative":
            return {"numerator": None, "denominator": None, "value": None, "status": "no_data"}
        if indicator_id in PERIOD_AVERAGE:
            return self.period_average(indicator_id, unit, on, band, strict)
        if kind == "reported":
            stat = self.reg.statistic(indicator_id, unit, on)
            if stat is None:
                return {"numerator": None, "denominator": None, "value": None, "status": "no_data"}
            value = stat["value"]
            return {"numerator": None, "denominator": None, "value": value,
                    "status": "met" if band_met(value, band, strict) else "not_met"}
        det = self.detail(indicator_id, unit, on)
        if kind == "flow_count":
            count = len(det.passing)
            return {"numerator": count, "denominator": None, "value": count,
                    "status": "met" if band_met(count, band, strict) else "not_met"}
        if kind == "per_capita":
            count = len(det.population)
            area = self.reg.statistic(AREA_COUNT[base_id(indicator_id)], unit, on)
            if area is not None:
                count = area["value"]
            stat = self.reg.statistic("population", unit, on)
            if stat is None or not stat["value"]:
                return {"numerator": count, "denominator": None if stat is None else stat["value"], "value": None,
                        "status": "no_data"}
            figure = stat["value"]
            exact = (Fraction(str(count)) if isinstance(count, float) else Fraction(count)) * PER_N / (
                Fraction(str(figure)) if isinstance(figure, float) else Fraction(figure))
            return {"numerator": count, "denominator": figure, "value": count * PER_N / figure,
                    "status": "met" if band_met(exact, band, strict) else "not_met"}
        num, den = len(det.passing), len(det.population)
        if den == 0:
            return {"numerator": num, "denominator": den, "value": None, "status": "no_data"}
        met = band_met(Fraction(num, den), band, strict)
        if base_id(indicator_id) in EVERY_LEVEL:  # decision 15: each tier with members must reach the floor
            met = met and all(band_met(Fraction(n, d), band, strict) for n, d in self.by_tier(indicator_id, unit, on).values())
        return {"numerator": num, "denominator": den, "value": num / den, "status": "met" if met else "not_met"}

    def period_average(self, indicator_id: str, unit: str, on: date, band: Any, strict: bool) -> dict[str, Any]:
        """The mean of the whole-year figures (`2023` or `2023-01-01/2023-12-31`) of the years begun by `on`."""
        first, last = PERIOD_AVERAGE[indicator_id]
        yearly: dict[int, Any] = {}
        for s in self.reg.statistics:
            if s["code"] != indicator_id or s["org_unit"] != unit:
                continue
            period = s["period"]
            year = int(period[:4])
            whole = period == str(year) or period == f"{year}-01-01/{year}-12-31"
            if whole and first <= year <= last and date(year, 1, 1) <= on:
                yearly[year] = s["value"]
        if not yearly:
            return {"numerator": None, "denominator": None, "value": None, "status": "no_data"}
        exact = sum((Fraction(str(v)) if isinstance(v, float) else Fraction(v) for v in yearly.values()), Fraction(0))
        mean = exact / len(yearly)
        return {"numerator": None, "denominator": None, "value": float(mean),
                "status": "met" if band_met(mean, band, strict) else "not_met"}

    def by_tier(self, indicator_id: str, unit: str, on: date) -> dict[Any, tuple[int, int]]:
        """(numerator, denominator) per tier of the anchoring body under `unit`: each person once per tier."""
        share = RATIOS[base_id(indicator_id)][1]
        persons = {p.id: p for p in self.persons_on(on)}
        tiers: dict[Any, set[str]] = {}
        for pid, units in self.anchors(indicator_id, on).items():
            for a in units:
                if self.in_scope(a, unit, on):
                    tiers.setdefault(self.reg.units[a].get("tier"), set()).add(pid)
        return {t: (sum(1 for pid in pids if share(persons[pid])), len(pids)) for t, pids in tiers.items()}


def evaluate(registry: dict[str, Any], indicator_id: str, org_unit: str, as_of: date) -> dict[str, Any]:
    """{"numerator", "denominator", "value", "status"} of one indicator for one unit on one day."""
    return Oracle(registry).evaluate(indicator_id, org_unit, as_of)


def persons_under(oracle: Oracle, ids: Iterable[str], unit: str, on: date) -> dict[str, Detail]:
    """Details of several indicators at once (for reports)."""
    return {i: oracle.detail(i, unit, on) for i in ids}
