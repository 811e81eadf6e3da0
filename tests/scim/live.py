"""A live registry server (uvicorn in a subprocess on a free loopback port) and scim2-tester run against it."""

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
from scim2_models import ComplexAttribute, Mutability, Required, ResourceType, ScimProvider

from app.services.scim.models import EnterpriseUser, RegistryPerson, RegistrySummary, User, UserResource

ROOT = Path(__file__).resolve().parents[2]
PERSON = "urn:vn:gov:registry:scim:schemas:extension:person:1.0:User"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    base: str
    boot: str

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@contextmanager
def serve(url: str, boot: str, log: Path) -> Iterator[Live]:
    """uvicorn on 127.0.0.1:<free port> against `url`, stopped (by its own pid) on exit."""
    port = free_port()
    env = os.environ | {"DATABASE_URL": url, "REGISTRY_BOOTSTRAP_TOKEN": boot}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                                 str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("uvicorn did not answer within 60 s")
        yield Live(base, boot)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seed(live: Live, units: list[dict[str, Any]]) -> None:
    with live.client(live.boot) as c:
        r = c.post("/api/v1/imports/org-units", content="\n".join(json.dumps(u) for u in units) + "\n",
                   headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200 and not r.json()["errors"], r.text


def token(live: Live, role: str, org_units: list[str]) -> str:
    with live.client(live.boot) as c:
        r = c.post("/api/v1/tokens", json={"name": f"scim-{role}-{time.monotonic_ns()}", "role": role,
                                           "org_units": org_units})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


# What scim2-tester cannot make up. It fills every string (and every dateTime) with a UUID and every integer
# with any number up to 2**31, unless the attribute has examples: the canonical values of the server's own
# schema (here the registry's code lists). A date, a unit of the test's tree, a national id, a language code
# or a score on a paper is none of those; the test lends one of each, as a client brings its own data. Dates
# that end things (an employment's end, a separation) lie ahead, so that any `active` the tester picks holds.
AHEAD = (date.today() + timedelta(days=365)).isoformat()
LENT: dict[str, list[Any]] = {
    "birth_date": ["1987-03-09"], "start": ["2011-09-01"], "end": [AHEAD], "on": [AHEAD], "since": ["2012-05-19"],
    "until": ["2020-12-31"], "awarded_on": ["2016-12-20"], "completed_on": ["2021-05-01"],
    "org_unit": ["SCIM-SYT"], "body": ["SCIM-HDND"], "national_id": ["001087000123"], "language": ["km"],
    "country": ["VN"], "score": ["6.0"], "level": [4], "hours": [40],
}


@contextmanager
def lent_examples(model: type[Any]) -> Iterator[None]:
    """LENT as the examples of the attributes of `model` and of its complex attributes that have none of their own."""
    roots = (model.get_field_root_type(name) for name in model.model_fields)
    classes = dict.fromkeys([model, *(t for t in roots if isinstance(t, type) and issubclass(t, ComplexAttribute))])
    lent = [(info, LENT[name]) for cls in classes for name, info in cls.model_fields.items()
            if name in LENT and not info.examples]
    for info, values in lent:
        info.examples = values
    try:
        yield
    finally:
        for info, _ in lent:
            info.examples = None


class ServerModels(ScimProvider):
    """A description of the server that answers the server's own composed User model.

    A ResourceType can say that an extension is required, not that it is read only (RFC 7643 §6), so the
    User that scim2-models composes from discovery would have scim2-tester write the read-only enterprise
    and summary extensions as wholes. scim2-tester rebuilds the client's provider from its models
    (checker._describe_service), so the tests install this class in its place.
    """

    def __init__(self, models: Any = (), resource_types: Any = None, config: Any = None, policy: Any = None):
        super().__init__(models, resource_types, config, policy)
        person = next(m for m in self.models if getattr(m, "__schema__", None) == PERSON)
        self.user_model = User[Annotated[person, Required.true]  # type: ignore[valid-type]
                               | Annotated[EnterpriseUser, Mutability.read_only]
                               | Annotated[RegistrySummary, Mutability.read_only]]

    def model_for(self, key: Any) -> Any:
        named = key.name if isinstance(key, ResourceType) else key
        return self.user_model if named == "User" else super().model_for(key)

    def model_for_endpoint(self, endpoint: str) -> Any:
        return self.user_model if endpoint.strip("/") == "Users" else super().model_for_endpoint(endpoint)


def run_tester(live: Live, bearer: str) -> list[Any]:
    """scim2-tester's checker, through its Python API, against /scim/v2 of the live server."""
    import httpx2
    import scim2_tester.checker
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server

    http = httpx2.Client(base_url=f"{live.base}/scim/v2", headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
    models = [User, RegistryPerson, EnterpriseUser, RegistrySummary]
    client = SyncSCIMClient(http, provider=ServerModels(models, [ResourceType.from_resource(UserResource)]))
    described = scim2_tester.checker.ScimProvider
    scim2_tester.checker.ScimProvider = ServerModels  # type: ignore[misc]
    try:
        with lent_examples(RegistryPerson):
            return check_server(client)
    finally:
        scim2_tester.checker.ScimProvider = described  # type: ignore[misc]
        http.close()


def tally(results: list[Any]) -> Counter[str]:
    return Counter(r.status.name for r in results)
