"""Published runs through the API: a run frozen by an administrator shows an auditor no protected figure."""

from tests.security.test_disclosure import API, D1, D2, World, _figure, _hidden, world  # noqa: F401 - `world` is a fixture


def test_an_auditor_reading_an_administrators_run_sees_no_protected_figure(world: World) -> None:  # noqa: F811
    r = world.r.client.post(f"{API}/indicator-runs", json={"doc": world.doc, "org_unit": world.a, "as_of": D1},
                            headers=world.r.headers())
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    exact = {i["indicator"]: i for i in r.json()["results"]}
    assert _figure(exact[world.share]) == (1, 6)
    seen = world.r.client.get(f"{API}/indicator-runs/{run_id}", headers=world.r.headers(world.auditor))
    assert seen.status_code == 200, seen.text
    shown = {i["indicator"]: i for i in seen.json()["results"]}
    assert _hidden(shown[world.share]) and _figure(shown[world.plain]) == _figure(exact[world.plain])
    again = world.r.client.get(f"{API}/indicator-runs/{run_id}", headers=world.r.headers())
    assert _figure({i["indicator"]: i for i in again.json()["results"]}[world.share]) == (1, 6)


def test_the_diff_of_two_runs_shows_an_auditor_no_protected_figure(world: World) -> None:  # noqa: F811
    ids = []
    for day in (D1, D2):
        r = world.r.client.post(f"{API}/indicator-runs", json={"doc": world.doc, "org_unit": world.b, "as_of": day},
                                headers=world.r.headers())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    url = f"{API}/indicator-runs/{ids[0]}/diff/{ids[1]}"
    exact = {c["indicator"]: c for c in world.r.client.get(url, headers=world.r.headers()).json()["changed"]}
    assert (_figure(exact[world.share]["before"]), _figure(exact[world.share]["after"])) == ((7, 14), (8, 15))  # one joined
    diff = world.r.client.get(url, headers=world.r.headers(world.auditor))
    assert diff.status_code == 200, diff.text
    for change in diff.json()["changed"]:
        if change["indicator"] == world.share:
            assert _hidden(change["before"]) and _hidden(change["after"])
