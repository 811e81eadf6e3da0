"""Every indicator page of the catalog answers 200 with its Vietnamese name (issue 12, acceptance 6).

Each indicator is opened for every kind of unit the province fixture has (the province, a district closed by the
2025 reform, a commune merged into a new one, the new commune, a commune re-parented to the province, an agency,
and a body), before the reform and after it, and for the province and the closed district on the page's default
date (the latest deadline passed, else the last 31 December), in Vietnamese or English
(each indicator and unit sees both), on SQLite and on PostgreSQL (TEST_POSTGRES_URL). Each page carries the
projection section (no further training, the default), and each indicator is opened once more at the province in the
other two scenarios by turns, to 2030-12-31: the section is shown, or says why not ('no projection' exactly for the
kinds without one). The pages are fetched by the signed-in browser itself (fetch, four at a time, parsed with
DOMParser), and their method is checked for raw codes;
a representative sample is opened in the tab and kept as screenshots in artifacts/web/.
"""

from typing import Any

import pytest

from app.services.indicators.catalog import build
from tests.web.support import ARTIFACTS, LiveServer, sign_in
from tests.web.test_method_words import raw_codes

pytestmark = pytest.mark.usefixtures("browser")
UNITS = {
    "ST": "province",
    "ST-H1": "district closed on 2025-06-30",
    "ST-H1-X1": "commune merged into ST-H1-M",
    "ST-H1-M": "commune made of merged ones on 2025-07-01",
    "ST-H1-X3": "commune re-parented from its district to the province",
    "ST-SYT": "agency",
    "ST-BCH": "body (party executive committee)",
}
DATES = ("2023-06-30", "2025-12-31", "")  # before the reform, after it, the page's default
DEFAULTED = ("ST", "ST-H1")  # the default date (an empty as_of) for these units; a date of DATES for all of them
SAMPLE = [("ST-2030-DOCTORS-CK1", "ST", "", "vi"), ("ST-2030-DOCTORS-CK1", "ST", "", "en"),
          ("CT-2030-WOMEN-PARTY-COMMITTEE", "ST-BCH", "2025-12-31", "vi"),
          ("ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", "ST-H1-M", "2025-12-31", "vi"),
          ("ST-2025-PD-STAFF-POSTGRAD", "ST-H1", "2025-12-31", "en"),
          ("ST-2025-JOBS-YEARLY", "ST-H1-X3", "2023-06-30", "vi"),
          ("ST-2030-PROVINCE-COMMITTEE-POSTGRAD", "ST-H1-X1", "2025-12-31", "en"),
          ("CT-2025-MASTERS-PHD-INFLOW", "ST-SYT", "", "vi")]

FETCH_ALL = """async (urls) => {
  const out = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const r = await fetch(urls[i], {credentials: "same-origin", redirect: "manual"});
      const text = await r.text();
      const doc = new DOMParser().parseFromString(text, "text/html");
      const article = doc.querySelector("article.indicator");
      out[i] = {url: urls[i], status: r.status, lang: doc.documentElement.lang,
                code: article ? article.dataset.code : null,
                method: article ? article.querySelector('[data-testid="method"]').textContent : null,
                shown: article ? article.querySelector("h1").textContent + " | "
                                 + article.querySelector(".definition").textContent : text.slice(0, 300),
                projection: article ? article.querySelector('[data-section="projection"]').dataset.state : null};
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}"""


SCENARIOS = ("expected", "completion_rate")  # beside the default, none
PROJECTION_STATES = ("shown", "none", "aggregates", "no_horizon", "refused")
PROJECTED = ("ratio", "per_capita", "coverage")
KINDS = {s.id: s.kind for s in build()}


def catalog(live: LiveServer) -> dict[str, str]:
    """Every indicator of both resolutions: code -> Vietnamese name."""
    return {i["code"]: i["names"]["vi"] for doc in ("ST", "CT") for i in live.api("/api/v1/indicators", doc=doc)["items"]}


