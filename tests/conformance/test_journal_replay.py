"""Record and replay: the Entra and Okta sample sequences (tests/samples) sent to one real
`concur-scim serve`, its journal exported with `concur-scim journal export` (JSON and
pytest), then replayed against fresh servers with `journal replay` and by running the
generated pytest file, on SQLite and on PostgreSQL; a scenario whose recorded status was
changed fails naming the step.
The id mapping and the skip reasons are unit-tested on synthetic journal rows."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.samples import load_sample
from support.server import running_server

from concur_scim.cli_journal import pytest_file
from concur_scim.replay import Replayer, scenario_from_journal

TOKEN = "journal-replay-token"
USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"
SCIM = "application/scim+json"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``concur-scim ARGS`` with no CONCUR_SCIM_* environment but ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    return subprocess.run(
        [sys.executable, "-m", "concur_scim.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=180,
        check=False,
    )


def _send(client: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    content = None if body is None else json.dumps(body).encode()
    return client.request(method, path, content=content, headers={"Content-Type": SCIM})


def _created(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    found: str = response.json()["id"]
    return found


def _record_entra(client: httpx.Client) -> None:
    """idp-clients.md §1: create, duplicate, PATCHes, manager, group and members, delete."""
    first = _created(_send(client, "POST", USERS, load_sample("entra_default_create_user")))
    _send(client, "POST", USERS, load_sample("entra_default_create_user"))  # 409
    for sample in ("patch_add_nickname", "patch_disable", "patch_enable"):
        _send(client, "PATCH", f"{USERS}/{first}", load_sample(f"entra_default_{sample}"))
    second = _created(
        _send(client, "POST", USERS, load_sample("entra_default_create_user_enterprise"))
    )
    manager = load_sample("entra_default_patch_manager_change", manager_id=first)
    _send(client, "PATCH", f"{USERS}/{second}", manager)
    _send(client, "PATCH", f"{USERS}/{second}", load_sample("entra_default_patch_employee_number"))
    group = _created(_send(client, "POST", GROUPS, load_sample("entra_default_create_group")))
    add = load_sample("entra_default_patch_group_add_member", user_id=first)
    _send(client, "PATCH", f"{GROUPS}/{group}", add)
    rename = load_sample("entra_default_patch_group_display_name")
    _send(client, "PATCH", f"{GROUPS}/{group}", rename)
    remove = load_sample("entra_default_patch_group_remove_member", user_id=first)
    _send(client, "PATCH", f"{GROUPS}/{group}", remove)
    _send(client, "DELETE", f"{USERS}/{second}")
    assert client.get(f"{USERS}/{second}").status_code == 404  # a failed read: journaled
    assert client.get(f"{USERS}?filter=bogus%20xx").status_code == 400  # no query kept
    huge = load_sample("entra_default_create_user_example2")
    huge["userName"] = "huge@example.com"
    huge["nickName"] = "n" * 9000  # past the journal's 8 KB: exported as skipped
    _send(client, "POST", USERS, huge)


def _record_okta(client: httpx.Client) -> None:
    """idp-clients.md §2: create with password, PUT, deactivate/reactivate, group life."""
    user = _created(_send(client, "POST", USERS, load_sample("okta_create_user")))
    _send(client, "PUT", f"{USERS}/{user}", load_sample("okta_put_user", user_id=user))
    for sample in ("okta_patch_deactivate", "okta_patch_reactivate"):
        _send(client, "PATCH", f"{USERS}/{user}", load_sample(sample))
    other = _created(
        _send(client, "POST", USERS, load_sample("entra_default_create_user_example2"))
    )
    group = _created(_send(client, "POST", GROUPS, load_sample("okta_create_group")))
    members = {"user_id_1": user, "display_1": "u", "user_id_2": other, "display_2": "o"}
    replace = load_sample("okta_patch_group_replace_members", **members)
    _send(client, "PATCH", f"{GROUPS}/{group}", replace)
    swap = load_sample(
        "okta_patch_group_members", removed_id=other, added_id=user, added_display="u"
    )
    _send(client, "PATCH", f"{GROUPS}/{group}", swap)
    _send(client, "PUT", f"{GROUPS}/{group}", load_sample("okta_put_group", **members))
    pathless = load_sample("okta_patch_group_pathless", group_id=group)
    _send(client, "PATCH", f"{GROUPS}/{group}", pathless)
    _send(client, "DELETE", f"{GROUPS}/{group}")


def _default_company(database_url: str) -> str:
    listing = cli("company", "list", "--database-url", database_url)
    assert listing.returncode == 0, listing.stderr
    [row] = [line.split() for line in listing.stdout.splitlines()[1:] if "yes" in line.split()]
    return row[0]


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory, new_database: Callable[..., str]
) -> dict[str, Path]:
    """The recording's exports: ``json`` (scenario) and ``pytest`` (generated test file),
    recorded on a new database of the module's backend (SQLite, then PostgreSQL)."""
    workdir = tmp_path_factory.mktemp("journal")
    url = new_database()
    with running_server(url, TOKEN) as base:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            _record_entra(client)
            _record_okta(client)
    company = _default_company(url)
    files = {}
    for kind, name in (("json", "scenario.json"), ("pytest", "test_recorded_sync.py")):
        result = cli(
            "journal", "export", "--company", company, "--format", kind, "--database-url", url
        )
        assert result.returncode == 0, result.stderr
        assert "marked skip" in result.stderr
        files[kind] = workdir / name
        files[kind].write_text(result.stdout, encoding="utf-8")
    return files


