"""A deterministic synthetic registry of Vietnam's public sector, at any size, as interchange JSON Lines.

    python -m bench.generate --persons 100000 --out /tmp/reg100k [--seed 1]

writes ``org-units.jsonl``, ``persons.jsonl`` and ``statistics.jsonl`` (spec/interchange.md, code lists of
codelists.yaml) and ``manifest.json`` (sizes, the units the benchmark asks about). The same arguments give
byte-identical files (one seeded ``random.Random``, no clock). Persons are streamed one line at a time, so
memory does not grow with the number of persons (only the org-unit tree is held, ~10 units per 100 persons).

The country lives through the 2025 reform (last day of the old order 2025-06-30, first day of the new
2025-07-01), with the real 63 provinces and the 34 of resolution 202/2025/QH15:

* 63 old provinces ``P{gso}`` (area, tier province, open since 1976). The 11 that the reform keeps stay open;
  the 52 merged ones close on 2025-06-30, and so do their agencies (``-TU`` party committee office, ``-BTC``
  organisation board, ``-UBND``, ``-SNV``, ``-SYT``, ``-SGD``, ``-BDT`` ethnic affairs, ``-MTTQ`` front) and
  bodies (``-BCH`` executive committee, ``-BTV`` standing committee, ``-HDND`` People's Council, ``-DIEN``
  management list, ``-QH`` planning pool). Their public service units (``-BVDK`` hospital, ``-CDYT``
  college, ``-TCT`` political school, ``-THPT{k}`` upper-secondary schools, ``-XSKT`` SOE) are re-parented to
  the new province's departments on 2025-07-01.
* 23 new provinces ``N{gso}`` open on 2025-07-01 with the same agencies and bodies (the 11 kept provinces
  keep theirs), and regional health centres ``-TTYT{d}``.
* Districts ``P{gso}-H{d}`` (tier district: ``-HU``, ``-UB``, ``-TTYT`` and bodies ``-BCH``, ``-BTV``,
  ``-HDND``) all close on 2025-06-30; their staff move to communes and regional health centres.
* Communes ``P{gso}-H{d}-X{c}`` (``-UB``, ``-DU`` agencies, ``-TYT`` health station, ``-MN``, ``-TH``,
  ``-THCS`` schools, bodies ``-BCH``, ``-HDND``): in every group of three, two close on 2025-06-30 and merge
  into a new commune ``P{gso}-H{d}-M{g}`` (parent: the new province), whose stations and schools they
  hand over (re-parented); the third is re-parented from its district to the new province.

The size of the tree follows the number of persons (about one commune per 100 persons: ~10,000 communes and
~700 districts at 1M persons, as in the real country). Persons ``VN-{n:07d}`` are aged 22-60 at the end of
2025, employed where their occupation belongs, with posts on the units' ladders (key leaders included),
memberships of every body kind derived from their posts, degrees (some abroad), foreign and ethnic-minority
languages, political theory, state management, specialist levels for doctors, academic titles, IT skills
and trainings; some changed jobs, some left in 2022-2024, commune categories (cap_xa_*) end on 2025-06-30.
Population statistics for every area (2021-2025, new units from 2025-07-01) are the real figures scaled by
persons / 2.5M (the national register's size), so per-capita rates keep realistic magnitudes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

Record = dict[str, Any]

OPENED = date(1976, 7, 2)
LAST_DAY = date(2025, 6, 30)
FIRST_DAY = date(2025, 7, 1)
HORIZON = date(2025, 12, 31)
BCH_TERM = date(2020, 10, 15)
DISTRICT_BCH_TERM = date(2020, 8, 1)
COMMUNE_BCH_TERM = date(2020, 6, 1)
HDND_TERM = date(2021, 6, 1)
PLANNING = date(2022, 3, 1)
NATIONAL_STAFF = 2_500_000

# (gso code, name, population in thousands, main minority code or None)
OLD_PROVINCES: list[tuple[str, str, int, str | None]] = [
    ("01", "Hà Nội", 8435, None), ("02", "Hà Giang", 899, "08"), ("04", "Cao Bằng", 543, "02"),
    ("06", "Bắc Kạn", 324, "02"), ("08", "Tuyên Quang", 805, "02"), ("10", "Lào Cai", 770, "08"),
    ("11", "Điện Biên", 640, "03"), ("12", "Lai Châu", 482, "08"), ("14", "Sơn La", 1300, "03"),
    ("15", "Yên Bái", 838, "02"), ("17", "Hòa Bình", 875, "06"), ("19", "Thái Nguyên", 1336, "02"),
    ("20", "Lạng Sơn", 802, "07"), ("22", "Quảng Ninh", 1381, None), ("24", "Bắc Giang", 1922, None),
    ("25", "Phú Thọ", 1516, "06"), ("26", "Vĩnh Phúc", 1197, None), ("27", "Bắc Ninh", 1488, None),
    ("30", "Hải Dương", 1946, None), ("31", "Hải Phòng", 2088, None), ("33", "Hưng Yên", 1290, None),
    ("34", "Thái Bình", 1877, None), ("35", "Hà Nam", 879, None), ("36", "Nam Định", 1876, None),
    ("37", "Ninh Bình", 1010, None), ("38", "Thanh Hóa", 3722, "06"), ("40", "Nghệ An", 3419, "03"),
    ("42", "Hà Tĩnh", 1323, None), ("44", "Quảng Bình", 913, None), ("45", "Quảng Trị", 650, "23"),
    ("46", "Huế", 1160, "31"), ("48", "Đà Nẵng", 1220, None), ("49", "Quảng Nam", 1519, "26"),
    ("51", "Quảng Ngãi", 1245, "19"), ("52", "Bình Định", 1504, None), ("54", "Phú Yên", 877, None),
    ("56", "Khánh Hòa", 1253, "21"), ("58", "Ninh Thuận", 596, "17"), ("60", "Bình Thuận", 1251, "17"),
    ("62", "Kon Tum", 580, "14"), ("64", "Gia Lai", 1591, "10"), ("66", "Đắk Lắk", 1918, "12"),
    ("67", "Đắk Nông", 670, "20"), ("68", "Lâm Đồng", 1332, "16"), ("70", "Bình Phước", 1024, "22"),
    ("72", "Tây Ninh", 1188, None), ("74", "Bình Dương", 2763, None), ("75", "Đồng Nai", 3255, None),
    ("77", "Bà Rịa - Vũng Tàu", 1187, None), ("79", "Hồ Chí Minh", 9389, "04"), ("80", "Long An", 1735, None),
    ("82", "Tiền Giang", 1790, None), ("83", "Bến Tre", 1300, None), ("84", "Trà Vinh", 1019, "05"),
    ("86", "Vĩnh Long", 1029, None), ("87", "Đồng Tháp", 1600, None), ("89", "An Giang", 1906, "05"),
    ("91", "Kiên Giang", 1751, "05"), ("92", "Cần Thơ", 1253, "05"), ("93", "Hậu Giang", 729, "05"),
    ("94", "Sóc Trăng", 1200, "05"), ("95", "Bạc Liêu", 919, "05"), ("96", "Cà Mau", 1207, None),
]
KEPT = ("01", "04", "11", "12", "14", "20", "22", "38", "40", "42", "46")
MERGES: list[tuple[str, str, tuple[str, ...]]] = [  # new code, name, old provinces (the first lends its code)
    ("08", "Tuyên Quang", ("08", "02")), ("15", "Lào Cai", ("10", "15")), ("19", "Thái Nguyên", ("19", "06")),
    ("25", "Phú Thọ", ("25", "26", "17")), ("24", "Bắc Ninh", ("27", "24")), ("33", "Hưng Yên", ("33", "34")),
    ("31", "Hải Phòng", ("31", "30")), ("37", "Ninh Bình", ("37", "35", "36")), ("44", "Quảng Trị", ("45", "44")),
    ("48", "Đà Nẵng", ("48", "49")), ("51", "Quảng Ngãi", ("51", "62")), ("52", "Gia Lai", ("64", "52")),
    ("56", "Khánh Hòa", ("56", "58")), ("68", "Lâm Đồng", ("68", "67", "60")), ("66", "Đắk Lắk", ("66", "54")),
    ("79", "Hồ Chí Minh", ("79", "74", "77")), ("75", "Đồng Nai", ("75", "70")), ("80", "Tây Ninh", ("72", "80")),
    ("92", "Cần Thơ", ("92", "94", "93")), ("86", "Vĩnh Long", ("86", "83", "84")), ("82", "Đồng Tháp", ("87", "82")),
    ("96", "Cà Mau", ("96", "95")), ("91", "An Giang", ("89", "91")),
]
LANGUAGE_OF = {"02": "tyz", "03": "tts", "04": "yue", "05": "km", "06": "mtq", "07": "nut", "08": "hmn", "10": "jra",
               "12": "rad", "14": "sed", "16": "kpm", "17": "cja", "19": "hre", "20": "cmo", "21": "rog", "22": "stg",
               "23": "bru", "26": "kuf", "31": "pac"}

LADDERS: dict[str, list[tuple[str, str, bool]]] = {
    "province_party": [("Bí thư Tỉnh ủy", "province_head", True), ("Phó Bí thư Thường trực Tỉnh ủy", "province_deputy", True),
                       ("Chánh Văn phòng Tỉnh ủy", "department_head", False), ("Phó Chánh Văn phòng", "department_deputy", False),
                       ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "province_gov": [("Chủ tịch UBND tỉnh", "province_head", True), ("Phó Chủ tịch UBND tỉnh", "province_deputy", True),
                     ("Phó Chủ tịch UBND tỉnh", "province_deputy", False),
                     ("Chánh Văn phòng UBND tỉnh", "department_head", False),
                     ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "department": [("Giám đốc Sở", "department_head", False), ("Phó Giám đốc Sở", "department_deputy", False),
                   ("Phó Giám đốc Sở", "department_deputy", False), ("Trưởng phòng", "office_head", False),
                   ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False),
                   ("Phó Trưởng phòng", "office_deputy", False)],
    "board": [("Trưởng Ban", "department_head", False), ("Phó Trưởng Ban", "department_deputy", False),
              ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "service": [("Giám đốc", "department_deputy", False), ("Phó Giám đốc", "office_head", False),
                ("Trưởng khoa", "office_head", False), ("Phó Trưởng khoa", "office_deputy", False),
                ("Phó Trưởng khoa", "office_deputy", False)],
    "school": [("Hiệu trưởng", "office_head", False), ("Phó Hiệu trưởng", "office_deputy", False)],
    "district_party": [("Bí thư Huyện ủy", "department_head", True), ("Phó Bí thư Huyện ủy", "department_deputy", True),
                       ("Chánh Văn phòng Huyện ủy", "office_head", False)],
    "district_gov": [("Chủ tịch UBND huyện", "department_head", True), ("Phó Chủ tịch UBND huyện", "department_deputy", False),
                     ("Trưởng phòng", "office_head", False), ("Phó Trưởng phòng", "office_deputy", False)],
    "health_center": [("Giám đốc Trung tâm Y tế", "office_head", False), ("Phó Giám đốc", "office_deputy", False)],
    "commune_party": [("Bí thư Đảng ủy xã", "office_head", True), ("Phó Bí thư Đảng ủy xã", "office_deputy", False)],
    "commune_gov": [("Chủ tịch UBND xã", "office_head", True), ("Phó Chủ tịch UBND xã", "office_deputy", False)],
    "station": [("Trạm trưởng", "office_deputy", False)],
    "soe": [("Chủ tịch Công ty", "department_deputy", False), ("Giám đốc", "office_head", False),
            ("Phó Giám đốc", "office_deputy", False)],
}
PROFILES: dict[str, list[tuple[str, str, int]]] = {  # staff mix: occupation, category, weight
    "agency": [("specialist", "cong_chuc", 85), ("specialist", "vien_chuc", 5), ("other", "hop_dong", 10)],
    "commune_agency": [("specialist", "cap_xa_cong_chuc", 55), ("specialist", "cap_xa_chuyen_trach", 30),
                       ("other", "khong_chuyen_trach", 15)],
    "hospital": [("doctor", "vien_chuc", 28), ("nurse", "vien_chuc", 45), ("pharmacist", "vien_chuc", 8),
                 ("other_health", "vien_chuc", 12), ("specialist", "vien_chuc", 3), ("other", "hop_dong", 4)],
    "station": [("doctor", "vien_chuc", 3), ("nurse", "vien_chuc", 4), ("other_health", "vien_chuc", 3)],
    "college": [("lecturer_college", "vien_chuc", 85), ("specialist", "vien_chuc", 10), ("other", "hop_dong", 5)],
    "political_school": [("lecturer_political_school", "vien_chuc", 85), ("specialist", "vien_chuc", 15)],
    "school_preschool": [("teacher_preschool", "vien_chuc", 88), ("other", "hop_dong", 12)],
    "school_primary": [("teacher_primary", "vien_chuc", 92), ("other", "vien_chuc", 8)],
    "school_lower_secondary": [("teacher_lower_secondary", "vien_chuc", 92), ("other", "vien_chuc", 8)],
    "school_upper_secondary": [("teacher_upper_secondary", "vien_chuc", 93), ("other", "vien_chuc", 7)],
    "soe": [("other", "doanh_nghiep", 1)],
}
RANKS = ("office_deputy", "office_head", "department_deputy", "department_head", "province_deputy", "province_head")

KINH_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Phan", "Vũ", "Trương", "Đặng", "Bùi", "Đỗ", "Hồ",
               "Ngô", "Dương", "Lý")
KINH_MIDDLE = {"male": ("Văn", "Hữu", "Minh", "Quốc", "Thanh", "Đức", "Công", "Xuân", "Đình"),
               "female": ("Thị", "Ngọc", "Thu", "Kim", "Mỹ", "Thanh", "Bích")}
KINH_GIVEN = {"male": ("An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quang", "Sơn", "Tâm",
                       "Thắng", "Trung", "Tuấn", "Việt", "Đạt", "Lộc", "Hải", "Huy", "Kiên", "Toàn"),
              "female": ("Đào", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương", "Thảo",
                         "Trang", "Tuyết", "Vy", "Yến", "Ánh", "Diễm", "Huyền", "Loan")}
MINORITY_NAMES = {
    "05": (("Thạch", "Sơn", "Kim", "Danh", "Lâm", "Lý", "Trịnh"),
           {"male": ("Sa Rây", "Sô Phon", "Sóc Kha", "Chanh Đa", "Sà Rương", "Kha Ly", "Đa Ra"),
            "female": ("Thị Sa Rây", "Thị Sô Phi", "Thị Chanh Thu", "Thị Mỹ Phượng", "Thị Sà Ly")}),
    "08": (("Giàng", "Sùng", "Vàng", "Thào", "Lù", "Mùa"),
           {"male": ("A Páo", "Seo Chứ", "A Sử", "Mí Lử", "A Dình"), "female": ("Thị Mỷ", "Thị Dở", "Thị Chua", "Thị Pằng")}),
    "12": (("Y", "H'", "Niê", "Ksơr", "Êban", "Mlô"),
           {"male": ("Ngọc Niê", "Bhin Ayun", "Khuê Byă", "Wang Mlô"), "female": ("Mai Niê", "Loan Ksơr", "Hlin Êban")}),
    "04": (("Lý", "Quách", "Tăng", "Lưu", "Mã", "Diệp"),
           {"male": ("Chí Cường", "Kiến Hoa", "Văn Khải"), "female": ("Mỹ Linh", "Tú Anh", "Thị Hoa")}),
}
VN_SCHOOLS = {
    "specialist": ("Học viện Hành chính Quốc gia", ("Quản lý công", "Luật", "Kinh tế", "Hành chính học", "Tài chính")),
    "doctor": ("Trường Đại học Y Hà Nội", ("Y đa khoa", "Nội khoa", "Ngoại khoa", "Nhi khoa", "Sản phụ khoa")),
    "nurse": ("Trường Cao đẳng Y tế", ("Điều dưỡng",)),
    "pharmacist": ("Trường Đại học Dược Hà Nội", ("Dược học",)),
    "other_health": ("Trường Cao đẳng Y tế", ("Kỹ thuật xét nghiệm", "Hộ sinh")),
    "teacher": ("Trường Đại học Sư phạm Hà Nội", ("Sư phạm Toán", "Sư phạm Ngữ văn", "Sư phạm Tiếng Anh",
                                                   "Giáo dục Tiểu học", "Giáo dục Mầm non")),
    "lecturer": ("Học viện Chính trị quốc gia Hồ Chí Minh", ("Xây dựng Đảng và chính quyền nhà nước", "Triết học",
                                                             "Kinh tế chính trị")),
    "other": ("Trường Đại học Cần Thơ", ("Công nghệ thông tin", "Nông học", "Kế toán")),
}
ABROAD = (("AU", "University of Melbourne"), ("FR", "Université de Bordeaux"), ("JP", "Hiroshima University"),
          ("GB", "University of Leeds"), ("RU", "Moscow State University"), ("TH", "Kasetsart University"),
          ("US", "University of Hawaii"), ("KR", "Seoul National University"))
FOREIGN = (("en", 88), ("fr", 4), ("zh", 3), ("ru", 2), ("ja", 2), ("ko", 1))
CERTIFICATES = {"en": ("VSTEP", "IELTS", "TOEIC", "B1 khung châu Âu"), "fr": ("DELF",), "zh": ("HSK",), "ru": ("TRKI",),
                "ja": ("JLPT",), "ko": ("TOPIK",)}
TRAININGS = (("Bồi dưỡng lãnh đạo, quản lý cấp phòng", 120), ("Bồi dưỡng kiến thức quốc phòng và an ninh", 80),
             ("Bồi dưỡng ngạch chuyên viên chính", 240), ("Bồi dưỡng kỹ năng chuyển đổi số", 40),
             ("Bồi dưỡng công tác dân tộc", None), ("Bồi dưỡng chức danh nghề nghiệp", 160))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _years(day: date, years: int) -> date:
    return day.replace(year=day.year + years, day=min(day.day, 28))


@dataclass
class Unit:
    code: str
    record: Record
    tier: str
    ladder: str | None = None
    profile: str | None = None
    weight: float = 0.0
    successor: str | None = None  # where its staff continue from FIRST_DAY (when it closes)
    new: bool = False  # opens on FIRST_DAY
    old_province: str = ""  # bodies before the reform
    new_province: str = ""  # bodies after
    district: str | None = None
    commune: str | None = None  # the commune area (for commune bodies)
    commune_after: str | None = None
    minority: str | None = None
    ethnic_contact: bool = False


@dataclass
class Job:
    unit: Unit
    occupation: str
    category: str
    rung: int | None


@dataclass
class Post:
    unit: Unit
    title: str
    rank: str
    key: bool
    start: date
    end: date | None


@dataclass
class PersonState:
    record: Record
    birth: date
    gender: str
    ethnicity: str
    age: int
    left_on: date | None = None
    posts: list[Post] = field(default_factory=list)
    party_since: date | None = None


class Country:
    """The org-unit tree, population figures and the weighted list of staffed units."""

    def __init__(self, persons: int, rng: random.Random):
        self.rng = rng
        self.persons = persons
        self.scale = persons / NATIONAL_STAFF
        self.units: dict[str, Unit] = {}
        self.order: list[str] = []
        self.stats: list[Record] = []
        communes = max(2, round(persons / 100 / len(OLD_PROVINCES)))
        self.districts_per_province = max(1, round(math.sqrt(communes) * 0.9))
        self.communes_per_district = max(2, round(communes / self.districts_per_province))
        self.new_of: dict[str, str] = {}
        for new, _name, olds in MERGES:
            for old in olds:
                self.new_of[old] = f"N{new}"
        for old in KEPT:
            self.new_of[old] = f"P{old}"
        self._build()
        staffed = [u for u in self.units.values() if u.weight > 0 and not u.new]
        self.staffed = staffed
        acc, self.cum = 0.0, []
        for u in staffed:
            acc += u.weight
            self.cum.append(acc)
        self.total_weight = acc

    # ----- units -----
    def add(self, code: str, name: str, kind: str, tier: str, sector: str, parents: list[tuple[str, date, date | None]],
            *, valid_from: date = OPENED, valid_to: date | None = None, ethnic_contact: bool = False,
            local_languages: tuple[str, ...] = (), **extra: Any) -> Unit:
        record: Record = {"code": code, "name": name, "kind": kind, "tier": tier, "sector": sector,
                          "ethnic_contact": ethnic_contact, "valid_from": _iso(valid_from), "valid_to": _iso(valid_to),
                          "parents": [{"code": c, "start": _iso(s), "end": _iso(e)} for c, s, e in parents]}
        if local_languages:
            record["local_languages"] = list(local_languages)
        unit = Unit(code, record, tier, ethnic_contact=ethnic_contact, **extra)
        self.units[code] = unit
        self.order.append(code)
        return unit

    def population(self, code: str, thousands: float, *, new: bool = False) -> None:
        base = max(100, round(thousands * 1000 * self.scale))
        if new:
            self.stats.append({"code": "population", "org_unit": code, "period": _iso(FIRST_DAY), "value": base,
                               "source": "Cục Thống kê"})
            return
        for year in range(2021, 2026):
            value = round(base * (1 + 0.009 * (year - 2024)))
            self.stats.append({"code": "population", "org_unit": code, "period": str(year), "value": value,
                               "source": "Cục Thống kê"})

    def _build(self) -> None:
        pops = {c: p for c, _n, p, _m in OLD_PROVINCES}
        for new, name, olds in MERGES:
            self._new_province(new, name, sum(pops[o] for o in olds), next((m for c, _n, _p, m in OLD_PROVINCES
                                                                              if c in olds and m), None))
        for code, name, pop, minority in OLD_PROVINCES:
            self._old_province(code, name, pop, minority)

    def _agencies(self, p: str, pname: str, *, valid_from: date, valid_to: date | None, minority: str | None,
                  old: str, new: str, successor_prefix: str | None, is_new: bool) -> None:
        root = [(p, valid_from, valid_to)]
        common: dict[str, Any] = {"valid_from": valid_from, "valid_to": valid_to, "old_province": old, "new_province": new,
                                  "new": is_new, "minority": minority}

        def succ(suffix: str) -> str | None:
            return f"{successor_prefix}{suffix}" if successor_prefix else None

        self.add(f"{p}-TU", f"Văn phòng Tỉnh ủy {pname}", "party_agency", "province", "party", root, ladder="province_party",
                 profile="agency", weight=40, successor=succ("-TU"), **common)
        self.add(f"{p}-BTC", f"Ban Tổ chức Tỉnh ủy {pname}", "party_agency", "province", "party",
                 [(f"{p}-TU", valid_from, valid_to)], ladder="board", profile="agency", weight=25, successor=succ("-BTC"),
                 **common)
        self.add(f"{p}-UBND", f"Văn phòng Ủy ban nhân dân tỉnh {pname}", "state_agency", "province", "state", root,
                 ladder="province_gov", profile="agency", weight=60, successor=succ("-UBND"), **common)
        for suffix, name, sector in (("-SNV", "Sở Nội vụ", "state"), ("-SYT", "Sở Y tế", "health"),
                                     ("-SGD", "Sở Giáo dục và Đào tạo", "education")):
            self.add(f"{p}{suffix}", f"{name} tỉnh {pname}", "state_agency", "province", sector,
                     [(f"{p}-UBND", valid_from, valid_to)], ladder="department", profile="agency", weight=45,
                     successor=succ(suffix), **common)
        self.add(f"{p}-BDT", f"Ban Dân tộc tỉnh {pname}", "state_agency", "province", "state",
                 [(f"{p}-UBND", valid_from, valid_to)], ethnic_contact=True, ladder="board", profile="agency", weight=15,
                 successor=succ("-BDT"), **common)
        self.add(f"{p}-MTTQ", f"Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh {pname}", "mass_org", "province", "mass_org", root,
                 ladder="board", profile="agency", weight=20, successor=succ("-MTTQ"), **common)
        for suffix, name, kind, sector in (("-BCH", "Ban Chấp hành Đảng bộ tỉnh", "party_executive_committee", "party"),
                                           ("-BTV", "Ban Thường vụ Tỉnh ủy", "party_standing_committee", "party"),
                                           ("-HDND", "Hội đồng nhân dân tỉnh", "peoples_council", "state"),
                                           ("-DIEN", "Cán bộ diện Ban Thường vụ Tỉnh ủy quản lý", "management_list", "party"),
                                           ("-QH", "Quy hoạch cán bộ 2025-2030", "planning_pool", "party")):
            self.add(f"{p}{suffix}", f"{name} {pname}", kind, "province", sector, root, valid_from=valid_from,
                     valid_to=valid_to)

    def _new_province(self, code: str, name: str, pop: int, minority: str | None) -> None:
        p = f"N{code}"
        self.add(p, f"Tỉnh {name} (từ 2025)", "area", "province", "state", [], valid_from=FIRST_DAY)
        self.population(p, pop, new=True)
        self._agencies(p, name, valid_from=FIRST_DAY, valid_to=None, minority=minority, old=p, new=p,
                       successor_prefix=None, is_new=True)

    def _old_province(self, code: str, name: str, pop: int, minority: str | None) -> None:
        rng, p = self.rng, f"P{code}"
        merged = code not in KEPT
        new = self.new_of[code]
        end = LAST_DAY if merged else None
        self.add(p, f"Tỉnh {name}", "area", "province", "state", [], valid_to=end)
        self.population(p, pop)
        self._agencies(p, name, valid_from=OPENED, valid_to=end, minority=minority, old=p, new=new,
                       successor_prefix=new if merged else None, is_new=False)
        ctx: dict[str, Any] = {"old_province": p, "new_province": new, "minority": minority}

        def moved(parent_suffix: str) -> list[tuple[str, date, date | None]]:
            if not merged:
                return [(f"{p}{parent_suffix}", OPENED, None)]
            return [(f"{p}{parent_suffix}", OPENED, LAST_DAY), (f"{new}{parent_suffix}", FIRST_DAY, None)]

        schools = max(1, self.districts_per_province * 2)
        self.add(f"{p}-BVDK", f"Bệnh viện Đa khoa tỉnh {name}", "hospital", "province", "health", moved("-SYT"),
                 ladder="service", profile="hospital", weight=300, **ctx)
        self.add(f"{p}-CDYT", f"Trường Cao đẳng Y tế {name}", "college", "province", "education", moved("-UBND"),
                 ladder="service", profile="college", weight=40, **ctx)
        self.add(f"{p}-TCT", f"Trường Chính trị tỉnh {name}", "political_school", "province", "party", moved("-TU"),
                 ladder="service", profile="political_school", weight=20, **ctx)
        for k in range(1, schools + 1):
            self.add(f"{p}-THPT{k}", f"Trường THPT số {k} {name}", "school_upper_secondary", "province", "education",
                     moved("-SGD"), ladder="school", profile="school_upper_secondary", weight=60, **ctx)
        self.add(f"{p}-XSKT", f"Công ty TNHH MTV Xổ số kiến thiết {name}", "soe", "province", "soe", moved("-UBND"),
                 ladder="soe", profile="soe", weight=15, **ctx)
        district_pop = pop / self.districts_per_province
        for d in range(1, self.districts_per_province + 1):
            self._district(p, name, d, district_pop * rng.uniform(0.7, 1.3), ctx)

    def _district(self, p: str, pname: str, d: int, pop: float, ctx: dict[str, Any]) -> None:
        rng, h = self.rng, f"{p}-H{d:02d}"
        new = ctx["new_province"]
        up = [(h, OPENED, LAST_DAY)]
        closing: dict[str, Any] = {"valid_to": LAST_DAY, **ctx, "district": h}
        dname = f"Huyện {d} ({pname})"
        self.add(h, dname, "area", "district", "state", [(p, OPENED, LAST_DAY)], valid_to=LAST_DAY)
        self.population(h, pop)
        self.add(f"{h}-TTYT", f"Trung tâm Y tế {dname}", "health_center", "district", "health", up, **closing,
                 ladder="health_center", profile="hospital", weight=70, successor=f"{new}-TTYT-{h}")
        self.add(f"{new}-TTYT-{h}", f"Trung tâm Y tế khu vực {dname}", "health_center", "province", "health",
                 [(f"{new}-SYT", FIRST_DAY, None)], valid_from=FIRST_DAY, ladder="health_center", profile="hospital",
                 weight=1, new=True, old_province=new, new_province=new, minority=ctx["minority"])
        for suffix, name, kind, sector in (("-BCH", "Ban Chấp hành Đảng bộ", "party_executive_committee", "party"),
                                           ("-BTV", "Ban Thường vụ Huyện ủy", "party_standing_committee", "party"),
                                           ("-HDND", "Hội đồng nhân dân", "peoples_council", "state")):
            self.add(f"{h}{suffix}", f"{name} {dname}", kind, "district", sector, up, valid_to=LAST_DAY)
        n = self.communes_per_district
        commune_pop = pop / n
        merged_of: dict[int, str] = {}
        for g in range(n // 3):
            m = f"{h}-M{g + 1}"
            merged_of[3 * g + 1] = merged_of[3 * g + 2] = m
            contact = ctx["minority"] is not None and rng.random() < 0.5
            self.add(m, f"Xã mới {g + 1} ({dname})", "area", "commune", "state", [(new, FIRST_DAY, None)],
                     valid_from=FIRST_DAY, ethnic_contact=contact, local_languages=_spoken(ctx, contact))
            self.population(m, commune_pop * 2, new=True)
            for suffix, name, kind, sector, ladder in (("-UB", "Ủy ban nhân dân xã", "state_agency", "state", "commune_gov"),
                                                       ("-DU", "Đảng ủy xã", "party_agency", "party", "commune_party")):
                self.add(f"{m}{suffix}", f"{name} mới {g + 1} ({dname})", kind, "commune", sector, [(m, FIRST_DAY, None)],
                         valid_from=FIRST_DAY, ladder=ladder, profile="commune_agency", weight=1, new=True,
                         old_province=new, new_province=new, commune=m, commune_after=m, minority=ctx["minority"])
            for suffix, name, kind in (("-BCH", "Ban Chấp hành Đảng bộ xã", "party_executive_committee"),
                                       ("-HDND", "Hội đồng nhân dân xã", "peoples_council")):
                self.add(f"{m}{suffix}", f"{name} mới {g + 1} ({dname})", kind, "commune",
                         "party" if kind.startswith("party") else "state", [(m, FIRST_DAY, None)], valid_from=FIRST_DAY)
        # district agencies close; their staff continue in the first new commune (or the province's office)
        first_new = merged_of.get(1)
        for suffix, name, kind, sector, ladder, weight in (
                ("-HU", "Văn phòng Huyện ủy", "party_agency", "party", "district_party", 25),
                ("-UB", "Ủy ban nhân dân", "state_agency", "state", "district_gov", 40)):
            party = suffix == "-HU"
            target = f"{first_new}{'-DU' if party else '-UB'}" if first_new else f"{new}{'-TU' if party else '-UBND'}"
            self.add(f"{h}{suffix}", f"{name} {dname}", kind, "district", sector, up, **closing, ladder=ladder,
                     profile="agency", weight=weight, successor=target)
        for c in range(1, n + 1):
            self._commune(h, dname, c, merged_of.get(c), commune_pop * rng.uniform(0.6, 1.4), ctx)

    def _commune(self, h: str, dname: str, c: int, merged_into: str | None, pop: float, ctx: dict[str, Any]) -> None:
        rng, x = self.rng, f"{h}-X{c:02d}"
        new = ctx["new_province"]
        contact = ctx["minority"] is not None and rng.random() < 0.5
        cname = f"Xã {c} {dname}"
        stays = merged_into is None
        if stays:
            self.add(x, cname, "area", "commune", "state", [(h, OPENED, LAST_DAY), (new, FIRST_DAY, None)],
                     ethnic_contact=contact, local_languages=_spoken(ctx, contact))
        else:
            self.add(x, cname, "area", "commune", "state", [(h, OPENED, LAST_DAY)], valid_to=LAST_DAY,
                     ethnic_contact=contact, local_languages=_spoken(ctx, contact))
        self.population(x, pop)
        after = x if stays else merged_into
        base = {**ctx, "district": h, "commune": x, "commune_after": after}
        agency_end = None if stays else LAST_DAY
        for suffix, name, kind, sector, ladder in (("-UB", "Ủy ban nhân dân xã", "state_agency", "state", "commune_gov"),
                                                   ("-DU", "Đảng ủy xã", "party_agency", "party", "commune_party")):
            self.add(f"{x}{suffix}", f"{name} {c} ({dname})", kind, "commune", sector, [(x, OPENED, agency_end)],
                     valid_to=agency_end, ladder=ladder, profile="commune_agency", weight=7, **base,
                     successor=None if stays else f"{merged_into}{suffix}")
        for suffix, name, kind in (("-BCH", "Ban Chấp hành Đảng bộ xã", "party_executive_committee"),
                                   ("-HDND", "Hội đồng nhân dân xã", "peoples_council")):
            self.add(f"{x}{suffix}", f"{name} {c} ({dname})", kind, "commune", "party" if kind.startswith("party") else "state",
                     [(x, OPENED, agency_end)], valid_to=agency_end)
        links = [(x, OPENED, None)] if stays else [(x, OPENED, LAST_DAY), (merged_into, FIRST_DAY, None)]
        for suffix, name, kind, ladder, profile, weight in (
                ("-TYT", "Trạm Y tế xã", "commune_health_station", "station", "station", 5),
                ("-MN", "Trường Mầm non", "school_preschool", "school", "school_preschool", 14),
                ("-TH", "Trường Tiểu học", "school_primary", "school", "school_primary", 22),
                ("-THCS", "Trường THCS", "school_lower_secondary", "school", "school_lower_secondary", 20)):
            sector = "health" if kind == "commune_health_station" else "education"
            self.add(f"{x}{suffix}", f"{name} {c} ({dname})", kind, "commune", sector, links, ladder=ladder,
                     profile=profile, weight=weight * rng.uniform(0.7, 1.3), ethnic_contact=False, **base)

    def pick(self) -> Unit:
        return self.staffed[bisect.bisect_right(self.cum, self.rng.random() * self.total_weight)]

    def org_unit_records(self) -> list[Record]:
        return [self.units[c].record for c in self.order]

    def contact(self, unit: Unit) -> bool:
        """Flagged itself, or lies in a flagged commune (the flag is inherited)."""
        if unit.ethnic_contact:
            return True
        return unit.commune is not None and self.units[unit.commune].ethnic_contact


class PersonMaker:
    """One person at a time, from a seeded stream: the same index sequence gives the same persons."""

    def __init__(self, country: Country, rng: random.Random):
        self.c, self.rng = country, rng
        self.hired: dict[str, int] = {}

    def day(self, lo: date, hi: date) -> date:
        return lo if hi <= lo else lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    def job(self) -> Job:
        unit = self.c.pick()
        rung = self.hired.get(unit.code, 0)
        self.hired[unit.code] = rung + 1
        assert unit.profile is not None and unit.ladder is not None
        mix = PROFILES[unit.profile]
        occupation, category, _w = self.rng.choices(mix, weights=[w for *_x, w in mix])[0]
        ladder = LADDERS[unit.ladder]
        if rung >= len(ladder):
            return Job(unit, occupation, category, None)
        if unit.profile == "agency":
            occupation, category = "specialist", ("can_bo" if rung < 3 else "cong_chuc")
        elif unit.profile == "commune_agency":
            occupation, category = "specialist", "cap_xa_chuyen_trach"
        elif unit.profile == "hospital":
            occupation, category = "doctor", "vien_chuc"
        elif unit.profile in ("college", "political_school") or unit.profile.startswith("school"):
            occupation, category = PROFILES[unit.profile][0][0], "vien_chuc"
        return Job(unit, occupation, category, rung)

    def make(self, index: int) -> Record:
        rng, job = self.rng, self.job()
        female_share = 0.75 if job.occupation.startswith(("teacher", "nurse")) else 0.45 if job.rung is None else 0.3
        gender = "female" if rng.random() < female_share else "male"
        minority = job.unit.minority
        contact = self.c.contact(job.unit)
        if minority and rng.random() < (0.55 if contact else 0.2):
            ethnicity = minority
        else:
            ethnicity = "01" if rng.random() < 0.97 else rng.choice(("04", "06", "07", "02"))
        low = 40 if job.rung == 0 else 28 if job.rung is not None else 22
        age = min(60, max(low, int(rng.triangular(low, 61, 42))))
        birth = self.day(date(2025 - age, 1, 1), date(2025 - age, 12, 31))
        start = min(self.day(_years(birth, 22), _years(birth, min(age, 33))), date(2025, 11, 30))
        name = self.name(ethnicity, gender)
        record: Record = {"external_id": f"VN-{index + 1:07d}", "full_name": name, "birth_date": _iso(birth),
                          "gender": gender, "ethnicity": ethnicity}
        p = PersonState(record, birth, gender, ethnicity, age)
        if job.rung is None and start < date(2021, 1, 1) and rng.random() < 0.03:
            p.left_on = self.day(date(2022, 1, 1), date(2024, 12, 31))
        if rng.random() < 0.9:
            century = (0 if birth.year < 2000 else 2) + (1 if gender == "female" else 0)
            record["national_id"] = f"{rng.randint(1, 96):03d}{century}{birth.year % 100:02d}{(index + 1) % 1_000_000:06d}"
        elif rng.random() < 0.5:
            record["national_id"] = None
        leader = job.rung is not None and job.rung < 4
        if leader or rng.random() < 0.5:
            latest = max(_years(birth, 21), min(HORIZON, _years(birth, 38)))
            p.party_since = self.day(_years(birth, 19), latest)
            record["party_member_since"] = _iso(p.party_since)
        record["general_education"] = rng.choices(("12/12", "9/12", "10/10", "11/12"), weights=(93, 2, 4, 1))[0] if age < 50 \
            else rng.choices(("12/12", "10/10", "9/12"), weights=(70, 27, 3))[0]
        self.employ(p, job, start)
        Qualifier(self, p, job, start).apply()
        self.memberships(p, job)
        self.clip(p)
        self.drop_some_empty_lists(record)
        return record

    def name(self, ethnicity: str, gender: str) -> str:
        rng = self.rng
        if ethnicity in MINORITY_NAMES:
            families, given = MINORITY_NAMES[ethnicity]
            return f"{rng.choice(families)} {rng.choice(given[gender])}"
        return f"{rng.choice(KINH_FAMILY)} {rng.choice(KINH_MIDDLE[gender])} {rng.choice(KINH_GIVEN[gender])}"

    def employ(self, p: PersonState, job: Job, start: date) -> None:
        rng, c = self.rng, self.c
        unit, category = job.unit, job.category
        if unit.successor and start > date(2025, 5, 31):
            unit, start = c.units[unit.successor], max(start, FIRST_DAY)
        if start >= FIRST_DAY and category.startswith("cap_xa"):
            category = "cong_chuc"
        employments: list[Record] = []
        if start > _years(p.birth, 27) and rng.random() < 0.15:  # an earlier job elsewhere
            prev = c.pick()
            prev_start = self.day(_years(p.birth, 22), start - timedelta(days=400))
            prev_cat = "cong_chuc" if prev.profile in ("agency", "commune_agency") else "vien_chuc"
            if prev.profile == "soe":
                prev_cat = "doanh_nghiep"
            prev_occ = PROFILES[prev.profile or "agency"][0][0] if prev.profile != "commune_agency" else "specialist"
            if prev_start < start - timedelta(days=30):
                employments.append({"org_unit": prev.code, "category": prev_cat, "occupation": prev_occ, "primary": True,
                                    "start": _iso(prev_start), "end": _iso(start - timedelta(days=1))})
        primary: Record = {"org_unit": unit.code, "category": category, "occupation": job.occupation, "primary": True,
                           "start": _iso(start), "end": None}
        employments.append(primary)
        ladder = LADDERS[unit.ladder or "school"]
        if job.rung is not None and job.rung < len(ladder):
            post_start = self.day(_years(start, 2), date(2025, 5, 31)) if start < date(2023, 5, 31) else start
            title, rank, key = ladder[job.rung]
            p.posts.append(Post(unit, title, rank, key, post_start, None))
        closes = unit.successor is not None and start <= LAST_DAY
        if (closes or category.startswith("cap_xa")) and p.left_on is None and start <= LAST_DAY:
            successor = c.units[unit.successor] if closes and unit.successor else unit
            primary["end"] = _iso(LAST_DAY)
            category = "cong_chuc" if category.startswith("cap_xa") else category
            employments.append({"org_unit": successor.code, "category": category, "occupation": job.occupation,
                                "primary": True, "start": _iso(FIRST_DAY), "end": None})
            if p.posts:
                post = p.posts[0]
                post.end = LAST_DAY
                rank, key = post.rank, post.key
                if successor is not unit and rank in ("province_head", "department_head") and rng.random() < 0.5:
                    rank, key = ("province_deputy" if rank == "province_head" else "department_deputy"), False
                succ_ladder = LADDERS[successor.ladder or "school"]
                title = next((t for t, r, _k in succ_ladder if r == rank), post.title)
                p.posts.append(Post(successor, title, rank, key, FIRST_DAY, None))
        employments += self.concurrent(job, start)
        p.record["employments"] = employments
        p.record["positions"] = [{"org_unit": q.unit.code, "title": q.title, "rank": q.rank, "key_leader": q.key,
                                  "start": _iso(q.start), "end": _iso(q.end)} for q in p.posts]

    def concurrent(self, job: Job, start: date) -> list[Record]:
        rng = self.rng
        if job.occupation not in ("doctor", "specialist") or rng.random() > 0.06 or job.unit.new:
            return []
        prov = job.unit.old_province
        code, occupation = (f"{prov}-CDYT", "lecturer_college") if job.occupation == "doctor" else (f"{prov}-TCT",
                                                                                                   "lecturer_political_school")
        if code == job.unit.code or code not in self.c.units:
            return []
        begin = self.day(_years(start, 3), date(2025, 3, 1)) if start < date(2022, 3, 1) else start
        return [{"org_unit": code, "category": "vien_chuc", "occupation": occupation, "primary": False,
                 "start": _iso(begin), "end": None}]

    # ----- memberships, derived from posts -----
    def body_for(self, unit: Unit, suffix: str, on: date) -> str | None:
        """The body of the area the unit belongs to on `on` (old order before the reform, new after)."""
        after = on >= FIRST_DAY
        if unit.tier == "province":
            return f"{unit.new_province if after else unit.old_province}{suffix}"
        if unit.tier == "district":
            return None if after or unit.district is None else f"{unit.district}{suffix}"
        area = unit.commune_after if after else unit.commune
        return f"{area}{suffix}" if area else None

    def memberships(self, p: PersonState, job: Job) -> None:
        rng = self.rng
        seats: list[tuple[str, str, date, date | None]] = []
        for post in p.posts:
            unit, level = post.unit, RANKS.index(post.rank)
            agency = unit.profile in ("agency", "commune_agency")
            bodies: list[tuple[str, str, date]] = []
            if unit.tier == "province" and (level >= 3 or (level == 2 and agency)):
                role = "secretary" if post.rank == "province_head" and unit.ladder == "province_party" else \
                    "deputy_secretary" if post.key and post.rank == "province_deputy" else "member"
                bodies.append(("-BCH", role, BCH_TERM))
                bodies.append(("-DIEN", "member", BCH_TERM))
                if post.key or (post.rank == "department_head" and unit.ladder == "board"):
                    bodies.append(("-BTV", "member", BCH_TERM))
                if post.key or rng.random() < 0.25:
                    bodies.append(("-HDND", "chair" if post.rank == "province_head" and unit.ladder == "province_gov"
                                   else "delegate", HDND_TERM))
            elif unit.tier == "province" and level >= 2:
                bodies.append(("-DIEN", "member", BCH_TERM))
            if unit.tier == "district" and agency:
                bodies.append(("-BCH", "secretary" if post.key and post.rank == "department_head" and
                               unit.ladder == "district_party" else "member", DISTRICT_BCH_TERM))
                if post.key:
                    bodies.append(("-BTV", "member", DISTRICT_BCH_TERM))
                    bodies.append(("-HDND", "delegate", HDND_TERM))
            if unit.tier == "commune" and agency:
                bodies.append(("-BCH", "secretary" if post.key and unit.ladder == "commune_party" else "member",
                               COMMUNE_BCH_TERM))
                bodies.append(("-HDND", "chair" if post.key and unit.ladder == "commune_gov" else "delegate", HDND_TERM))
            if level <= 1 and p.age < 45 and unit.tier == "province" and rng.random() < 0.35:
                bodies.append(("-QH", "candidate", PLANNING))  # planning.md: a pool's members are its candidates
            for suffix, role, term in bodies:
                start = max(term, post.start)
                if post.end is not None and post.end < start:
                    continue
                seats.extend(self.split_seat(unit, suffix, role, start, post.end))
        # a few ordinary staff sit in their commune's council
        unit = job.unit
        if unit.tier == "commune" and job.rung is None and not p.posts and rng.random() < 0.05:
            seats.extend(self.ordinary_seat(p, unit))
        p.record["memberships"] = [{"body": b, "role": r, "start": _iso(s), "end": _iso(e)} for b, r, s, e in _merge(seats)]

    def split_seat(self, unit: Unit, suffix: str, role: str, start: date,
                   end: date | None) -> list[tuple[str, str, date, date | None]]:
        """A seat in the body of the unit's area: the old body until the reform, the new one after."""
        out: list[tuple[str, str, date, date | None]] = []
        spans = [(start, end)]
        if start <= LAST_DAY and (end is None or end >= FIRST_DAY):
            spans = [(start, LAST_DAY), (FIRST_DAY, end)]
        for s, e in spans:
            body = self.body_for(unit, suffix, s)
            if body is None or body not in self.c.units:
                continue
            closes = self.c.units[body].record["valid_to"]
            if closes is not None and (e is None or e.isoformat() > closes):
                e = date.fromisoformat(closes)
            out.append((body, role, s, e))
        return out

    def ordinary_seat(self, p: PersonState, unit: Unit) -> list[tuple[str, str, date, date | None]]:
        emp = next((e for e in p.record["employments"] if e["org_unit"] == unit.code), None)
        if emp is None:
            return []
        start = max(HDND_TERM, date.fromisoformat(emp["start"]))
        return [] if start > LAST_DAY else self.split_seat(unit, "-HDND", "delegate", start, None)

    def clip(self, p: PersonState) -> None:
        """A person who left ends every employment, post and seat on the leaving day."""
        if p.left_on is None:
            return
        last = _iso(p.left_on)
        for name in ("employments", "positions", "memberships"):
            kept = []
            for item in p.record.get(name, []):
                if item["start"] > last:
                    continue
                if item["end"] is None or item["end"] > last:
                    item["end"] = last
                kept.append(item)
            p.record[name] = kept

    def drop_some_empty_lists(self, record: Record) -> None:
        rng = self.rng
        for name in ("positions", "memberships", "specialties", "academic_titles", "it_skills", "trainings"):
            if not record.get(name) and rng.random() < 0.5:
                record.pop(name, None)
        for item in record.get("employments", []) + record.get("positions", []):
            if item["end"] is None and rng.random() < 0.3:
                del item["end"]


