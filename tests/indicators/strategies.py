"""Random small registries that live through the 2025 reform, as interchange records.

`generate(seed, persons=N)` builds one deterministically from a seed; `registries()` is the hypothesis
strategy over seeds and sizes.  Every record is valid for the import endpoints: codes from
codelists.yaml (valid on the record's date), at most one primary employment at a time, memberships only
in bodies and posts/employments only in other units, end >= start, every date on or after the birth date.

The tree: a central root VN; provinces CT (continues after the reform) and ST (closes 2025-06-30), each
with agencies, public-service units, bodies and districts; districts (tier district) with their units
and bodies close on 2025-06-30; communes either survive and are re-parented to CT on 2025-07-01 or
close and are replaced by new communes under CT.  Some ST agencies are re-parented to CT, the others
close.  Employments move with dates; a few posts outlive their employment and a few persons hold only
concurrent employments, to exercise the rules of the oracle's header.

Small builders (`unit`, `person`, `emp`, ...) for hand-written registries are at the bottom.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.indicators.oracle import REPORTED_IDS

REFORM_END = date(2025, 6, 30)
REFORM = date(2025, 7, 1)
KEY_DATES = [date(2021, 12, 31), date(2024, 12, 31), date(2025, 6, 30), date(2025, 7, 1), date(2025, 12, 31),
             date(2030, 12, 31)]
HORIZON = date(2031, 6, 30)
BODY_KINDS = {"party_executive_committee", "party_standing_committee", "peoples_council", "management_list", "planning_pool"}

SCHOOL_OCCUPATION = {
    "school_preschool": "teacher_preschool", "school_primary": "teacher_primary",
    "school_lower_secondary": "teacher_lower_secondary", "school_upper_secondary": "teacher_upper_secondary",
    "college": "lecturer_college", "university": "lecturer_university", "political_school": "lecturer_political_school",
}
HEALTH_KINDS = {"hospital", "health_center", "commune_health_station"}
OCCUPATIONS = ["specialist", "teacher_preschool", "teacher_primary", "teacher_lower_secondary", "teacher_upper_secondary",
               "lecturer_college", "lecturer_university", "lecturer_political_school", "doctor", "nurse", "pharmacist",
               "other_health", "other"]
RANKS = ["office_deputy", "office_head", "department_deputy", "department_head", "province_deputy", "province_head"]
COUNTRIES = ["VN", "VN", "VN", "VN", None, "FR", "US", "AU", "RU", "JP"]
ETHNICITIES = ["01", "01", "01", "01", "05", "05", "04", "02", "17", "55", "99", None]


def iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _rand_date(rng: random.Random, lo: date, hi: date) -> date:
    if hi <= lo:
        return lo
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def _interesting(rng: random.Random, lo: date, hi: date, extra: list[date] | None = None) -> date:
    """A date in [lo, hi], often on or next to a key date (edges are where the bugs are)."""
    pool = [k + timedelta(days=off) for k in KEY_DATES + (extra or []) for off in (-1, 0, 0, 1)]
    pool = [p for p in pool if lo <= p <= hi]
    if pool and rng.random() < 0.45:
        return rng.choice(pool)
    return _rand_date(rng, lo, hi)


class _Tree:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.units: dict[str, dict[str, Any]] = {}

    def add(self, code: str, kind: str, tier: str, sector: str, parents: list[tuple[str, date, date | None]],
            valid_from: date, valid_to: date | None = None, contact: bool | None = None) -> str:
        rng = self.rng
        self.units[code] = {
            "code": code, "name": f"Đơn vị {code}", "kind": kind, "tier": tier, "sector": sector,
            "ethnic_contact": contact if contact is not None else rng.random() < 0.15,
            "valid_from": iso(valid_from), "valid_to": iso(valid_to),
            "parents": [{"code": c, "start": iso(s), "end": iso(e)} for c, s, e in parents],
        }
        if rng.random() < 0.25:  # the languages of the area (spec revision 2, point 8), inherited below
            self.units[code]["local_languages"] = rng.choice([["km"], ["cmo"], ["cmo", "km"], ["tyz"]])
        return code

    def span(self, code: str) -> tuple[date, date | None]:
        u = self.units[code]
        return date.fromisoformat(u["valid_from"]), (date.fromisoformat(u["valid_to"]) if u["valid_to"] else None)

    def exists(self, code: str, on: date) -> bool:
        lo, hi = self.span(code)
        return lo <= on and (hi is None or on <= hi)


def _build_tree(rng: random.Random) -> tuple[_Tree, dict[str, list[str]]]:
    t = _Tree(rng)
    origin = date(2004, 1, 1)
    roles: dict[str, list[str]] = {"district": [], "commune": [], "body": [], "closed": [], "reparented": [], "station": []}
    t.add("VN", "area", "central", "state", [], date(1976, 1, 1), contact=False)

    def late(base: date) -> date:
        """Most units are old; some open during the period."""
        return base if rng.random() < 0.8 else _interesting(rng, date(2020, 1, 1), date(2025, 6, 1))

    def province(code: str, closes: bool) -> None:
        end = REFORM_END if closes else None
        t.add(code, "area", "province", "state", [("VN", origin, end)], origin, end)
        # (suffix, kind, sector) of the province-tier units below the area
        specs = [("SNV", "state_agency", "state"), ("SYT", "state_agency", "health"), ("SGD", "state_agency", "education"),
                 ("BTC", "party_agency", "party"), ("MT", "mass_org", "mass_org"), ("BV", "hospital", "health"),
                 ("CD", "college", "education"), ("TCT", "political_school", "party"),
                 ("THPT", "school_upper_secondary", "education"), ("DN", "soe", "soe"), ("SN", "public_service_other", "other")]
        if not closes:
            specs.append(("DH", "university", "education"))
        for suffix, kind, sector in specs:
            ucode = f"{code}-{suffix}"
            start = late(origin)
            if closes and rng.random() < 0.5:  # re-parented to the new city on the reform day
                t.add(ucode, kind, "province", sector, [(code, start, REFORM_END), ("CT", REFORM, None)], start)
                roles["reparented"].append(ucode)
            else:
                t.add(ucode, kind, "province", sector, [(code, start, end)], start, end)
                if closes:
                    roles["closed"].append(ucode)
            if kind in ("state_agency", "party_agency") and rng.random() < 0.6:  # an office below the agency
                sub = f"{ucode}-P1"
                ustart, uend = t.span(ucode)
                parents = [(ucode, ustart, uend)]
                t.add(sub, kind, "province", sector, parents, ustart, uend)
        # bodies of the province
        bodies = [("BCH", "party_executive_committee", "party"), ("HDND", "peoples_council", "state"),
                  ("DIEN", "management_list", "party"), ("QH", "planning_pool", "party")]
        for suffix, kind, sector in bodies:
            b = t.add(f"{code}-{suffix}", kind, "province", sector, [(code, origin, end)], origin, end)
            roles["body"].append(b)
        btv = t.add(f"{code}-BTV", "party_standing_committee", "province", "party", [(f"{code}-BCH", origin, end)], origin, end)
        roles["body"].append(btv)
        # a district-tier party committee directly under the province (the province agencies' committee):
        # "huyện và tương đương" by its own tier (spec revision 2, point 4)
        duk = t.add(f"{code}-DUK", "party_executive_committee", "district", "party", [(code, origin, end)], origin, end)
        roles["body"].append(duk)
        for i in range(1, rng.randint(1, 2) + 1):
            district(f"{code}-H{i}", code)

    def district(code: str, prov: str) -> None:
        start = late(origin)
        t.add(code, "area", "district", "state", [(prov, start, REFORM_END)], start, REFORM_END)
        roles["district"].append(code)
        for suffix, kind, sector in [("UB", "state_agency", "state"), ("PGD", "state_agency", "education"),
                                     ("TTYT", "health_center", "health"), ("THCS", "school_lower_secondary", "education")]:
            u = t.add(f"{code}-{suffix}", kind, "district", sector, [(code, start, REFORM_END)], start, REFORM_END)
            roles["closed"].append(u)
        district_bodies = [("BCH", "party_executive_committee"), ("BTV", "party_standing_committee"), ("HDND", "peoples_council")]
        for suffix, kind in district_bodies:
            b = t.add(f"{code}-{suffix}", kind, "district", "party", [(code, start, REFORM_END)], start, REFORM_END)
            roles["body"].append(b)
        for i in range(1, rng.randint(1, 2) + 1):
            commune(f"{code}-X{i}", code, start)

    def commune(code: str, dist: str, dist_start: date) -> None:
        start = max(late(origin), dist_start)
        survives = rng.random() < 0.65
        if survives:
            parents = [(dist, start, REFORM_END), ("CT", REFORM, None)]
            t.add(code, "area", "commune", "state", parents, start)
            roles["reparented"].append(code)
        else:
            t.add(code, "area", "commune", "state", [(dist, start, REFORM_END)], start, REFORM_END)
            roles["closed"].append(code)
        commune_units(code)
        roles["commune"].append(code)

    def commune_units(code: str) -> None:
        lo, hi = t.span(code)
        for suffix, kind, sector in [("UB", "state_agency", "state"), ("TYT", "commune_health_station", "health"),
                                     ("TH", "school_primary", "education"), ("MN", "school_preschool", "education")]:
            u = t.add(f"{code}-{suffix}", kind, "commune", sector, [(code, lo, hi)], lo, hi)
            if kind == "commune_health_station":
                roles["station"].append(u)
        for suffix, kind in [("BCH", "party_executive_committee"), ("HDND", "peoples_council")]:
            roles["body"].append(t.add(f"{code}-{suffix}", kind, "commune", "party", [(code, lo, hi)], lo, hi))
        roles["body"].append(t.add(f"{code}-BTV", "party_standing_committee", "commune", "party",
                                   [(f"{code}-BCH", lo, hi)], lo, hi))

    province("CT", closes=False)
    province("ST", closes=True)
    # new communes of the two-tier city
    for i in range(1, rng.randint(1, 2) + 1):
        code = f"CT-XM{i}"
        t.add(code, "area", "commune", "state", [("CT", REFORM, None)], REFORM)
        commune_units(code)
        roles["commune"].append(code)
    # successors (spec revision 2, point 5): closed communes merge into the new communes, some from both provinces
    # (a shared successor for Sóc Trăng), and a closed Sóc Trăng department may name the city's (wholly Sóc
    # Trăng's by the definition when no other unit names it); a district's closed units name nothing
    merged = [c for c in t.units if c.startswith("CT-XM") and t.units[c]["kind"] == "area"]
    for code in roles["closed"] + [c for c in roles["commune"] if t.units[c]["valid_to"] == iso(REFORM_END)]:
        u = t.units[code]
        if u["kind"] == "area" and u["tier"] == "commune" and merged and rng.random() < 0.7:
            u["successors"] = sorted({rng.choice(merged)})
        elif u["kind"] != "area" and u["tier"] == "province" and code.startswith("ST-") and rng.random() < 0.3:
            twin = "CT-" + code.removeprefix("ST-")
            if twin in t.units and t.units[twin]["valid_to"] is None:
                u["successors"] = [twin]
    # a few units close or open for reasons of their own
    for code in rng.sample(sorted(t.units), k=2):
        u = t.units[code]
        if code != "VN" and u["valid_to"] is None and u["kind"] not in BODY_KINDS and not _has_children(t, code):
            closing = _interesting(rng, date(2022, 1, 1), date(2030, 1, 1))
            if closing >= date.fromisoformat(u["valid_from"]):
                u["valid_to"] = iso(closing)
                for link in u["parents"]:
                    if link["end"] is None or link["end"] > iso(closing):
                        link["end"] = iso(closing)
                u["parents"] = [p for p in u["parents"] if p["start"] <= p["end"]]
    return t, roles


def _has_children(t: _Tree, code: str) -> bool:
    return any(p["code"] == code for u in t.units.values() for p in u["parents"])


# ───────────────────────── persons ─────────────────────────
def _category(rng: random.Random, unit: dict[str, Any], on: date) -> str:
    kind, tier = unit["kind"], unit["tier"]
    if rng.random() < 0.08:
        return rng.choice(["hop_dong", "khong_chuyen_trach"])
    if kind == "soe":
        return "doanh_nghiep"
    if tier == "commune":
        if on <= REFORM_END and kind in ("state_agency", "area"):
            return rng.choice(["cap_xa_chuyen_trach", "cap_xa_chuyen_trach", "cap_xa_cong_chuc", "khong_chuyen_trach"])
        return rng.choice(["cong_chuc", "can_bo"]) if kind == "state_agency" else "vien_chuc"
    if kind in ("state_agency", "party_agency", "mass_org"):
        return rng.choice(["can_bo", "cong_chuc", "cong_chuc"])
    return rng.choice(["vien_chuc", "vien_chuc", "vien_chuc", "cong_chuc"])


def _occupation(rng: random.Random, unit: dict[str, Any]) -> str | None:
    kind = unit["kind"]
    if rng.random() < 0.1:
        return rng.choice(OCCUPATIONS + [None])  # type: ignore[list-item]
    if kind in SCHOOL_OCCUPATION:
        return SCHOOL_OCCUPATION[kind]
    if kind in HEALTH_KINDS:
        return rng.choice(["doctor", "doctor", "nurse", "nurse", "pharmacist", "other_health"])
    if kind == "soe":
        return "other"
    return "specialist"


def _employable(t: _Tree, on: date) -> list[str]:
    return [c for c, u in t.units.items() if u["kind"] not in BODY_KINDS and c != "VN" and t.exists(c, on)]


def _person(rng: random.Random, t: _Tree, roles: dict[str, list[str]], n: int) -> dict[str, Any]:
    if rng.random() < 0.2:  # born so as to turn 40 on or about a key date
        birth = rng.choice(KEY_DATES[:-1]) + timedelta(days=rng.choice([-1, 0, 1]))
        birth = birth.replace(year=birth.year - 40) if not (birth.month == 2 and birth.day == 29) else birth
    else:
        birth = _rand_date(rng, date(1962, 1, 1), date(2000, 12, 31))
    adult = birth + timedelta(days=21 * 365 + 5)
    employments: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    spells: list[tuple[str, date, date | None]] = []
    cursor = _interesting(rng, max(adult, date(2000, 1, 1)), date(2026, 6, 30))
    while len(spells) < rng.randint(1, 3) and cursor <= HORIZON:
        choices = _employable(t, cursor)
        if not choices:
            break
        code = rng.choice(choices)
        unit = t.units[code]
        category = _category(rng, unit, cursor)
        end: date | None = None
        if rng.random() >= 0.4:
            end = _interesting(rng, cursor, cursor + timedelta(days=rng.randint(30, 3000)))
        _, unit_end = t.span(code)
        if unit_end is not None and (end is None or end > unit_end):
            end = unit_end
        if category.startswith("cap_xa") and (end is None or end > REFORM_END):
            end = REFORM_END
        occupation = None if category.startswith("cap_xa") and rng.random() < 0.5 else _occupation(rng, unit)
        employments.append({"org_unit": code, "category": category, "occupation": occupation,
                            "primary": True, "start": iso(cursor), "end": iso(end)})
        spells.append((code, cursor, end))
        if end is None or rng.random() < 0.2:
            break
        cursor = end + timedelta(days=1 if rng.random() < 0.7 else rng.randint(2, 400))
    # a concurrent employment, sometimes outside every primary one
    if employments and rng.random() < 0.2:
        s = _interesting(rng, adult, date(2030, 6, 30))
        choices = _employable(t, s)
        if choices:
            code = rng.choice(choices)
            e = None if rng.random() < 0.3 else _rand_date(rng, s, s + timedelta(days=1500))
            _, ue = t.span(code)
            if ue is not None and (e is None or e > ue):
                e = ue
            employments.append({"org_unit": code, "category": _category(rng, t.units[code], s),
                                "occupation": _occupation(rng, t.units[code]), "primary": False, "start": iso(s), "end": iso(e)})
            spells.append((code, s, e))
    # posts and seats within the spells (a few outlive their employment)
    for code, s, e in spells:
        if rng.random() < 0.5:
            unit = t.units[code]
            pstart = _interesting(rng, s, e or HORIZON)
            pend = e if rng.random() < 0.6 else (None if rng.random() < 0.15 else _rand_date(rng, pstart, e or HORIZON))
            tier = unit["tier"]
            ranks = RANKS[:2] if tier == "commune" else RANKS[:4] if tier == "district" else RANKS
            positions.append({"org_unit": code, "title": "Lãnh đạo", "rank": rng.choice(ranks),
                              "key_leader": rng.random() < 0.35, "start": iso(pstart), "end": iso(pend)})
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            bodies = [b for b in roles["body"] if t.exists(b, s) or (e is None or t.span(b)[0] <= e)]
            hot = [b for b in bodies if t.units[b]["tier"] != "commune" or t.units[b]["kind"] == "party_standing_committee"]
            if bodies:
                b = rng.choice(hot if hot and rng.random() < 0.6 else bodies)
                blo, bhi = t.span(b)
                mlo = max(s, blo)
                mhi_candidates = [x for x in (e, bhi) if x is not None]
                mhi = min(mhi_candidates) if mhi_candidates else None
                if mhi is None or mlo <= mhi:
                    mstart = _interesting(rng, mlo, mhi or HORIZON)
                    mend = mhi if rng.random() < 0.6 else _rand_date(rng, mstart, mhi or HORIZON)
                    memberships.append({"body": b, "role": rng.choice(["member", "member", "secretary", "deputy_secretary",
                                                                         "chair", "vice_chair", "delegate"]),
                                        "start": iso(mstart), "end": iso(mend)})
    starts = [s for _c, s, _e in spells]

    def when() -> str:
        d = _interesting(rng, adult - timedelta(days=1500), HORIZON, extra=starts)
        return iso(max(d, birth))  # type: ignore[return-value]

    degrees = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        degrees.append({"level": rng.choice(["intermediate", "college", "bachelor", "bachelor", "master", "master",
                                             "doctor", "doctor_science"]),
                        "field": "Ngành", "institution": "Trường", "country": rng.choice(COUNTRIES), "awarded_on": when()})
    languages: list[dict[str, Any]] = []
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        languages.append({"language": rng.choice(["en", "fr", "zh", "ru"]), "kind": "foreign",
                          "level": rng.randint(1, 6), "awarded_on": when()})
    if rng.random() < 0.3:
        languages.append({"language": rng.choice(["km", "cmo"]), "kind": "ethnic_minority", "fluent": rng.random() < 0.7,
                          "awarded_on": when()})
    theory = [{"level": rng.choice(["so_cap", "trung_cap", "cao_cap", "cu_nhan"]), "awarded_on": when()}
              for _ in range(rng.choice([0, 1, 1, 2]))]
    mgmt = [{"level": rng.choice(["chuyen_vien", "chuyen_vien_chinh", "chuyen_vien_cao_cap"]), "awarded_on": when()}
            for _ in range(rng.choice([0, 1, 1, 2]))]
    doctorish = any(e.get("occupation") == "doctor" for e in employments)
    specialties = [{"level": rng.choice(["ck1", "ck1", "ck2", "noi_tru"]), "field": "Nội", "awarded_on": when()}
                   for _ in range(rng.choice([0, 1, 1, 2] if doctorish else [0, 0, 0, 1]))]
    return {
        "external_id": f"P{n:04d}", "full_name": f"Nguyễn Văn {n}", "birth_date": iso(birth),
        "gender": rng.choice(["male", "female"]), "ethnicity": rng.choice(ETHNICITIES), "national_id": None,
        "party_member_since": None, "general_education": rng.choice(["12/12", "12/12", "9/12", "10/10", None]),
        "employments": employments, "positions": positions, "memberships": memberships, "degrees": degrees,
        "languages": languages, "political_theory": theory, "state_management": mgmt, "specialties": specialties,
        "academic_titles": [], "trainings": [],
    }


def _seat_only(rng: random.Random, t: _Tree, roles: dict[str, list[str]], n: int) -> dict[str, Any]:
    """A member never employed (a farmer delegate, a committee member from the police or the army): seats
    count without an employment (spec revision 2, point 3); a post of theirs does not."""
    rec = _person(rng, t, roles, n)
    rec["employments"], rec["memberships"], rec["positions"] = [], [], []
    adult = date.fromisoformat(rec["birth_date"]) + timedelta(days=21 * 365 + 5)
    for b in rng.sample(roles["body"], k=rng.randint(1, 2)):
        blo, bhi = t.span(b)
        blo = max(blo, adult)
        if bhi is not None and blo > bhi:
            continue
        mstart = _interesting(rng, blo, bhi or HORIZON)
        mend = bhi if rng.random() < 0.6 else _rand_date(rng, mstart, bhi or HORIZON)
        rec["memberships"].append({"body": b, "role": rng.choice(["member", "delegate", "secretary"]),
                                   "start": iso(mstart), "end": iso(mend)})
    if rng.random() < 0.3:
        code = rng.choice(_employable(t, date(2020, 1, 1)) or ["VN"])
        ulo, uhi = t.span(code)
        ulo = max(ulo, adult)
        if uhi is None or ulo <= uhi:
            pstart = _interesting(rng, ulo, uhi or HORIZON)
            rec["positions"] = [{"org_unit": code, "title": "Lãnh đạo", "rank": rng.choice(RANKS[:3]),
                                 "key_leader": rng.random() < 0.5, "start": iso(pstart), "end": iso(uhi)}]
    return rec


def _statistics(rng: random.Random, t: _Tree, roles: dict[str, list[str]]) -> list[dict[str, Any]]:
    stats = []
    areas = ["VN", "CT", "ST"] + roles["district"] + roles["commune"]
    for code in areas:
        if rng.random() < 0.2:
            continue
        periods = rng.sample(["2019", "2021-12-31", "2022", "2024", "2024-07-01/2025-06-30", "2025-07-01",
                              "2025-07-02/2025-12-31", "2026", "2030-12-31"], k=rng.randint(1, 4))
        starts_seen: set[str] = set()
        for period in periods:
            start = period[:4] + "-01-01" if len(period) == 4 else period[:10]
            if start in starts_seen:
                continue
            starts_seen.add(start)
            stats.append({"code": "population", "org_unit": code, "period": period,
                          "value": rng.choice([rng.randint(800, 6000), rng.randint(5000, 2_000_000)]), "source": "Cục Thống kê"})
    for ind in rng.sample(REPORTED_IDS, k=4):
        for code in rng.sample(["CT", "ST", "VN"], k=2):
            for year in rng.sample(["2022", "2024", "2025", "2030"], k=2):
                stats.append({"code": ind, "org_unit": code, "period": year,
                              "value": rng.choice([rng.random(), rng.randint(0, 40000)]), "source": "Báo cáo"})
    # the area's own doctors and nurses, private ones included (spec revision 2, point 9)
    for code in rng.sample(areas, k=min(3, len(areas))):
        for stat in rng.sample(["doctors", "nurses"], k=rng.randint(1, 2)):
            stats.append({"code": stat, "org_unit": code, "period": rng.choice(["2021", "2024", "2025-06-30"]),
                          "value": rng.randint(0, 3000), "source": "Sở Y tế"})
    # yearly jobs figures, some years missing, one not a whole year (spec revision 2, point 10)
    for ind in ("ST-2025-JOBS-YEARLY", "ST-2030-JOBS-YEARLY"):
        for code in rng.sample(["CT", "ST"], k=rng.randint(0, 2)):
            years = rng.sample(["2020", "2021", "2022", "2023-01-01/2023-12-31", "2024-07-01/2025-06-30", "2025",
                                "2026", "2027", "2030"], k=rng.randint(1, 5))
            stats += [{"code": ind, "org_unit": code, "period": y, "value": rng.randint(20000, 35000), "source": "Sở LĐTBXH"}
                      for y in years if not any(x["code"] == ind and x["org_unit"] == code and x["period"] == y for x in stats)]
    return stats


def generate(seed: int, persons: int = 40) -> dict[str, Any]:
    """A registry (interchange records) from a seed."""
    rng = random.Random(seed)
    t, roles = _build_tree(rng)
    people = [_person(rng, t, roles, n) for n in range(1, persons + 1)]
    people = [p for p in people if p["employments"] or rng.random() < 0.5]
    people += [_seat_only(rng, t, roles, n) for n in range(persons + 1, persons + 1 + rng.randint(1, max(1, persons // 8)))]
    return {"org_units": _ordered_units(t.units), "persons": people, "statistics": _statistics(rng, t, roles),
            "roles": roles}


def _ordered_units(units: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children, for importing."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(code: str) -> None:
        if code in seen:
            return
        seen.add(code)
        for p in units[code]["parents"]:
            visit(p["code"])
        out.append(units[code])

    for code in units:
        visit(code)
    return out


def registries(max_persons: int = 40) -> st.SearchStrategy[dict[str, Any]]:
    """Hypothesis strategy: registries from seeds and sizes."""
    return st.builds(generate, st.integers(0, 2**31 - 1), st.integers(0, max_persons))


def interesting_units(reg: dict[str, Any], rng: random.Random | None = None) -> list[str]:
    """Units worth evaluating: the root, both provinces, a district, communes (re-parented and new), a body,
    a unit closed at the reform, a commune health station."""
    rng = rng or random.Random(0)
    roles = reg["roles"]
    units = {u["code"]: u for u in reg["org_units"]}
    picks = ["VN", "CT", "ST"]
    picks.append(rng.choice(roles["district"]))
    reparented = [c for c in roles["reparented"] if units[c]["kind"] == "area"]
    if reparented:
        picks.append(rng.choice(reparented))
    new = [c for c in roles["commune"] if c.startswith("CT-XM")]
    if new:
        picks.append(rng.choice(new))
    picks.append(rng.choice(roles["body"]))
    closed = [c for c in roles["closed"] if units[c]["kind"] != "area"]
    if closed:
        picks.append(rng.choice(closed))
    merged_away = [c for c in roles["closed"] if units[c]["kind"] == "area" and units[c].get("successors")]
    if merged_away:  # a commune merged into a new one: its territory on later dates (spec revision 2, point 5)
        picks.append(rng.choice(merged_away))
    if roles["station"]:
        picks.append(rng.choice(roles["station"]))
    others = [c for c in roles["reparented"] if units[c]["kind"] != "area"]
    if others:
        picks.append(rng.choice(others))
    return list(dict.fromkeys(picks))


# ───────────────────────── builders for hand-written registries ─────────────────────────
def unit(code: str, kind: str = "state_agency", tier: str = "province", sector: str = "state", *,
         parents: list[tuple[str, str, str | None]] | None = None, parent: str | None = None,
         valid_from: str = "2000-01-01", valid_to: str | None = None, ethnic_contact: bool = False,
         local_languages: list[str] | None = None) -> dict[str, Any]:
    links = parents if parents is not None else ([(parent, valid_from, valid_to)] if parent else [])
    return {"code": code, "name": code, "kind": kind, "tier": tier, "sector": sector, "ethnic_contact": ethnic_contact,
            "valid_from": valid_from, "valid_to": valid_to,
            "parents": [{"code": c, "start": s, "end": e} for c, s, e in links]} | (
        {"local_languages": local_languages} if local_languages is not None else {})


def emp(org_unit: str, category: str = "cong_chuc", occupation: str | None = "specialist", *, primary: bool = True,
        start: str = "2010-01-01", end: str | None = None) -> dict[str, Any]:
    return {"org_unit": org_unit, "category": category, "occupation": occupation, "primary": primary, "start": start, "end": end}


def pos(org_unit: str, rank: str = "office_deputy", *, key_leader: bool = False, start: str = "2015-01-01",
        end: str | None = None) -> dict[str, Any]:
    return {"org_unit": org_unit, "title": "Lãnh đạo", "rank": rank, "key_leader": key_leader, "start": start, "end": end}


def seat(body: str, *, role: str = "member", start: str = "2015-01-01", end: str | None = None) -> dict[str, Any]:
    return {"body": body, "role": role, "start": start, "end": end}


def person(pid: str, *, birth: str = "1980-01-01", gender: str = "male", ethnicity: str | None = "01",
           general_education: str | None = "12/12", employments: list[dict[str, Any]] | None = None,
           positions: list[dict[str, Any]] | None = None, memberships: list[dict[str, Any]] | None = None,
           degrees: list[dict[str, Any]] | None = None, languages: list[dict[str, Any]] | None = None,
           political_theory: list[dict[str, Any]] | None = None, state_management: list[dict[str, Any]] | None = None,
           specialties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"external_id": pid, "full_name": f"Người {pid}", "birth_date": birth, "gender": gender, "ethnicity": ethnicity,
            "national_id": None, "party_member_since": None, "general_education": general_education,
            "employments": employments or [], "positions": positions or [], "memberships": memberships or [],
            "degrees": degrees or [], "languages": languages or [], "political_theory": political_theory or [],
            "state_management": state_management or [], "specialties": specialties or [], "academic_titles": [],
            "trainings": []}


def degree(level: str, awarded_on: str = "2005-06-01", country: str | None = "VN") -> dict[str, Any]:
    return {"level": level, "field": "Ngành", "institution": "Trường", "country": country, "awarded_on": awarded_on}


def level(code: str, awarded_on: str = "2005-06-01") -> dict[str, Any]:
    return {"level": code, "awarded_on": awarded_on}


def foreign(lvl: int, awarded_on: str = "2005-06-01", language: str = "en") -> dict[str, Any]:
    return {"language": language, "kind": "foreign", "level": lvl, "awarded_on": awarded_on}


def ethnic(fluent: bool = True, awarded_on: str = "2005-06-01", language: str = "km") -> dict[str, Any]:
    return {"language": language, "kind": "ethnic_minority", "fluent": fluent, "awarded_on": awarded_on}


def stat(code: str, org_unit: str, period: str, value: float) -> dict[str, Any]:
    return {"code": code, "org_unit": org_unit, "period": period, "value": value, "source": "test"}


def registry(units: list[dict[str, Any]], persons: list[dict[str, Any]] | None = None,
             statistics: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"org_units": units, "persons": persons or [], "statistics": statistics or []}
