"""The pytest plugin (src/concur_scim/pytest_plugin.py) as an application's test suite uses it.

``tests/plugin_project`` is such a suite (README "Contract tests in your CI" is its
``test_example.py``); it is run here by a separate pytest process, which finds the plugin
through the installed ``pytest11`` entry point, once per server mode and once on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "plugin_project"
TIMEOUT_SECONDS = 300


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Contract tests in your CI\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no python example"
    return found.group(1)


def _run_project(
    *options: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONCUR_SCIM_", "PYTEST_"))}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_the_readme_example_is_the_project_file() -> None:
    assert _readme_example() == (PROJECT / "test_example.py").read_text()


def test_the_readme_example_is_about_ten_lines() -> None:
    assert len(_readme_example().splitlines()) <= 10


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--concur-scim-mode=inprocess"], id="inprocess-option"),
        pytest.param(["-o", "concur_scim_mode=subprocess"], id="subprocess-ini"),
        pytest.param(["--concur-scim-mode=subprocess"], id="subprocess-option"),
    ],
)
def test_the_project_passes_against_the_fixture_server(options: list[str]) -> None:
    result = _run_project(*options)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b8 passed\b", output), output


@pytest.mark.parametrize("autoload", [False, True], ids=["autoload-off", "autoload-on"])
def test_naming_the_plugin_with_p_loads_it_once(autoload: bool) -> None:
    """``-p concur_scim.pytest_plugin`` works without the entry point's autoloading and
    alongside it (the entry point is named as the module, so pytest registers it once)."""
    extra_env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"} if not autoload else {}
    result = _run_project("-p", "concur_scim.pytest_plugin", "test_example.py", extra_env=extra_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b1 passed\b", output), output


@pytest.mark.postgres
def test_the_project_passes_on_a_given_postgresql_database(pg_url: str) -> None:
    result = _run_project(f"--concur-scim-database-url={pg_url}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b8 passed\b", output), output


def test_an_unknown_mode_is_a_usage_error() -> None:
    result = _run_project("-o", "concur_scim_mode=docker", "test_example.py")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "concur_scim_mode must be one of inprocess, subprocess" in result.stderr


def test_importing_the_plugin_loads_neither_the_app_nor_httpx() -> None:
    code = (
        "import sys, concur_scim.pytest_plugin as p;"
        "print(sorted(m for m in ('httpx', 'uvicorn', 'fastapi', 'concur_scim.app')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