class Qualifier:
    """Qualifications that fit the person's job, age and posts."""

    def __init__(self, maker: PersonMaker, p: PersonState, job: Job, start: date):
        self.m, self.p, self.job, self.start, self.rng = maker, p, job, start, maker.rng
        self.adult = _years(p.birth, 18)

    def day(self, lo: date, hi: date) -> date:
        lo = max(lo, self.adult)
        return self.m.day(lo, max(lo, min(hi, HORIZON)))

    def apply(self) -> None:
        r = self.p.record
        r["degrees"] = self.degrees()
        r["languages"] = self.languages()
        r["political_theory"] = self.political_theory()
        r["state_management"] = self.state_management()
        r["specialties"] = self.specialties()
        r["academic_titles"] = self.academic_titles(r["degrees"])
        r["it_skills"] = self.it_skills()
        r["trainings"] = self.trainings()

    def top_rank(self) -> int:
        return max((RANKS.index(q.rank) for q in self.p.posts), default=-1)

    def degrees(self) -> list[Record]:
        rng, occ, cat = self.rng, self.job.occupation, self.job.category
        school_key = "teacher" if occ.startswith("teacher") else "lecturer" if occ.startswith("lecturer") else occ
        school, fields = VN_SCHOOLS.get(school_key, VN_SCHOOLS["other"])
        base_levels = {
            "doctor": (("bachelor", 100),), "nurse": (("intermediate", 25), ("college", 50), ("bachelor", 25)),
            "pharmacist": (("college", 30), ("bachelor", 70)), "other_health": (("intermediate", 55), ("college", 45)),
            "teacher_preschool": (("intermediate", 4), ("college", 46), ("bachelor", 50)),
            "teacher_primary": (("college", 12), ("bachelor", 88)), "teacher_lower_secondary": (("college", 6), ("bachelor", 94)),
            "teacher_upper_secondary": (("bachelor", 100),), "lecturer_college": (("bachelor", 100),),
            "lecturer_political_school": (("bachelor", 100),),
            "specialist": (("intermediate", 20), ("college", 15), ("bachelor", 65)) if cat.startswith("cap_xa")
            else (("intermediate", 2), ("college", 4), ("bachelor", 94)),
            "other": (("intermediate", 40), ("college", 30), ("bachelor", 30)),
        }[occ]
        level = rng.choices([lv for lv, _w in base_levels], weights=[w for _lv, w in base_levels])[0]
        if occ == "other" and rng.random() < 0.25:
            return []
        years = {"intermediate": 20, "college": 21, "bachelor": 22}[level]
        first = self.day(_years(self.p.birth, years), self.start)
        out = [{"level": level, "field": rng.choice(fields), "institution": school, "country": "VN", "awarded_on": _iso(first)}]
        if level == "bachelor":
            p_master = {"lecturer_college": 0.85, "lecturer_political_school": 0.9, "specialist": 0.2,
                        "teacher_upper_secondary": 0.12, "doctor": 0.1, "pharmacist": 0.06,
                        "teacher_lower_secondary": 0.04}.get(occ, 0.02)
            if self.top_rank() >= 0:
                p_master += 0.15 + 0.1 * self.top_rank()
            if rng.random() < p_master:
                awarded = self.day(_years(first, 2), _years(first, 16))
                out.append(self.higher("master", awarded, fields))
                p_doc = {"lecturer_college": 0.2, "lecturer_political_school": 0.25, "doctor": 0.25}.get(occ, 0.08)
                if rng.random() < p_doc:
                    out.append(self.higher("doctor", self.day(_years(awarded, 3), _years(awarded, 12)), fields))
        elif rng.random() < 0.25:
            nxt = "college" if level == "intermediate" else "bachelor"
            out.append({"level": nxt, "field": rng.choice(fields), "institution": school, "country": "VN",
                        "awarded_on": _iso(self.day(_years(first, 2), _years(first, 12)))})
        return out

    def higher(self, level: str, awarded: date, fields: tuple[str, ...]) -> Record:
        rng = self.rng
        if rng.random() < 0.1:
            country, institution = rng.choice(ABROAD)
        else:
            country, institution = "VN", rng.choice(("Học viện Hành chính Quốc gia", "Trường Đại học Kinh tế Quốc dân",
                                                     "Trường Đại học Cần Thơ", "Đại học Quốc gia Hà Nội"))
        item: Record = {"level": level, "field": rng.choice(fields), "institution": institution, "country": country,
                        "awarded_on": _iso(awarded)}
        if rng.random() < 0.1:
            del item["institution"]
        return item

    def languages(self) -> list[Record]:
        rng, out = self.rng, []
        boost = 1 if self.job.occupation.startswith("lecturer") or self.top_rank() >= 2 else 0
        level = rng.choices((0, 1, 2, 3, 4, 5, 6), weights=(10, 5, 25, 35, 15, 7, 3))[0]
        if level:
            level = min(6, level + boost)
            lang = rng.choices([lg for lg, _w in FOREIGN], weights=[w for _lg, w in FOREIGN])[0]
            out.append({"language": lang, "kind": "foreign", "level": level,
                        "certificate": rng.choice(CERTIFICATES[lang]), "awarded_on": _iso(self.day(_years(self.p.birth, 20),
                                                                                                 HORIZON))})
            if rng.random() < 0.15 and level < 6:  # a later, better certificate
                out.append({"language": lang, "kind": "foreign", "level": level + 1, "certificate": None,
                            "awarded_on": _iso(self.day(date(2023, 1, 1), HORIZON))})
        minority = self.job.unit.minority
        own = LANGUAGE_OF.get(self.p.ethnicity)
        if own is not None:
            if rng.random() < 0.93:
                out.append({"language": own, "kind": "ethnic_minority", "fluent": rng.random() < 0.9,
                            "awarded_on": _iso(self.day(_years(self.p.birth, 18), _years(self.p.birth, 30)))})
        elif minority and self.m.c.contact(self.job.unit) and rng.random() < 0.3 and minority in LANGUAGE_OF:
            item: Record = {"language": LANGUAGE_OF[minority], "kind": "ethnic_minority", "fluent": rng.random() < 0.7,
                            "awarded_on": _iso(self.day(self.start, HORIZON))}
            if rng.random() < 0.5:
                item["certificate"] = "Chứng chỉ tiếng dân tộc thiểu số"
            out.append(item)
        return out

    def political_theory(self) -> list[Record]:
        rng, out = self.rng, []
        since = self.p.party_since
        if since is None:
            return []
        rank = self.top_rank()
        first = self.day(since, _years(since, 3))
        out.append({"level": "so_cap", "awarded_on": _iso(first)})
        if rank >= 0 or rng.random() < 0.35:
            out.append({"level": "trung_cap", "awarded_on": _iso(self.day(_years(first, 2), _years(first, 10)))})
            if rank >= 2 or (rank >= 0 and rng.random() < 0.3):
                level = "cu_nhan" if rng.random() < 0.15 else "cao_cap"
                out.append({"level": level, "awarded_on": _iso(self.day(_years(first, 5), _years(first, 16)))})
        return out

    def state_management(self) -> list[Record]:
        rng, cat, rank = self.rng, self.job.category, self.top_rank()
        if cat not in ("can_bo", "cong_chuc", "cap_xa_chuyen_trach", "cap_xa_cong_chuc") and rank < 0:
            return []
        if rng.random() < 0.25 and rank < 0:
            return []
        first = self.day(_years(self.start, 1), _years(self.start, 4))
        out = [{"level": "chuyen_vien", "awarded_on": _iso(first)}]
        if rank >= 2 or (rank >= 0 and rng.random() < 0.5):
            out.append({"level": "chuyen_vien_chinh", "awarded_on": _iso(self.day(_years(first, 4), _years(first, 12)))})
            if rank >= 4 or (rank >= 2 and rng.random() < 0.4):
                out.append({"level": "chuyen_vien_cao_cap", "awarded_on": _iso(self.day(_years(first, 8), _years(first, 18)))})
        return out

    def specialties(self) -> list[Record]:
        rng = self.rng
        if self.job.occupation != "doctor":
            return []
        out = []
        if rng.random() < 0.48:
            fields = ("Nội khoa", "Ngoại khoa", "Nhi khoa", "Sản phụ khoa", "Y học cổ truyền")
            field_ = rng.choice(fields)
            ck1 = self.day(_years(self.start, 3), _years(self.start, 10))
            out.append({"level": "ck1", "field": field_, "awarded_on": _iso(ck1)})
            if rng.random() < 0.15:
                out.append({"level": "ck2", "field": field_, "awarded_on": _iso(self.day(_years(ck1, 4), _years(ck1, 10)))})
        return out

    def academic_titles(self, degrees: list[Record]) -> list[Record]:
        doc = next((d for d in degrees if d["level"] == "doctor"), None)
        if doc is None or self.rng.random() > 0.15:
            return []
        awarded = self.day(_years(date.fromisoformat(doc["awarded_on"]), 5), HORIZON)
        out = [{"title": "pgs", "field": doc["field"], "awarded_on": _iso(awarded)}]
        if self.rng.random() < 0.1:
            out.append({"title": "gs", "field": doc["field"], "awarded_on": _iso(self.day(_years(awarded, 5), HORIZON))})
        return out

    def it_skills(self) -> list[Record]:
        rng = self.rng
        level = rng.choices((None, "basic", "advanced"), weights=(30, 58, 12))[0]
        if level is None:
            return []
        return [{"level": level, "certificate": rng.choice(("Chứng chỉ ứng dụng CNTT", None)),
                 "awarded_on": _iso(self.day(_years(self.p.birth, 19), HORIZON))}]

    def trainings(self) -> list[Record]:
        rng = self.rng
        courses = rng.sample(TRAININGS, k=rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0])
        return [{"course": c, "hours": h, "completed_on": _iso(self.day(self.start, HORIZON))} for c, h in courses]


