"""What the dashboard tests share: the live server handle, constants, signing in, poppler tools."""

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BOOT

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
AS_OF = "2024-12-31"
PROVINCE = "ST"
DISTRICT = "ST-H1"
COMMUNE = "ST-H1-M"  # made of merged communes on 2025-07-01
LABOUR = [("ST", "2021", 0.55), ("ST", "2022", 0.58), ("ST", "2023", 0.62), ("ST", "2024", 0.66),
          ("ST-H1", "2024", 0.61), ("ST-H2", "2024", 0.70), ("ST-H3", "2024", 0.52), ("ST-H4", "2024", 0.66)]


@dataclass
class LiveServer:
    """The running service and the tokens the tests sign in with."""

    base: str
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def death(self) -> str | None:
        """Why the server is gone, with the end of its log; None while it runs. A test failing on a dead server
        (connection refused, "Failed to fetch") says so in its report rather than only what the browser saw."""
        if self.proc is None or self.proc.poll() is None:
            return None
        tail = self.log.read_text(errors="replace")[-4000:] if self.log is not None and self.log.exists() else ""
        return f"the server at {self.base} exited with {self.proc.returncode}; the end of {self.log}:\n{tail}"

    def client(self, token: str | None = BOOT) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=300, follow_redirects=False)

    def api(self, path: str, token: str = BOOT, **params: Any) -> Any:
        with self.client(token) as c:
            r = c.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def value(self, code: str, org_unit: str = PROVINCE, as_of: str = AS_OF, token: str = BOOT) -> dict[str, Any]:
        return dict(self.api(f"/api/v1/indicators/{code}/value", token, org_unit=org_unit, as_of=as_of))



def sign_in(page: Any, live: LiveServer, role: str = "auditor", next_path: str = "/dashboard") -> None:
    """Open a dashboard page, land on the sign-in form, paste the token, come back signed in."""
    page.goto(live.base + next_path)
    assert "/dashboard/login" in page.url
    page.get_by_label("Mã truy cập (API token)").fill(live.tokens[role] if role != "admin" else BOOT)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    assert "/dashboard/login" not in page.url, page.url


def need(tool: str) -> str:
    """The path of a poppler tool, or skip with the apt command that installs it."""
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is absent: apt-get install poppler-utils (tests/web/install-system-deps.sh)")
    return found
