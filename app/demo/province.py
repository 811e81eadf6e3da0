"""A realistic, deterministic province registry in interchange form (spec/interchange.md).

`build_province(seed=1, persons=1000, prefix="ST")` returns ``{"org_units": [...], "persons": [...],
"statistics": [...]}``: lists of interchange dicts, ready for ``ndjson()`` and ``POST /imports/{kind}``.
The same arguments always give the same data (a seeded ``random.Random``; no clock is read).

The province lives through the 2025 reform (``LAST_DAY`` 2025-06-30, ``FIRST_DAY`` 2025-07-01).
Codes, with ``P`` = prefix, ``d`` = 1..4 and ``c`` = 1..3:

* ``P`` — the province (area, tier province), open.
* Province units (parent ``P`` or a department): ``P-TU`` provincial party committee office, ``P-BTC``
  its organisation board, ``P-UBND``, ``P-SNV`` home affairs, ``P-SYT`` health, ``P-SGD`` education,
  ``P-BDT`` ethnic affairs (ethnic_contact), ``P-MTTQ`` front; ``P-BVDK`` hospital, ``P-CDYT`` college,
  ``P-TCT`` political school, ``P-THPT1``/``P-THPT2`` upper-secondary schools, ``P-XSKT`` state-owned
  enterprise; ``P-TTYT{d}`` regional health centres opened on FIRST_DAY.
* Province bodies (parent ``P``): ``P-BCH`` party executive committee, ``P-BTV`` standing committee,
  ``P-HDND`` People's Council, ``P-DIEN`` cadre management list, ``P-QH`` planning pool
  (for the chair of ``P-UBND``, term 2025-2030) and ``P-QH-SNV``/``-SYT``/``-SGD`` (for those departments' directors),
  each with three candidates (``P-QH`` a fourth, which its check reports).
* Districts ``P-H{d}`` (tier district) with ``P-H{d}-HU`` party committee office, ``P-H{d}-UB`` people's
  committee, ``P-H{d}-TTYT`` health centre and body ``P-H{d}-BCH`` (district party executive committee):
  all close on LAST_DAY. District 2's communes are ethnic_contact.
* Communes ``P-H{d}-X{c}`` with ``-UB``, ``-DU`` (commune agencies), ``-TYT`` health station, ``-MN``,
  ``-TH``, ``-THCS`` schools. Communes X1 and X2 close on LAST_DAY with their agencies and merge into the
  new commune ``P-H{d}-M`` (parent ``P`` from FIRST_DAY; ``-UB``, ``-DU`` and body ``-BCH``); their
  stations and schools are re-parented to it. Commune X3 is re-parented from its district to ``P``.

Persons ``P-P000001``...: Vietnamese names with diacritics (Kinh 01, Khmer 05, Hoa 04), aged 22-60 at the
end of 2025, employed where their occupation belongs (teachers in schools, doctors and nurses in the
hospital, health centres and stations, lecturers in the college and political school, specialists in
agencies). The first persons head each unit (positions, key leaders), later hires fill the deputy posts.
Employments in closing units and commune categories (cap_xa_*) end on LAST_DAY and continue in the
successor unit (or the same commune, as cong_chuc) from FIRST_DAY. A few persons left in 2022-2024, each
with a separation (retirement, resignation, transfer out, dismissal, death); a few have a discipline or
an end of party membership, an IELTS score beside their level or political theory by equivalence. Every
record type appears: concurrent employments, memberships of every body kind, degrees (some abroad),
foreign and ethnic-minority languages, political theory, state management, specialties ck1/ck2, academic
titles pgs/gs, IT skills, trainings, national ids and party membership. Optional keys and empty lists are
sometimes left out, as a source system would (an export adds them back as null or []). Statistics:
``population`` of every area for each year 2021-2025 it was open (the new communes: the date 2025-07-01) and
``labour_trained_share`` of the province (fractions), one of them for a range of dates.

The result is plain data: callers may filter or edit it (e.g. take ``persons[:50]``) before importing.
"""

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

Record = dict[str, Any]

OPENED = date(2004, 1, 1)
LAST_DAY = date(2025, 6, 30)
FIRST_DAY = date(2025, 7, 1)
HORIZON = date(2025, 12, 31)
BCH_TERM = date(2020, 10, 15)
DISTRICT_BCH_TERM = date(2020, 8, 1)
HDND_TERM = date(2021, 6, 1)
PLANNING = date(2022, 3, 1)
REVIEWED = date(2024, 12, 31)  # the planning pools' annual review that took the later candidates out
PROVINCE = "Sóc Trăng"
DISTRICTS = (
    ("Mỹ Xuyên", ("Tham Đôn", "Đại Tâm", "Hòa Tú 1")),
    ("Trần Đề", ("Lịch Hội Thượng", "Trung Bình", "Đại Ân 2")),
    ("Long Phú", ("Châu Khánh", "Phú Hữu", "Long Đức")),
    ("Thạnh Trị", ("Lâm Tân", "Thạnh Tân", "Vĩnh Lợi")),
)

