"""The container image and the compose stack, checked without a container engine: the
Dockerfile's install and start steps run in a clean virtual environment
(scripts/image-steps.sh), and the Dockerfile, .dockerignore, docker-compose.yml and
requirements.lock are checked for what an orchestrator and an operator rely on."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IMAGE = "concur-scim:local"


def _stages() -> list[str]:
    """The Dockerfile's stages, each from its FROM line on."""
    parts = re.split(r"(?m)^(?=FROM )", DOCKERFILE)
    return [part for part in parts if part.startswith("FROM ")]


def _compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return found


@pytest.mark.server
def test_the_image_steps_install_and_start(tmp_path: Path) -> None:
    """A clean venv given requirements.lock and the project (--no-deps), as the build stage
    does, serves and passes the image's HEALTHCHECK (GET /readyz 200), and serves the console
    from the installed package."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "image-steps.sh"), str(tmp_path), sys.executable],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthy: GET /readyz 200" in result.stdout
    assert "console: GET /console/login and its script 200" in result.stdout


def test_the_dockerfile_is_multi_stage_non_root_and_health_checked() -> None:
    build, runtime = _stages()
    assert "-r requirements.lock" in build
    assert "--no-deps ." in build
    # The runtime stage takes only the built environment: no sources, no pip run.
    assert re.findall(r"(?m)^COPY .*", runtime) == [
        "COPY --from=build /opt/concur-scim /opt/concur-scim"
    ]
    assert "pip install" not in runtime
    users = re.findall(r"(?m)^USER (\S+)", runtime)
    assert users == ["concur"]
    healthcheck = re.search(r"(?ms)^HEALTHCHECK .*?(?=^\S)", runtime)
    assert healthcheck is not None
    assert "/readyz" in healthcheck.group(0)


def test_the_build_context_is_only_what_the_dockerfile_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # everything out (.venv, databases, .git) ...
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied: set[str] = set()
    for line in re.findall(r"(?m)^COPY (?!--from)(.*)", DOCKERFILE):
        copied.update(word.rstrip("/") for word in line.split()[:-1])
    assert admitted == copied  # ... but what the build stage copies


def test_the_compose_stack_waits_for_health_and_has_no_default_secret() -> None:
    compose = _compose()
    services = compose["services"]
    api, worker, postgres = services["api"], services["worker"], services["postgres"]
    assert "healthcheck" in postgres
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"
    # One build, reused: only the api service builds; the worker runs its image.
    assert [name for name, s in services.items() if "build" in s] == ["api"]
    assert api["image"] == worker["image"] == IMAGE
    assert worker.get("pull_policy") == "never"
    # Published on loopback only.
    assert api["ports"] == ["127.0.0.1:8000:8000"]
    # Secrets are required variables (${VAR:?…}), never defaults (${VAR:-…}).
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${CONCUR_SCIM_BEARER_TOKEN:?" in api["environment"]["CONCUR_SCIM_BEARER_TOKEN"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    defaulted = re.findall(r"\$\{(\w+):-", text)
    assert not [name for name in defaulted if re.search("TOKEN|PASSWORD|SECRET", name)]


def test_the_lock_pins_every_dependency_within_pyproject() -> None:
    """requirements.lock (scripts/lock.sh) pins each runtime dependency of pyproject.toml at
    a version its specifier admits: after a dependency changes, `make lock` must follow."""
    pinned: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, sep, version = line.partition("==")
        assert sep, f"not pinned: {line}"
        pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"sys_platform": "linux"}
        ):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pinned, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements.lock has {name}=={pinned[name]}, pyproject asks {requirement}"
        )