def _steps(exported: dict[str, Path]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(exported["json"].read_text())["steps"]
    return steps


@pytest.mark.server
def test_export_maps_ids_and_marks_unreplayable_steps(exported: dict[str, Path]) -> None:
    """Created ids become placeholders in later paths and bodies; the truncated create and
    the query read are marked skip with their reason; no secret or token is exported."""
    steps = _steps(exported)
    creates = [s["creates"] for s in steps if "creates" in s]
    assert creates == ["{{id1}}", "{{id2}}", "{{id3}}", "{{id4}}", "{{id5}}", "{{id6}}"]
    assert steps[0]["expect"]["status"] == 201
    assert steps[0]["expect"]["shape"]["id"] is True
    assert steps[1]["expect"]["status"] == 409
    assert steps[2]["path"] == f"{USERS}/{{{{id1}}}}"
    manager = next(s for s in steps if s["path"] == f"{USERS}/{{{{id2}}}}" and "body" in s)
    assert manager["body"]["Operations"][0]["value"] == "{{id1}}"
    reasons = [s["skip"] for s in steps if "skip" in s]
    assert len(reasons) == 2
    assert any("8 KB" in r for r in reasons)
    assert any("query string" in r for r in reasons)
    text = exported["json"].read_text()
    assert TOKEN not in text
    okta_create = next(
        s for s in steps if s.get("body", {}).get("userName") == "test.user@okta.local"
    )
    assert okta_create["body"]["password"] == "[redacted]"
    assert "{{id1}}" in exported["pytest"].read_text()


@pytest.mark.server
def test_journal_replay_passes_on_a_fresh_server(
    exported: dict[str, Path], new_database: Callable[..., str]
) -> None:
    """`journal replay` of the scenario against a fresh server: every step ok, exit 0."""
    with running_server(new_database(), "other-token") as base:
        result = cli(
            "journal", "replay", str(exported["json"]), "--url", base, "--token", "other-token"
        )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = len(_steps(exported))
    assert f"{steps - 2} passed, 0 failed, 2 skipped" in result.stdout
    assert "step 1 POST /scim/v2/Users: ok" in result.stdout


@pytest.mark.server
def test_generated_pytest_file_passes_on_a_fresh_server(
    exported: dict[str, Path], tmp_path: Path, new_database: Callable[..., str]
) -> None:
    """The generated pytest file, run in a subprocess with CONCUR_SCIM_URL/TOKEN, passes."""
    with running_server(new_database(), "pytest-token") as base:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
        env |= {"CONCUR_SCIM_URL": base, "CONCUR_SCIM_TOKEN": "pytest-token"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(exported["pytest"]),
                "-p",
                "no:cacheprovider",
                "-rs",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = len(_steps(exported))
    assert f"{steps - 2} passed, 2 skipped" in result.stdout


@pytest.mark.server
def test_replay_names_the_step_that_differs(
    exported: dict[str, Path], tmp_path: Path, new_database: Callable[..., str]
) -> None:
    """A scenario whose PATCH disable step expects 422 instead of 200 exits 1 naming it."""
    scenario = json.loads(exported["json"].read_text())
    changed = copy.deepcopy(scenario)
    changed["steps"][3]["expect"]["status"] = 422
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    with running_server(new_database(), "neg-token") as base:
        result = cli("journal", "replay", str(path), "--url", base, "--token", "neg-token")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "step 4 PATCH /scim/v2/Users/{{id1}}: FAILED (expected status 422, got 200" in result.stdout
    )
    assert " 1 failed" in result.stdout


# -- unit: id mapping, skip reasons and binding ---------------------------------------------

UID = "2819c223-7f76-453a-919d-413861904646"
GID = "7f3b6a1e-0000-4000-8000-00000000abcd"


def _row(method: str, path: str, status: int, **extra: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "status": status, "resource_id": None, **extra}


def test_id_mapping_and_skip_reasons() -> None:
    """Issued ids become {{idN}} in paths and inside body strings; ids never issued in the
    recording stay literal; short ids map only as whole strings; unreplayable rows are
    marked skip with their reason."""
    rows = [
        _row(
            "POST",
            USERS,
            201,
            resource_id=UID,
            response={"json": {"id": UID, "schemas": ["s"]}},
            detail={"contentType": SCIM, "json": {"userName": "a"}},
        ),
        _row("POST", GROUPS, 201, resource_id=GID, response=None, detail={"json": {}}),
        _row(
            "PATCH",
            f"{GROUPS}/{GID}",
            204,
            resource_id=GID,
            response=None,
            detail={
                "contentType": SCIM,
                "json": {
                    "Operations": [
                        {"path": f'members[value eq "{UID}"]', "value": [{"value": UID}]}
                    ]
                },
            },
        ),
        _row("POST", "/profile/v4/Users", 202, resource_id="7", detail={"json": {"x": "7 and 77"}}),
        _row("PATCH", f"{USERS}/7", 200, resource_id="7", detail={"json": {"v": "7", "w": "77"}}),
        _row(
            "GET",
            f"{USERS}/00000000-0000-0000-0000-000000000000",
            404,
            resource_id="00000000-0000-0000-0000-000000000000",
            response={"json": {"a": 1}},
        ),
        _row("POST", USERS, 201, detail={"bytes": 9000, "json": "{...", "truncated": True}),
        _row("POST", "/oauth2/v0/token", 200, detail={"form": {"grant_type": "password"}}),
        _row("PATCH", f"{USERS}/{UID}", 503, resource_id=UID, fault_rule="r1"),
        _row("GET", USERS, 400, response={"json": {"detail": "x"}, "truncated": True}),
    ]
    steps = scenario_from_journal(rows, company="c")["steps"]
    assert [s.get("creates") for s in steps[:4]] == ["{{id1}}", "{{id2}}", None, "{{id3}}"]
    assert steps[0]["expect"]["shape"] == {"keys": ["id", "schemas"], "id": True, "schemas": ["s"]}
    assert steps[0]["headers"] == {"Content-Type": SCIM}
    assert steps[2]["path"] == f"{GROUPS}/{{{{id2}}}}"
    assert steps[2]["body"]["Operations"][0] == {
        "path": 'members[value eq "{{id1}}"]',
        "value": [{"value": "{{id1}}"}],
    }
    assert steps[2]["expect"]["shape"] == {"empty": True}
    assert steps[3]["body"] == {"x": "7 and 77"}  # before its own creation: literal
    assert steps[4]["path"] == f"{USERS}/{{{{id3}}}}"
    assert steps[4]["body"] == {"v": "{{id3}}", "w": "77"}
    assert steps[5]["path"].endswith("00000000-0000-0000-0000-000000000000")
    assert "skip" not in steps[5]
    assert "8 KB" in steps[6]["skip"]
    assert "token request" in steps[7]["skip"]
    assert "fault rule r1" in steps[8]["skip"]
    assert "query string" in steps[9]["skip"]
    assert steps[9]["expect"]["shape"] is None


def test_replayer_binds_created_ids_and_names_unbound_ones() -> None:
    """A create's answer binds its placeholder for later steps; a step naming a placeholder
    no answer bound fails with that placeholder's name."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path} {request.content.decode()}")
        if request.method == "POST":
            return httpx.Response(201, json={"id": "new-1", "schemas": ["s"]})
        return httpx.Response(204)

    client = httpx.Client(base_url="http://test", transport=httpx.MockTransport(answer))
    shape = {"keys": ["id", "schemas"], "id": True, "schemas": ["s"]}
    steps = [
        {
            "step": 1,
            "method": "POST",
            "path": USERS,
            "body": {},
            "creates": "{{id1}}",
            "expect": {"status": 201, "shape": shape},
        },
        {
            "step": 2,
            "method": "PATCH",
            "path": f"{USERS}/{{{{id1}}}}",
            "body": {"v": "{{id1}}"},
            "expect": {"status": 204, "shape": {"empty": True}},
        },
        {
            "step": 3,
            "method": "DELETE",
            "path": f"{USERS}/{{{{id9}}}}",
            "expect": {"status": 204, "shape": {"empty": True}},
        },
        {
            "step": 4,
            "method": "DELETE",
            "path": USERS,
            "skip": "why",
            "expect": {"status": 204, "shape": None},
        },
    ]
    with Replayer("http://test", "t", client=client) as replayer:
        results = [replayer.run(step) for step in steps]
    assert [r.passed for r in results] == [True, True, False, None]
    assert seen[1] == 'PATCH /scim/v2/Users/new-1 {"v": "new-1"}'
    assert "{{id9}} is not bound" in results[2].message
    assert results[3].line() == "step 4 DELETE /scim/v2/Users: skipped (why)"


@pytest.mark.parametrize("detail", ["plain", "holds ''' and a \\ backslash"])
def test_generated_file_embeds_the_scenario_verbatim(detail: str) -> None:
    """The pytest file's SCENARIO equals the exported scenario, whatever its strings hold."""
    scenario = scenario_from_journal(
        [_row("POST", USERS, 400, detail={"json": {"x": detail}}, response=None)], company="c"
    )
    text = json.dumps(scenario, indent=2, ensure_ascii=False)
    namespace: dict[str, Any] = {}
    exec(compile(pytest_file(scenario, text), "generated.py", "exec"), namespace)  # noqa: S102
    assert namespace["SCENARIO"] == scenario
