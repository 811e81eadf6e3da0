"""Every `sh` block of the README runs as written, in order, against a fresh server started as `make run`
starts it (the demo loaded), on SQLite and PostgreSQL.

The blocks run in one working directory, one after the other, like a reader's terminal: variables a block
exports reach the next. The only change made to them is the port (the README says 127.0.0.1:8000; the test's
server listens on a free port); the token comes from `data/admin-token`, where `make run` keeps it and the
README reads it. Every `curl` fails on an answer of 400 or more (`--fail-with-body`), so a block passes only
when each of its calls answers 2xx; a `text` block right after an `sh` block holds lines its output must contain.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import BACKENDS, _create_database
from tests.made_run import ROOT, MadeRun, made_run

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
README_HOST = "127.0.0.1:8000"


@dataclass
class Example:
    """One `sh` block and the lines its output must contain."""

    number: int
    script: str
    expected: list[str] = field(default_factory=list)


def examples(text: str) -> list[Example]:
    """The README's `sh` blocks in order, each with the `text` block that directly follows it (blank lines only between)."""
    found: list[Example] = []
    previous_end, previous_sh = -1, False
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        adjacent = previous_sh and not text[previous_end:match.start()].strip()
        if language == "sh":
            found.append(Example(len(found) + 1, body))
        elif language == "text" and adjacent:
            found[-1].expected = [line.strip() for line in body.splitlines() if line.strip()]
        previous_end, previous_sh = match.end(), language == "sh"
    return found


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MadeRun]:
    url, drop = _create_database(request.param, tmp_path_factory)
    try:
        with made_run(url, tmp_path_factory.mktemp("clone")) as made:
            yield made
    finally:
        drop()


def _run(example: Example, made: MadeRun, env: dict[str, str]) -> str:
    """Run one block with `bash -euo pipefail` in the working directory; keep what it exported for the next."""
    script = example.script.replace(README_HOST, made.base.removeprefix("http://"))
    dump = made.workdir / "env.after"
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", f"{script}\nenv -0 > {dump}"], cwd=made.workdir, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README example {example.number} failed ({result.returncode}):\n{example.script}\n" \
                                   f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    env.clear()
    env.update(item.split("=", 1) for item in dump.read_text().split("\0") if "=" in item)
    return result.stdout


def test_the_readme_has_examples_that_can_fail() -> None:
    """The blocks are there, and every curl of them fails on a non-2xx answer (else a 4xx would pass unseen)."""
    found = examples(README.read_text("utf-8"))
    assert len(found) >= 5 and sum(bool(e.expected) for e in found) >= 3
    calls = [line for e in found for line in e.script.splitlines() if re.search(r"\bcurl\b", line)]
    assert calls and all("--fail-with-body" in line for line in calls), calls
    assert any(line.startswith("export TOKEN=") for e in found for line in e.script.splitlines())


def test_every_example_runs_as_written(server: MadeRun) -> None:
    """In order, each block exits 0 (every call answered 2xx) and shows what the README says it shows."""
    if shutil.which("curl") is None:
        pytest.skip("the README's examples call curl, which is absent: apt-get install curl")
    env = {k: v for k, v in os.environ.items() if k != "TOKEN"}
    for example in examples(README.read_text("utf-8")):
        out = _run(example, server, env)
        missing = [line for line in example.expected if line not in out]
        assert not missing, f"README example {example.number} answered without {missing}:\n{out[-3000:]}"
    assert env.get("TOKEN") == server.token  # the README's `export TOKEN=...` read the token make run printed


def test_examples_fail_on_an_error_answer(server: MadeRun) -> None:
    """The harness itself: a block whose call is refused (no token: 401) fails the run."""
    if shutil.which("curl") is None:
        pytest.skip("curl is absent: apt-get install curl")
    broken = Example(0, f"curl -sS --fail-with-body {README_HOST}/api/v1/persons/ST-P000001\n")
    with pytest.raises(AssertionError, match="failed \\(22\\)"):
        _run(broken, server, dict(os.environ))