def test_every_indicator_page_answers_with_its_vietnamese_name(page: Any, live_any: LiveServer) -> None:
    """On SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set."""
    live = live_any
    names = catalog(live)
    assert len(names) > 60, "the catalog is not the reference catalog"
    assert any(code.split("-")[1] == "2030" for code in names)
    sign_in(page, live, "admin", "/dashboard")
    wanted = [(code, name, unit, day, ("vi", "en")[(i + u + d) % 2])
              for i, (code, name) in enumerate(sorted(names.items())) for u, unit in enumerate(UNITS)
              for d, day in enumerate(DATES) if day or unit in DEFAULTED]
    page.goto(f"{live.base}/healthz")  # a page of the same origin without the dashboard's CSP, to fetch from
    urls = [f"/dashboard/indicators/{code}?org_unit={unit}&as_of={day}&lang={lang}" for code, _name, unit, day, lang in wanted]
    # and the projection's other scenarios, to a date of our own, once per indicator at the province
    others = [(code, name, "ST", "", ("vi", "en")[i % 2]) for i, (code, name) in enumerate(sorted(names.items()))]
    wanted += others
    urls += [f"/dashboard/indicators/{code}?org_unit=ST&lang={lang}&to=2030-12-31&training={SCENARIOS[i % 2]}"
             for i, (code, _name, _unit, _day, lang) in enumerate(others)]
    answers = page.evaluate(FETCH_ALL, urls)
    failures: list[str] = []
    for (code, name, _unit, _day, lang), got in zip(wanted, answers, strict=True):
        if got["status"] != 200:
            failures.append(f"{got['status']} {got['url']}: {got['shown']}")
        elif got["code"] != code or got["lang"] != lang or name not in " ".join(got["shown"].split()):
            failures.append(f"{got['url']}: the page does not name {code} ({name}): {got['shown'][:300]}")
        elif raw := raw_codes(got["method"], lang):
            failures.append(f"{got['url']}: raw codes {sorted(raw)} in the method: {got['method']}")
        elif got["projection"] not in PROJECTION_STATES or (got["projection"] == "none") != (KINDS[code] not in PROJECTED):
            failures.append(f"{got['url']}: projection section {got['projection']!r} for a {KINDS[code]}")
    opened = len(answers)
    assert opened == len(names) * (len(UNITS) * (len(DATES) - 1) + len(DEFAULTED) + 1)
    assert not failures, f"{len(failures)} of {opened} pages failed:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize(("code", "unit", "day", "lang"), SAMPLE)
def test_a_sample_of_pages_in_the_browser(page: Any, live: LiveServer, code: str, unit: str, day: str, lang: str) -> None:
    name = catalog(live)[code]
    path = f"/dashboard/indicators/{code}?org_unit={unit}&as_of={day}&lang={lang}"
    sign_in(page, live, "admin", path)
    assert page.locator("article.indicator").get_attribute("data-code") == code
    assert page.locator("html").get_attribute("lang") == lang
    assert name in page.locator(".definition").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"page-{code}-{unit}-{day or 'default'}-{lang}.png"), full_page=True)


ODD = ["known_at=0001-01-01T00:00", "known_at=0001-01-01T00:00:00%2B14:00", "known_at=0001-01-01T00:00Z",
       "known_at=9999-12-31T23:59:59Z", "known_at=9999-12-31T23:59:59", "known_at=soon", "as_of=0001-01-01",
       "as_of=9999-12-31", "as_of=2024-02-30", "org_unit=NOPE", "doc=NOPE", "sort=nope&dir=up", "lang=fr"]


@pytest.mark.parametrize("query", ODD)
def test_odd_parameters_never_answer_500(page: Any, live: LiveServer, query: str) -> None:
    """Moments at the ends of the calendar (in Vietnam's time or UTC), impossible dates, unknown codes: a page or a
    refusal, never a 500; a moment still to come reads as now."""
    sign_in(page, live, "admin", "/dashboard")
    request = page.context.request
    paths = ["/dashboard/indicators/ST-2030-DOCTORS-CK1", "/dashboard/indicators/ST-2025-DOCTORS-CK1/persons"]
    if query.startswith("known_at=0001"):
        paths += ["/dashboard", "/dashboard/report.xlsx", "/dashboard/report.pdf"]
    for path in paths:
        response = request.get(f"{live.base}{path}?doc=ST&org_unit=ST&{query}", max_redirects=0)
        assert response.status in (200, 400, 403, 404, 422), (path, query, response.status, response.text()[:300])
        if query.startswith("known_at=9999") and path.endswith("CK1"):
            assert response.status == 200
            assert 'datetime="9999' not in response.text()