LADDERS: dict[str, list[tuple[str, str, bool]]] = {
    "province_party": [("Bí thư Tỉnh ủy", "province_head", True), ("Phó Bí thư Thường trực Tỉnh ủy", "province_deputy", True),
                       ("Phó Bí thư Tỉnh ủy", "province_deputy", True), ("Chánh Văn phòng Tỉnh ủy", "department_head", False),
                       ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "province_gov": [("Chủ tịch UBND tỉnh", "province_head", True), ("Phó Chủ tịch UBND tỉnh", "province_deputy", False),
                     ("Phó Chủ tịch UBND tỉnh", "province_deputy", False),
                     ("Chánh Văn phòng UBND tỉnh", "department_head", False),
                     ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "department": [("Giám đốc Sở", "department_head", False), ("Phó Giám đốc Sở", "department_deputy", False),
                   ("Phó Giám đốc Sở", "department_deputy", False), ("Trưởng phòng", "office_head", False),
                   ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "board": [("Trưởng Ban", "department_head", False), ("Phó Trưởng Ban", "department_deputy", False),
              ("Phó Trưởng Ban", "department_deputy", False), ("Trưởng phòng", "office_head", False),
              ("Phó Trưởng phòng", "office_deputy", False)],
    "service": [("Giám đốc", "department_deputy", False), ("Phó Giám đốc", "office_head", False),
                ("Trưởng khoa", "office_head", False), ("Phó Trưởng khoa", "office_deputy", False)],
    "school": [("Hiệu trưởng", "office_head", False), ("Phó Hiệu trưởng", "office_deputy", False)],
    "district_party": [("Bí thư Huyện ủy", "department_head", True), ("Phó Bí thư Huyện ủy", "department_deputy", False),
                       ("Chánh Văn phòng Huyện ủy", "office_head", False)],
    "district_gov": [("Chủ tịch UBND huyện", "department_head", True), ("Phó Chủ tịch UBND huyện", "department_deputy", False),
                     ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "health_center": [("Giám đốc Trung tâm Y tế", "office_head", False), ("Phó Giám đốc", "office_deputy", False)],
    "commune_party": [("Bí thư Đảng ủy xã", "office_head", True), ("Phó Bí thư Đảng ủy xã", "office_deputy", False)],
    "commune_gov": [("Chủ tịch UBND xã", "office_head", False), ("Phó Chủ tịch UBND xã", "office_deputy", False)],
    "station": [("Trạm trưởng", "office_deputy", False)],
    "soe": [("Chủ tịch Công ty", "department_deputy", False), ("Phó Giám đốc", "office_head", False)],
}
PROFILES: dict[str, list[tuple[str, str, int]]] = {  # staff mix: occupation, category, weight
    "agency": [("specialist", "cong_chuc", 9), ("other", "hop_dong", 1)],
    "commune_agency": [("specialist", "cap_xa_cong_chuc", 6), ("specialist", "cap_xa_chuyen_trach", 3),
                       ("other", "khong_chuyen_trach", 2)],
    "hospital": [("doctor", "vien_chuc", 35), ("nurse", "vien_chuc", 45), ("pharmacist", "vien_chuc", 10),
                 ("other_health", "vien_chuc", 7), ("other", "hop_dong", 3)],
    "station": [("doctor", "vien_chuc", 3), ("nurse", "vien_chuc", 5), ("other_health", "vien_chuc", 2)],
    "college": [("lecturer_college", "vien_chuc", 9), ("other", "hop_dong", 1)],
    "political_school": [("lecturer_political_school", "vien_chuc", 1)],
    "school_preschool": [("teacher_preschool", "vien_chuc", 9), ("other", "hop_dong", 1)],
    "school_primary": [("teacher_primary", "vien_chuc", 1)],
    "school_lower_secondary": [("teacher_lower_secondary", "vien_chuc", 1)],
    "school_upper_secondary": [("teacher_upper_secondary", "vien_chuc", 1)],
    "soe": [("other", "doanh_nghiep", 1)],
}
RANKS = ("office_deputy", "office_head", "department_deputy", "department_head", "province_deputy", "province_head")

KINH_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương")
KINH_MIDDLE = {"male": ("Văn", "Hữu", "Minh", "Quốc", "Thanh", "Đức", "Công"), "female": ("Thị", "Ngọc", "Thu", "Kim", "Mỹ")}
KINH_GIVEN = {"male": ("An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quang", "Sơn", "Tâm",
                       "Thắng", "Trung", "Tuấn", "Việt", "Đạt", "Lộc"),
              "female": ("Đào", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương", "Thảo",
                         "Trang", "Tuyết", "Vy", "Yến", "Ánh", "Diễm")}
KHMER_FAMILY = ("Thạch", "Sơn", "Kim", "Danh", "Lâm", "Lý", "Trịnh")
KHMER_GIVEN = {"male": ("Sa Rây", "Sô Phon", "Sóc Kha", "Chanh Đa", "Sà Rương", "Kha Ly", "Đa Ra", "Sơ Ny"),
               "female": ("Thị Sa Rây", "Thị Sô Phi", "Thị Chanh Thu", "Thị Mỹ Phượng", "Thị Sà Ly", "Thị Ngọc Hân")}
HOA_FAMILY = ("Lý", "Quách", "Tăng", "Lưu", "Mã", "Diệp", "Trương")
HOA_MIDDLE = {"male": ("Chí", "Văn", "Kiến"), "female": ("Thị", "Mỹ", "Tú")}

VN_SCHOOLS = {
    "specialist": ("Học viện Hành chính Quốc gia", ("Quản lý công", "Luật", "Kinh tế", "Hành chính học")),
    "doctor": ("Trường Đại học Y Dược Cần Thơ", ("Y đa khoa", "Nội khoa", "Ngoại khoa", "Nhi khoa")),
    "nurse": ("Trường Cao đẳng Y tế Sóc Trăng", ("Điều dưỡng",)),
    "pharmacist": ("Trường Đại học Y Dược Cần Thơ", ("Dược học",)),
    "teacher": ("Trường Đại học Cần Thơ", ("Sư phạm Toán", "Sư phạm Ngữ văn", "Sư phạm Tiếng Anh", "Giáo dục Tiểu học")),
    "lecturer": ("Học viện Chính trị quốc gia Hồ Chí Minh", ("Xây dựng Đảng và chính quyền nhà nước", "Triết học")),
    "other": ("Trường Đại học Cần Thơ", ("Công nghệ thông tin", "Nông học", "Kế toán")),
}
ABROAD = (("AU", "University of Melbourne"), ("FR", "Université de Bordeaux"), ("JP", "Hiroshima University"),
          ("GB", "University of Leeds"), ("RU", "Moscow State University"), ("TH", "Kasetsart University"))
TRAININGS = (("Bồi dưỡng lãnh đạo, quản lý cấp phòng", 120), ("Bồi dưỡng kiến thức quốc phòng và an ninh", 80),
             ("Bồi dưỡng ngạch chuyên viên chính", 240), ("Bồi dưỡng kỹ năng chuyển đổi số", 40),
             ("Bồi dưỡng công tác dân tộc", None))


@dataclass
class Unit:
    code: str
    record: Record
    ladder: str | None = None
    profile: str | None = None
    weight: int = 0
    successor: str | None = None  # where its staff continue from FIRST_DAY (itself when it stays)
    new: bool = False  # opens on FIRST_DAY
    district: int | None = None


@dataclass
class Job:
    unit: Unit
    occupation: str
    category: str
    rung: int | None  # index in the unit's ladder, None for staff without a post


@dataclass
class Person:
    record: Record
    birth: date
    left_on: date | None = None
    posts: list[tuple[Unit, str, str, bool, date, date | None]] = field(default_factory=list)


def build_province(seed: int = 1, persons: int = 1000, prefix: str = "ST") -> dict[str, list[Record]]:
    """The whole registry of one province: org units, persons and statistics (see the module docstring)."""
    builder = _Province(random.Random(seed), prefix)
    people = [builder.person(i) for i in range(persons)]
    builder.guarantee_titles(people)
    return {"org_units": [u.record for u in builder.units.values()], "persons": [p.record for p in people],
            "statistics": builder.statistics()}


def ndjson(records: list[Record]) -> str:
    """Records as a JSON Lines body."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


SEPARATION_REASONS = ("retirement", "resignation", "transfer_out", "dismissal", "death")
DISCIPLINE_FORMS = ("khien_trach", "canh_cao", "cach_chuc")


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _years(day: date, years: int) -> date:
    return day.replace(year=day.year + years, day=min(day.day, 28))


class _Province:
    def __init__(self, rng: random.Random, prefix: str):
        self.rng, self.p = rng, prefix
        self.units: dict[str, Unit] = {}
        self.hired: Counter[str] = Counter()
        self.candidates: list[int] = []  # planning-pool candidates so far (_pool_seat)
        self._build_units()
        self.staffed = [u for u in self.units.values() if u.weight and not u.new]

    # ----- org units -----
    def _add(self, suffix: str, name: str, kind: str, tier: str, sector: str, parents: Sequence[tuple[str, date, date | None]],
             *, valid_from: date = OPENED, valid_to: date | None = None, ethnic_contact: bool = False, **extra: Any) -> Unit:
        code = f"{self.p}{suffix}"
        record: Record = {"code": code, "name": name, "kind": kind, "tier": tier, "sector": sector,
                          "ethnic_contact": ethnic_contact, "valid_from": _iso(valid_from), "valid_to": _iso(valid_to),
                          "parents": [{"code": c, "start": _iso(s), "end": _iso(e)} for c, s, e in parents]}
        unit = Unit(code, record, **extra)
        self.units[code] = unit
        return unit

    def _build_units(self) -> None:
        p, root = self.p, [(self.p, OPENED, None)]
        self._add("", f"Tỉnh {PROVINCE}", "area", "province", "state", [])
        self._add("-TU", f"Văn phòng Tỉnh ủy {PROVINCE}", "party_agency", "province", "party", root,
                  ladder="province_party", profile="agency", weight=6)
        self._add("-BTC", "Ban Tổ chức Tỉnh ủy", "party_agency", "province", "party", [(f"{p}-TU", OPENED, None)],
                  ladder="board", profile="agency", weight=4)
        self._add("-UBND", f"Ủy ban nhân dân tỉnh {PROVINCE}", "state_agency", "province", "state", root,
                  ladder="province_gov", profile="agency", weight=6)
        for suffix, name, sector in (("-SNV", "Sở Nội vụ", "state"), ("-SYT", "Sở Y tế", "health"),
                                     ("-SGD", "Sở Giáo dục và Đào tạo", "education")):
            self._add(suffix, f"{name} tỉnh {PROVINCE}", "state_agency", "province", sector, [(f"{p}-UBND", OPENED, None)],
                      ladder="department", profile="agency", weight=5)
        self._add("-BDT", "Ban Dân tộc tỉnh", "state_agency", "province", "state", [(f"{p}-UBND", OPENED, None)],
                  ethnic_contact=True, ladder="board", profile="agency", weight=3)
        self._add("-MTTQ", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh", "mass_org", "province", "mass_org", root,
                  ladder="board", profile="agency", weight=3)
        self._add("-BVDK", f"Bệnh viện Đa khoa tỉnh {PROVINCE}", "hospital", "province", "health", [(f"{p}-SYT", OPENED, None)],
                  ladder="service", profile="hospital", weight=14)
        self._add("-CDYT", f"Trường Cao đẳng Y tế {PROVINCE}", "college", "province", "education", [(f"{p}-UBND", OPENED, None)],
                  ladder="service", profile="college", weight=4)
        self._add("-TCT", f"Trường Chính trị tỉnh {PROVINCE}", "political_school", "province", "party",
                  [(f"{p}-TU", OPENED, None)], ladder="service", profile="political_school", weight=3)
        for n in (1, 2):
            self._add(f"-THPT{n}", f"Trường THPT số {n} {PROVINCE}", "school_upper_secondary", "province", "education",
                      [(f"{p}-SGD", OPENED, None)], ladder="school", profile="school_upper_secondary", weight=5)
        self._add("-XSKT", "Công ty TNHH MTV Xổ số kiến thiết", "soe", "province", "soe", [(f"{p}-UBND", OPENED, None)],
                  ladder="soe", profile="soe", weight=2)
        for suffix, name, kind, sector in (("-BCH", "Ban Chấp hành Đảng bộ tỉnh", "party_executive_committee", "party"),
                                           ("-BTV", "Ban Thường vụ Tỉnh ủy", "party_standing_committee", "party"),
                                           ("-HDND", "Hội đồng nhân dân tỉnh", "peoples_council", "state"),
                                           ("-DIEN", "Cán bộ diện Ban Thường vụ Tỉnh ủy quản lý", "management_list", "party"),
                                           ("-QH", "Quy hoạch cán bộ 2025-2030", "planning_pool", "party")):
            self._add(suffix, f"{name} {PROVINCE}", kind, "province", sector, root)
        self._pools()
        for d, (district, communes) in enumerate(DISTRICTS, start=1):
            self._district(d, district, communes)

    def _pools(self) -> None:
        """``P-QH`` is the pool for the chair of the provincial people's committee; ``P-QH-SNV``, ``-SYT`` and ``-SGD``
        for the directors of those departments; all over the term 2025-2030 (planning.md 'Planning pools')."""
        p = self.p
        self.units[f"{p}-QH"].record |= {"pool_for": {"org_unit": f"{p}-UBND", "rank": "province_head"},
                                         "term": ["2025-01-01", "2030-12-31"]}
        for suffix, name in (("SNV", "Sở Nội vụ"), ("SYT", "Sở Y tế"), ("SGD", "Sở Giáo dục và Đào tạo")):
            unit = self._add(f"-QH-{suffix}", f"Quy hoạch Giám đốc {name} 2025-2030", "planning_pool", "province", "party",
                             [(p, OPENED, None)])
            unit.record |= {"pool_for": {"org_unit": f"{p}-{suffix}", "rank": "department_head"},
                            "term": ["2025-01-01", "2030-12-31"]}

    def _pool_seat(self, start: date) -> tuple[str, date | None]:
        """The pool and last day of the next candidate: three to each pool in turn, then a fourth to ``P-QH`` (which the
        check reports: at most 3 candidates per title); later ones were taken out at the review of 2024 (one pool
        each in turn, their seat ending on 2024-12-31, or on its first day when it began later)."""
        pools = [f"{self.p}-QH", f"{self.p}-QH-SNV", f"{self.p}-QH-SYT", f"{self.p}-QH-SGD"]
        n = len(self.candidates)
        self.candidates.append(n)
        if n <= 12:
            return pools[n % 4 if n < 12 else 0], None
        return pools[n % 4], max(start, REVIEWED)

    def _district(self, d: int, district: str, communes: tuple[str, ...]) -> None:
        p, h = self.p, f"-H{d}"
        closing: dict[str, Any] = {"valid_to": LAST_DAY, "district": d}
        up = [(f"{p}{h}", OPENED, LAST_DAY)]
        self._add(h, f"Huyện {district}", "area", "district", "state", [(p, OPENED, LAST_DAY)], **closing)
        self._add(f"{h}-HU", f"Văn phòng Huyện ủy {district}", "party_agency", "district", "party", up, **closing,
                  ladder="district_party", profile="agency", weight=3, successor=f"{p}{h}-M-DU")
        self._add(f"{h}-UB", f"Ủy ban nhân dân huyện {district}", "state_agency", "district", "state", up, **closing,
                  ladder="district_gov", profile="agency", weight=5, successor=f"{p}{h}-M-UB")
        self._add(f"{h}-TTYT", f"Trung tâm Y tế huyện {district}", "health_center", "district", "health", up, **closing,
                  ladder="health_center", profile="hospital", weight=5, successor=f"{p}-TTYT{d}")
        self._add(f"{h}-BCH", f"Ban Chấp hành Đảng bộ huyện {district}", "party_executive_committee", "district", "party",
                  up, **closing)
        self._add(f"-TTYT{d}", f"Trung tâm Y tế khu vực {district}", "health_center", "province", "health",
                  [(f"{p}-SYT", FIRST_DAY, None)], valid_from=FIRST_DAY, ladder="health_center", profile="hospital",
                  weight=1, new=True)
        merged = f"{p}{h}-M"
        new_root = [(p, FIRST_DAY, None)]
        ethnic = d == 2
        self._add(f"{h}-M", f"Xã {communes[0]} (mới)", "area", "commune", "state", new_root, valid_from=FIRST_DAY,
                  ethnic_contact=ethnic)
        for suffix, name, kind, sector, ladder in (("-UB", "Ủy ban nhân dân xã", "state_agency", "state", "commune_gov"),
                                                   ("-DU", "Đảng ủy xã", "party_agency", "party", "commune_party")):
            self._add(f"{h}-M{suffix}", f"{name} {communes[0]} (mới)", kind, "commune", sector,
                      [(merged, FIRST_DAY, None)], valid_from=FIRST_DAY, ladder=ladder, profile="commune_agency",
                      weight=1, new=True, district=d)
        self._add(f"{h}-M-BCH", f"Ban Chấp hành Đảng bộ xã {communes[0]} (mới)", "party_executive_committee", "commune",
                  "party", [(merged, FIRST_DAY, None)], valid_from=FIRST_DAY)
        for c, commune in enumerate(communes, start=1):
            self._commune(d, c, commune, ethnic)

    def _commune(self, d: int, c: int, commune: str, ethnic: bool) -> None:
        p, x = self.p, f"-H{d}-X{c}"
        code, merged = f"{p}{x}", f"{p}-H{d}-M"
        stays = c == 3
        if stays:
            self._add(x, f"Xã {commune}", "area", "commune", "state",
                      [(f"{p}-H{d}", OPENED, LAST_DAY), (p, FIRST_DAY, None)], ethnic_contact=ethnic)
        else:
            self._add(x, f"Xã {commune}", "area", "commune", "state", [(f"{p}-H{d}", OPENED, LAST_DAY)],
                      valid_to=LAST_DAY, ethnic_contact=ethnic)
        agency_end = None if stays else LAST_DAY
        for suffix, name, kind, sector, ladder in (("-UB", "Ủy ban nhân dân xã", "state_agency", "state", "commune_gov"),
                                                   ("-DU", "Đảng ủy xã", "party_agency", "party", "commune_party")):
            self._add(f"{x}{suffix}", f"{name} {commune}", kind, "commune", sector, [(code, OPENED, agency_end)],
                      valid_to=agency_end, ladder=ladder, profile="commune_agency", weight=2, district=d,
                      successor=f"{p}{x}{suffix}" if stays else f"{merged}{suffix}")
        moved = [(code, OPENED, None)] if stays else [(code, OPENED, LAST_DAY), (merged, FIRST_DAY, None)]
        for suffix, name, kind, ladder, profile, weight in (
                ("-TYT", "Trạm Y tế xã", "commune_health_station", "station", "station", 2),
                ("-MN", "Trường Mầm non", "school_preschool", "school", "school_preschool", 3),
                ("-TH", "Trường Tiểu học", "school_primary", "school", "school_primary", 4),
                ("-THCS", "Trường THCS", "school_lower_secondary", "school", "school_lower_secondary", 4)):
            sector = "health" if kind == "commune_health_station" else "education"
            self._add(f"{x}{suffix}", f"{name} {commune}", kind, "commune", sector, moved, ladder=ladder,
                      profile=profile, weight=weight, ethnic_contact=ethnic and kind != "commune_health_station", district=d)

    # ----- persons -----
    def _job(self, index: int) -> Job:
        unit = self.staffed[index] if index < len(self.staffed) else self.rng.choices(
            self.staffed, weights=[u.weight for u in self.staffed])[0]
        rung = self.hired[unit.code]
        self.hired[unit.code] += 1
        assert unit.profile is not None and unit.ladder is not None
        occupation, category = self._pick(PROFILES[unit.profile])
        if rung >= len(LADDERS[unit.ladder]):
            return Job(unit, occupation, category, None)
        if unit.profile == "agency":
            occupation, category = "specialist", ("can_bo" if rung < 3 and unit.ladder != "department" else "cong_chuc")
        elif unit.profile == "commune_agency":
            occupation, category = "specialist", "cap_xa_chuyen_trach"
        elif unit.profile == "hospital":
            occupation, category = "doctor", "vien_chuc"
        return Job(unit, occupation, category, rung)

    def _pick(self, mix: list[tuple[str, str, int]]) -> tuple[str, str]:
        occupation, category, _w = self.rng.choices(mix, weights=[w for *_x, w in mix])[0]
        return occupation, category

    def _day(self, lo: date, hi: date) -> date:
        return lo if hi <= lo else lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    def person(self, index: int) -> Person:
        rng, job = self.rng, self._job(index)
        female_share = 0.78 if job.occupation.startswith(("teacher", "nurse")) else 0.42
        gender = "female" if rng.random() < female_share else "male"
        ethnic_contact = bool(job.unit.record.get("ethnic_contact"))
        ethnicity = rng.choices(("01", "05", "04"), weights=(45, 50, 5) if ethnic_contact else (68, 27, 5))[0]
        age = rng.randint(38 if job.rung == 0 else 30 if job.rung is not None else 22, 60)
        birth = self._day(date(2025 - age, 1, 1), date(2025 - age, 12, 31))
        start = min(self._day(_years(birth, 22), _years(birth, min(age, 32))), date(2025, 11, 30))
        record: Record = {"external_id": f"{self.p}-P{index + 1:06d}", "full_name": self._name(ethnicity, gender),
                          "birth_date": _iso(birth), "gender": gender, "ethnicity": ethnicity}
        person = Person(record, birth)
        if index > len(self.staffed) and start < date(2021, 1, 1) and rng.random() < 0.03:
            person.left_on = self._day(date(2022, 1, 1), date(2024, 12, 31))
        record["national_id"] = self._national_id(index, birth, gender) if rng.random() < 0.85 else None
        if record["national_id"] is None and rng.random() < 0.5:
            del record["national_id"]
        self._employ(person, job, start)
        leader = job.rung is not None and job.rung < 3
        if leader or rng.random() < 0.45:
            latest = max(_years(birth, 21), min(HORIZON, _years(birth, 35)))
            record["party_member_since"] = _iso(self._day(_years(birth, 20), latest))
        record["general_education"] = rng.choices(("12/12", "9/12", "10/10"), weights=(92, 3, 5))[0] if age < 50 else \
            rng.choices(("12/12", "10/10"), weights=(70, 30))[0]
        _Qualifier(self, person, job, start).apply()
        self._memberships(person, job)
        self._clip(person)
        self._career_events(index, person)
        self._drop_some_empty_lists(record)
        return person

    @staticmethod
    def _career_events(index: int, person: Person) -> None:
        """Separations of those who left, a few disciplines and ends of party membership (no draw from the
        random stream, so that the rest of the data stays as it was before revision 2 added them)."""
        record = person.record
        if person.left_on is not None:
            record["separations"] = [{"on": _iso(person.left_on), "reason": SEPARATION_REASONS[index % 5]}]
            joined = record.get("party_member_since")
            if SEPARATION_REASONS[index % 5] == "death" and joined and joined > record["separations"][0]["on"]:
                del record["party_member_since"]  # nothing starts after a death (seen first with 3,000 persons)
        first_job = min(date.fromisoformat(e["start"]) for e in record["employments"])
        if index % 53 == 11:
            start = min(_years(first_job, 3), date(2024, 6, 1))
            form = DISCIPLINE_FORMS[index % 3]
            end = None if form == "cach_chuc" else _iso(start + timedelta(days=364))
            record["disciplines"] = [{"form": form, "start": _iso(start), "end": end}]
        english = [q for q in record.get("languages", []) if q["kind"] == "foreign" and q["language"] == "en"]
        if english and index % 37 == 5:  # revision 2, point 13: the paper as written, beside its level
            english[0]["certificate"], english[0]["score"], english[0]["level"] = "IELTS", "6.0", 4
        theory = record.get("political_theory", [])
        if theory and index % 41 == 9:
            theory[-1]["equivalent"] = True
        since = record.get("party_member_since")
        if since and index % 61 == 17 and person.left_on is None:
            record["party_member_until"] = _iso(max(date.fromisoformat(since), min(date(2024, 12, 31),
                                                                                   _years(date.fromisoformat(since), 8))))

    def _name(self, ethnicity: str, gender: str) -> str:
        rng = self.rng
        if ethnicity == "05":
            return f"{rng.choice(KHMER_FAMILY)} {rng.choice(KHMER_GIVEN[gender])}"
        if ethnicity == "04":
            return f"{rng.choice(HOA_FAMILY)} {rng.choice(HOA_MIDDLE[gender])} {rng.choice(KINH_GIVEN[gender])}"
        return f"{rng.choice(KINH_FAMILY)} {rng.choice(KINH_MIDDLE[gender])} {rng.choice(KINH_GIVEN[gender])}"

    @staticmethod
    def _national_id(index: int, birth: date, gender: str) -> str:
        century = (0 if birth.year < 2000 else 2) + (1 if gender == "female" else 0)
        return f"094{century}{birth.year % 100:02d}{index + 1:06d}"

    def _employ(self, person: Person, job: Job, start: date) -> None:
        unit, category = job.unit, job.category
        if unit.successor and start > date(2025, 5, 31):
            unit, start = self.units[unit.successor], max(start, FIRST_DAY)
        if start >= FIRST_DAY and category.startswith("cap_xa"):
            category = "cong_chuc"
        primary: Record = {"org_unit": unit.code, "category": category, "occupation": job.occupation, "primary": True,
                           "start": _iso(start), "end": None}
        employments = [primary]
        post_start = self._day(_years(start, 2), date(2025, 5, 31)) if start < date(2023, 5, 31) else start
        ladder = LADDERS[unit.ladder or "school"]
        if job.rung is not None and job.rung < len(ladder):
            title, rank, key = ladder[job.rung]
            person.posts.append((unit, title, rank, key, post_start, None))
        changes = unit.successor not in (None, unit.code) or category.startswith("cap_xa")
        if unit.successor is not None and changes and start <= LAST_DAY and person.left_on is None:
            successor = self.units[unit.successor]
            primary["end"] = _iso(LAST_DAY)
            category = "cong_chuc" if category.startswith("cap_xa") else category
            employments.append({"org_unit": successor.code, "category": category, "occupation": job.occupation,
                                "primary": True, "start": _iso(FIRST_DAY), "end": None})
            if person.posts and successor.code != unit.code:
                _u, _t, rank, key, s, _e = person.posts[0]
                person.posts[0] = (unit, _t, rank, key, s, LAST_DAY)
                head_title = LADDERS[successor.ladder or "school"][0][0]
                person.posts.append((successor, head_title if rank != "office_deputy" else _t, rank, key, FIRST_DAY, None))
        employments += self._concurrent(person, job, start)
        person.record["employments"] = employments
        person.record["positions"] = [{"org_unit": u.code, "title": t, "rank": r, "key_leader": k, "start": _iso(s),
                                       "end": _iso(e)} for u, t, r, k, s, e in person.posts]
        for item in person.record["positions"] + employments:
            if item["end"] is None and self.rng.random() < 0.3:
                del item["end"]

    def _concurrent(self, person: Person, job: Job, start: date) -> list[Record]:
        p, rng = self.p, self.rng
        where = {"doctor": (f"{p}-CDYT", "lecturer_college"), "specialist": (f"{p}-TCT", "lecturer_political_school")}
        if job.occupation not in where or job.unit.successor or rng.random() > 0.15:
            return []
        code, occupation = where[job.occupation]
        if code == job.unit.code:
            return []
        begin = self._day(_years(start, 3), date(2025, 3, 1)) if start < date(2022, 3, 1) else start
        return [{"org_unit": code, "category": "vien_chuc", "occupation": occupation, "primary": False,
                 "start": _iso(begin), "end": None}]

    def _memberships(self, person: Person, job: Job) -> None:
        p, out = self.p, []
        for unit, _title, rank, key, start, end in person.posts:
            tier, level, ladder = unit.record["tier"], RANKS.index(rank), unit.ladder
            if (tier == "province" and level >= 2) or (tier == "district" and key):
                out.append((f"{p}-BCH", self._bch_role(ladder, job.rung), max(BCH_TERM, start), end))
            if tier == "province" and key:
                out.append((f"{p}-BTV", "member", max(BCH_TERM, start), end))
            if tier == "province" and ladder in ("province_party", "province_gov") and job.rung in (0, 1):
                role = "delegate" if job.rung == 0 else "chair" if ladder == "province_party" else "vice_chair"
                out.append((f"{p}-HDND", role, max(HDND_TERM, start), end))
            if level >= 2:
                out.append((f"{p}-DIEN", "member", start, end))
            local = ladder in ("district_party", "district_gov", "commune_party", "commune_gov")
            if local and start <= LAST_DAY:
                role = "secretary" if ladder == "district_party" and level == 3 else "member"
                out.append((f"{p}-H{unit.district}-BCH", role, max(DISTRICT_BCH_TERM, start), LAST_DAY))
            if local and start >= FIRST_DAY:
                out.append((f"{p}-H{unit.district}-M-BCH", "member", FIRST_DAY, None))
        hired = date.fromisoformat(person.record["employments"][0]["start"])
        if job.unit.record["tier"] == "province" and job.rung is None and self.rng.random() < 0.04:
            out.append((f"{p}-HDND", "delegate", max(HDND_TERM, hired), None))
        if person.birth > date(1980, 1, 1) and self.rng.random() < (0.5 if person.posts else 0.04):
            start = max(PLANNING, hired)
            pool, last = self._pool_seat(start)
            out.append((pool, "candidate", start, last))
        person.record["memberships"] = [{"body": b, "role": r, "start": _iso(s), "end": _iso(e)} for b, r, s, e in out]

    @staticmethod
    def _bch_role(ladder: str | None, rung: int | None) -> str:
        if ladder == "province_party" and rung == 0:
            return "secretary"
        if ladder == "province_party" and rung in (1, 2):
            return "deputy_secretary"
        return "member"

    def _clip(self, person: Person) -> None:
        """A person who left: every employment, post and seat ends that day; later ones never began."""
        if person.left_on is None:
            return
        left = _iso(person.left_on)
        assert left is not None
        for name in ("employments", "positions", "memberships"):
            kept = [i for i in person.record[name] if i["start"] <= left]
            for item in kept:
                if item.get("end") is None or item["end"] > left:
                    item["end"] = left
            person.record[name] = kept

    def _drop_some_empty_lists(self, record: Record) -> None:
        for name in [k for k, v in record.items() if v == []]:
            if self.rng.random() < 0.5:
                del record[name]

    def guarantee_titles(self, people: list[Person]) -> None:
        """Make sure both academic titles appear (a population of 1000 may otherwise miss 'gs')."""
        holders = [p for p in people if any(d["level"] == "doctor" for d in p.record.get("degrees", []))]
        for person, title in zip(holders[:2], ("gs", "pgs"), strict=False):
            doctorate = max(d["awarded_on"] for d in person.record["degrees"] if d["level"] == "doctor")
            awarded = _iso(min(date.fromisoformat(doctorate) + timedelta(days=3 * 365), HORIZON))
            titles = [t for t in person.record.get("academic_titles", []) if t["title"] != title]
            person.record["academic_titles"] = [*titles, {"title": title, "field": "Y học", "awarded_on": awarded}]

    # ----- statistics -----
    def statistics(self) -> list[Record]:
        rng, out = self.rng, []
        source = f"Cục Thống kê tỉnh {PROVINCE}"
        for unit in self.units.values():
            record = unit.record
            if record["kind"] != "area":
                continue
            base = {"province": 1_199_653, "district": 150_000, "commune": 16_000}[record["tier"]]
            size = base if record["tier"] == "province" else rng.randint(base * 6 // 10, base * 14 // 10)
            if unit.code.endswith("-M"):
                out.append({"code": "population", "org_unit": unit.code, "period": "2025-07-01", "value": size * 2,
                            "source": source})
                continue
            for year in range(2021, 2026 if record["valid_to"] is None else 2025):
                out.append({"code": "population", "org_unit": unit.code, "period": str(year),
                            "value": size + (year - 2024) * size // 150, "source": source})
        for year in range(2021, 2026):
            out.append({"code": "labour_trained_share", "org_unit": self.p, "period": str(year),
                        "value": round(0.55 + 0.04 * (year - 2021) + rng.random() / 100, 4)})
        out.append({"code": "labour_trained_share", "org_unit": self.p, "period": "2021-01-01/2025-12-31", "value": 0.625,
                    "source": source})
        return out


class _Qualifier:
    """The qualifications a person of this job plausibly holds, dated after the birth date."""

    def __init__(self, province: _Province, person: Person, job: Job, start: date):
        self.rng, self.person, self.job, self.start = province.rng, person, job, start
        self.day = province._day
        self.record = person.record
        self.adult = _years(person.birth, 18)

    def _after(self, years: int, latest: date = HORIZON) -> date:
        earliest = min(_years(self.person.birth, years), HORIZON)
        return self.day(earliest, max(earliest, latest))

    def apply(self) -> None:
        self.record["degrees"] = self._degrees()
        self.record["languages"] = self._languages()
        self.record["political_theory"] = self._political_theory()
        self.record["state_management"] = self._state_management()
        self.record["specialties"] = self._specialties()
        self.record["academic_titles"] = self._academic_titles()
        self.record["it_skills"] = self._it_skills()
        self.record["trainings"] = self._trainings()

    def _school(self) -> tuple[str, tuple[str, ...]]:
        occupation = self.job.occupation
        key = "teacher" if occupation.startswith("teacher") else "lecturer" if occupation.startswith("lecturer") else occupation
        return VN_SCHOOLS.get(key, VN_SCHOOLS["other"])

    def _first_level(self) -> str:
        occupation, rng = self.job.occupation, self.rng
        if occupation in ("nurse", "teacher_preschool", "other_health"):
            return rng.choices(("intermediate", "college", "bachelor"), weights=(2, 5, 3))[0]
        if occupation == "other" or self.job.category in ("cap_xa_cong_chuc", "khong_chuyen_trach", "hop_dong"):
            return rng.choices(("intermediate", "college", "bachelor"), weights=(4, 2, 4))[0]
        return "bachelor"

    def _degrees(self) -> list[Record]:
        rng = self.rng
        institution, fields = self._school()
        first = self._first_level()
        awarded = min(self.day(_years(self.person.birth, 20), _years(self.person.birth, 23)), self.start)
        degrees = [self._degree(first, rng.choice(fields), institution, "VN", max(awarded, self.adult))]
        chance = {"lecturer_college": 0.75, "lecturer_political_school": 0.8, "doctor": 0.2,
                  "specialist": 0.35 if self.job.rung is None else 0.7}.get(self.job.occupation, 0.08)
        if first != "bachelor" or _years(self.person.birth, 27) > date(2024, 12, 31) or rng.random() > chance:
            return degrees
        abroad = rng.random() < 0.2
        country, school = rng.choice(ABROAD) if abroad else ("VN", institution)
        master_on = self._after(27, date(2024, 12, 31))
        degrees.append(self._degree("master", rng.choice(fields), school, country, master_on))
        if rng.random() < 0.25:
            doctor_on = min(_years(master_on, rng.randint(3, 6)), HORIZON)
            degrees.append(self._degree("doctor", rng.choice(fields), school, country, doctor_on))
        return degrees

    def _degree(self, level: str, fld: str, institution: str, country: str, awarded: date) -> Record:
        degree: Record = {"level": level, "field": fld, "institution": institution, "country": country,
                          "awarded_on": _iso(awarded)}
        if self.rng.random() < 0.1:  # a source system that does not know where
            del degree["institution"], degree["country"]
        return degree

    def _languages(self) -> list[Record]:
        rng, out = self.rng, []
        ethnicity = self.record["ethnicity"]
        if rng.random() < 0.7:
            level = rng.choices((2, 3, 4, 5, 6), weights=(20, 40, 25, 10, 5))[0]
            language = rng.choices(("en", "fr", "zh"), weights=(90, 5, 5))[0]
            certificate = "IELTS" if level >= 5 and language == "en" else "HSK" if language == "zh" else "VSTEP"
            out.append({"language": language, "kind": "foreign", "level": level, "certificate": certificate,
                        "awarded_on": _iso(self._after(20))})
        if ethnicity == "05" or (self.record.get("ethnicity") == "01" and rng.random() < 0.1):
            item: Record = {"language": "km", "kind": "ethnic_minority", "fluent": ethnicity == "05" or rng.random() < 0.5,
                            "awarded_on": _iso(self._after(18))}
            if rng.random() < 0.3:
                item["certificate"] = "Chứng chỉ tiếng Khmer"
            out.append(item)
        if ethnicity == "04" and rng.random() < 0.6:
            out.append({"language": "zh", "kind": "ethnic_minority", "fluent": True, "awarded_on": _iso(self._after(18))})
        return out

    def _political_theory(self) -> list[Record]:
        rng, rung = self.rng, self.job.rung
        if rung is not None and rung < 3:
            top = rng.choice(("cao_cap", "cu_nhan"))
        elif rung is not None or self.job.occupation == "specialist":
            top = rng.choices(("so_cap", "trung_cap", "cao_cap"), weights=(3, 6, 1))[0]
        elif rng.random() < 0.35:
            top = "so_cap"
        else:
            return []
        out = [{"level": top, "awarded_on": _iso(self._after(28))}]
        if top != "so_cap" and rng.random() < 0.4:
            out.insert(0, {"level": "so_cap", "awarded_on": _iso(self._after(23, _years(self.person.birth, 27)))})
        return out

    def _state_management(self) -> list[Record]:
        if self.job.occupation != "specialist" and self.job.rung is None:
            return []
        rung = self.job.rung
        level = "chuyen_vien_cao_cap" if rung == 0 and self.job.unit.ladder in ("province_party", "province_gov") else \
            "chuyen_vien_chinh" if rung is not None and rung < 3 else "chuyen_vien"
        return [{"level": level, "awarded_on": _iso(self._after(27))}] if self.rng.random() < 0.85 else []

    def _specialties(self) -> list[Record]:
        if self.job.occupation != "doctor" or self.rng.random() > 0.5:
            return []
        ck1_on = self._after(29, date(2023, 12, 31))
        out = [{"level": "ck1", "field": self.rng.choice(("Nội khoa", "Ngoại khoa", "Sản phụ khoa", "Nhi khoa")),
                "awarded_on": _iso(ck1_on)}]
        if self.rng.random() < 0.25:
            out.append({"level": "ck2", "field": out[0]["field"], "awarded_on": _iso(min(_years(ck1_on, 4), HORIZON))})
        return out

    def _academic_titles(self) -> list[Record]:
        doctorates = [d for d in self.record["degrees"] if d["level"] == "doctor"]
        if not doctorates or self.rng.random() > 0.3:
            return []
        awarded = min(date.fromisoformat(doctorates[0]["awarded_on"]) + timedelta(days=5 * 365), HORIZON)
        return [{"title": "pgs", "field": doctorates[0]["field"], "awarded_on": _iso(awarded)}]

    def _it_skills(self) -> list[Record]:
        roll = self.rng.random()
        if roll > 0.7:
            return []
        level = "advanced" if roll < 0.1 else "basic"
        label = "nâng cao" if level == "advanced" else "cơ bản"
        return [{"level": level, "certificate": f"Chứng chỉ ứng dụng CNTT {label}",
                 "awarded_on": _iso(max(self._after(20), date(2015, 3, 10)))}]

    def _trainings(self) -> list[Record]:
        picks = self.rng.sample(TRAININGS, k=self.rng.choice((0, 0, 1, 1, 2)))
        return [{"course": course, "hours": hours,
                 "completed_on": _iso(max(self._after(24), self.day(date(2016, 1, 1), HORIZON)))} for course, hours in picks]


# ───────────────────────── training records (planning.md 'Training') ─────────────────────────
TRAINING_TODAY = date(2026, 12, 5)  # enrolments in courses that end before it are finished (a fixed day: no clock)
COURSES = (  # (code suffix, name, kind, organiser suffix, awards, hours, mode, cost per person, seats per year)
    ("CC", "Lớp Cao cấp lý luận chính trị hệ không tập trung", "political_theory", "",
     {"political_theory": {"level": "cao_cap"}}, 1200, "part_time", 18_000_000, 12),
    ("TC", "Lớp Trung cấp lý luận chính trị - hành chính", "political_theory", "",
     {"political_theory": {"level": "trung_cap"}}, 720, "part_time", 9_000_000, 25),
    ("CVC", "Bồi dưỡng ngạch chuyên viên chính", "state_management", "-SNV",
     {"state_management": {"level": "chuyen_vien_chinh"}}, 240, "full_time", 6_500_000, 20),
    ("NN4", "Tiếng Anh bậc 4 (B2) cho cán bộ lãnh đạo", "foreign_language", "",
     {"languages": {"language": "en", "kind": "foreign", "level": 4}}, 400, "online", 7_000_000, 15),
    ("LDP", "Bồi dưỡng lãnh đạo, quản lý cấp phòng", "leadership_title", "-SNV", None, 120, "full_time", 4_000_000, 20),
    ("YT", "Cập nhật kiến thức y khoa liên tục", "knowledge_update", "-SYT", None, 48, "online", 1_500_000, 30),
)
COURSE_YEARS = (2024, 2025, 2026, 2027)


def build_training(data: dict[str, list[Record]], seed: int = 1) -> dict[str, list[Record]]:
    """Courses of the province for 2024-2027 and enrolments of its persons: {"courses": [...], "enrolments": [...]}.

    Deterministic (its own seeded generator, the fixed day TRAINING_TODAY). Persons still employed and never
    separated are sent: to courses whose organiser is the province (anyone), the home affairs department (civil
    servants) or the health department (its staff). A course over before TRAINING_TODAY has its enrolments
    completed (on its last day), failed or withdrawn; one running has them enrolled; a later one planned.
    """
    rng = random.Random(seed * 7919 + 17)
    p = data["org_units"][0]["code"]
    people = [r for r in data["persons"] if not r.get("separations")
              and any(e.get("primary", True) and e.get("end") is None for e in r.get("employments") or [])]
    courses: list[Record] = []
    enrolments: list[Record] = []
    for year in COURSE_YEARS:
        for suffix, name, kind, organiser, awards, hours, mode, cost, seats in COURSES:
            start = date(year, 3, 1) if kind in ("political_theory", "foreign_language") else date(year, 9, 1)
            end = (_years(start, 1) - timedelta(days=1)) if hours >= 700 else start + timedelta(days=hours // 4)
            code = f"{p}-K-{suffix}-{year}"
            courses.append({"code": code, "name": f"{name} {year}", "kind": kind,
                            "provider": "Trường Chính trị tỉnh" if kind == "political_theory" else "Sở Nội vụ",
                            "org_unit": p + organiser, "start": _iso(start), "end": _iso(end), "hours": hours,
                            "mode": mode, "country": "VN", "cost_per_person": cost,
                            "funding": rng.choice(("state_budget", "state_budget", "unit")), "awards": awards})
            pool = [r for r in people if organiser == "" or any(
                e["org_unit"].startswith(p + organiser) or (organiser == "-SNV" and e["category"] == "cong_chuc")
                for e in r["employments"] if e.get("end") is None)]
            for person in rng.sample(pool, min(seats, len(pool))):
                enrolments.append(_enrolment(rng, person["external_id"], code, start, end, cost))
    enrolments.sort(key=lambda e: (e["person"], e["course"]))
    return {"courses": courses, "enrolments": enrolments}


def _enrolment(rng: random.Random, person: str, course: str, start: date, end: date, cost: int) -> Record:
    if end < TRAINING_TODAY:
        status = rng.choices(("completed", "failed", "withdrawn"), weights=(85, 5, 10))[0]
    else:
        status = "enrolled" if start <= TRAINING_TODAY else "planned"
    return {"person": person, "course": course, "status": status, "start": _iso(start),
            "expected_completion": _iso(end), "completed_on": _iso(end) if status == "completed" else None,
            "decision": f"{rng.randint(10, 999)}/QĐ-UBND", "cost": cost if rng.random() < 0.8 else None,
            "commitment_until": _iso(_years(end, 5)) if status == "completed" and rng.random() < 0.3 else None}