def _merge(seats: list[tuple[str, str, date, date | None]]) -> list[tuple[str, str, date, date | None]]:
    """Seats in the same body and role that touch or overlap become one."""
    out: list[tuple[str, str, date, date | None]] = []
    for body, role, start, end in sorted(seats, key=lambda t: (t[0], t[1], t[2])):
        if out and out[-1][0] == body and out[-1][1] == role:
            _b, _r, s0, e0 = out[-1]
            if e0 is None or start <= e0 + timedelta(days=1):
                out[-1] = (body, role, s0, None if e0 is None or end is None else max(e0, end))
                continue
        out.append((body, role, start, end))
    return out


def _dump(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def generate(persons: int, out: Path, seed: int = 1) -> dict[str, Any]:
    """Write the three files and manifest.json under `out`; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    country = Country(persons, rng)
    with (out / "org-units.jsonl").open("w", encoding="utf-8") as f:
        for rec in country.org_unit_records():
            f.write(_dump(rec))
    stats = country.stats + _reported(country)
    with (out / "statistics.jsonl").open("w", encoding="utf-8") as f:
        for rec in stats:
            f.write(_dump(rec))
    maker = PersonMaker(country, random.Random(seed * 7919 + 1))
    with (out / "persons.jsonl").open("w", encoding="utf-8") as f:
        for i in range(persons):
            f.write(_dump(maker.make(i)))
    units = country.units
    manifest = {
        "seed": seed, "persons": persons, "org_units": len(units), "statistics": len(stats),
        "districts_per_province": country.districts_per_province, "communes_per_district": country.communes_per_district,
        "sample": _sample(country),
        "bytes": {name: (out / name).stat().st_size for name in ("org-units.jsonl", "persons.jsonl", "statistics.jsonl")},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return manifest


def _reported(country: Country) -> list[Record]:
    """Reported figures for the reported targets, for every province before and after the reform."""
    rng, out = country.rng, []
    for unit in country.units.values():
        if unit.record["kind"] != "area" or unit.tier != "province":
            continue
        code = unit.code
        if unit.record["valid_from"] == _iso(FIRST_DAY):
            periods = [_iso(FIRST_DAY)]
        else:
            periods = ["2022", "2023", "2024"] + (["2025"] if unit.record["valid_to"] is None else [])
        for period in periods:
            for stat, lo, hi in (("CT-2025-LABOUR-TRAINED", 0.6, 0.9), ("ST-2025-LABOUR-TRAINED", 0.55, 0.8),
                                 ("ST-2025-EMPLOYMENT-RATE", 0.8, 0.95)):
                out.append({"code": stat, "org_unit": code, "period": period, "value": round(rng.uniform(lo, hi), 4),
                            "source": "Sở Lao động - Thương binh và Xã hội"})
            out.append({"code": "ST-2025-JOBS-YEARLY", "org_unit": code, "period": period,
                        "value": max(1, round(rng.uniform(20000, 32000) * country.scale * 40)), "source": "Sở Nội vụ"})
    return out


def _spoken(ctx: dict[str, Any], contact: bool) -> tuple[str, ...]:
    """The local languages a commune of ethnic contact lists: its province's main minority's (interchange.md
    `local_languages`, inherited by the units under it; spec revision 2, point 8)."""
    minority = ctx["minority"]
    return (LANGUAGE_OF[minority],) if contact and minority in LANGUAGE_OF else ()


def _sample(country: Country) -> dict[str, Any]:
    """Units the benchmark queries: an old province (Sóc Trăng), a new one (Cần Thơ), a district, a commune."""
    return {"province_old": "P94", "province_kept": "P01", "province_new": "N92", "district": "P94-H01",
            "commune": "P94-H01-X01", "commune_new": "P94-H01-M1" if "P94-H01-M1" in country.units else None,
            "school": "P94-H01-X01-TH", "hospital": "P94-BVDK"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    manifest = generate(args.persons, args.out, args.seed)
    print(json.dumps({k: v for k, v in manifest.items() if k != "sample"}))  # noqa: T201


if __name__ == "__main__":
    main()
