"""Faults: concurrent writers with If-Match, an import killed midway, backup and restore."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import BOOT, Registry, uniq


def _unit_and_person(registry: Registry) -> tuple[str, str]:
    code = uniq("F")
    unit = {
        "code": code,
        "name": "Xã F",
        "kind": "area",
        "tier": "commune",
        "sector": "state",
        "valid_from": "2000-01-01",
        "parents": [],
    }
    assert registry.import_lines("org-units", [json.dumps(unit, ensure_ascii=False)])["errors"] == []
    pid = f"{code}-P"
    person = {
        "external_id": pid,
        "full_name": "Đặng Văn Bình",
        "birth_date": "1980-02-29",
        "gender": "male",
        "employments": [{"org_unit": code, "category": "cong_chuc", "primary": True, "start": "2010-01-01"}],
    }
    assert registry.import_lines("persons", [json.dumps(person, ensure_ascii=False)])["created"] == 1
    return code, pid


def test_concurrent_writers_with_if_match_lose_nothing(registry: Registry) -> None:
    _code, pid = _unit_and_person(registry)
    writers, errors = 8, []

    def add_course(n: int) -> None:
        client = TestClient(create_app())
        headers = {"Authorization": f"Bearer {BOOT}"}
        for _attempt in range(200):
            got = client.get(f"/api/v1/persons/{pid}", headers=headers)
            trainings = got.json()["trainings"] + [{"course": f"Khóa {n}", "hours": n, "completed_on": "2020-01-01"}]
            r = client.patch(
                f"/api/v1/persons/{pid}", json={"trainings": trainings}, headers=headers | {"If-Match": got.headers["ETag"]}
            )
            if r.status_code == 200:
                return
            if r.status_code != 412:
                errors.append(f"{n}: {r.status_code} {r.text[:200]}")
                return
        errors.append(f"{n}: gave up")

    threads = [threading.Thread(target=add_course, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    final = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers()).json()
    assert sorted(t["course"] for t in final["trainings"]) == sorted(f"Khóa {n}" for n in range(writers))


def test_a_stale_if_match_is_412_and_writes_nothing(registry: Registry) -> None:
    _code, pid = _unit_and_person(registry)
    etag = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers()).headers["ETag"]
    assert (
        registry.client.patch(
            f"/api/v1/persons/{pid}", json={"full_name": "Đặng Văn An"}, headers=registry.headers() | {"If-Match": etag}
        ).status_code
        == 200
    )
    r = registry.client.patch(
        f"/api/v1/persons/{pid}", json={"full_name": "Đặng Văn Cũ"}, headers=registry.headers() | {"If-Match": etag}
    )
    assert (r.status_code, r.json()["code"]) == (412, "precondition_failed")
    assert registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers()).json()["full_name"] == "Đặng Văn An"


CRASHING_IMPORT = """
import os, sys
from app.services import person_batch
real, calls = person_batch._apply, {"n": 0}
def dying(*args, **kwargs):
    calls["n"] += 1
    real(*args, **kwargs)  # the batch's rows are written...
    if calls["n"] > int(os.environ["DIE_AFTER"]):
        os._exit(9)  # ...and the process is killed before the commit: no cleanup
person_batch._apply = dying
from app.cli import app
sys.argv = ["registry", "import", sys.argv[1], "--kind", "persons"]
app()
"""


def test_an_import_killed_midway_and_rerun_leaves_no_duplicate_or_half_person(registry: Registry, tmp_path: Path) -> None:
    code, _pid = _unit_and_person(registry)
    people = [
        {
            "external_id": f"{code}-{i:04d}",
            "full_name": f"Trần Thị {i}",
            "birth_date": "1990-01-01",
            "gender": "female",
            "employments": [{"org_unit": code, "category": "vien_chuc", "primary": True, "start": "2015-01-01"}],
            "degrees": [
                {"level": "bachelor", "field": "Y khoa", "institution": None, "country": "VN", "awarded_on": "2014-06-01"}
            ],
        }
        for i in range(1200)
    ]
    path = tmp_path / "persons.jsonl"
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in people) + "\n", encoding="utf-8")
    env = os.environ | {"DATABASE_URL": registry.url, "DIE_AFTER": "1"}  # batches of 500: the second dies
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_IMPORT, str(path)], env=env, capture_output=True, timeout=300, check=False
    )
    assert killed.returncode == 9, killed.stderr.decode()[-2000:]
    rerun = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", str(path), "--kind", "persons"],
        env=env | {"DIE_AFTER": ""},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    counts = json.loads(rerun.stdout.decode().strip().splitlines()[-1])
    assert counts["created"] + counts["unchanged"] == 1200 and counts["unchanged"] == 500  # one batch of 500 was committed
    exported = [json.loads(line) for line in registry.export("persons").splitlines()]
    mine = [p for p in exported if p["external_id"].startswith(f"{code}-0") or p["external_id"].startswith(f"{code}-1")]
    assert len(mine) == 1200 and len({p["external_id"] for p in mine}) == 1200
    assert all(len(p["degrees"]) == 1 and len(p["employments"]) == 1 for p in mine)


def test_backup_and_restore_round_trip_to_an_identical_export(registry: Registry, fresh_registry: Any, tmp_path: Path) -> None:
    from app.services import backup

    _unit_and_person(registry)
    before = {kind: registry.export(kind) for kind in ("org-units", "persons", "statistics")}
    target = tmp_path / "registry.backup"
    backup.backup(registry.url, target)
    empty = fresh_registry()
    backup.restore(empty.url, target)
    from tests.conftest import _bind

    restored = _bind(empty.url)
    for kind, text in before.items():
        r = restored.get(f"/api/v1/exports/{kind}", headers={"Authorization": f"Bearer {BOOT}"})
        assert r.status_code == 200 and r.text == text, kind
