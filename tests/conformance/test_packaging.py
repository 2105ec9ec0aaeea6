"""The wheel the Dockerfile installs (`pip install .`) carries what the server needs at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built without network access."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("concur_scim-*.whl")
    return built


def test_wheel_contains_migrations_and_data(wheel: Path) -> None:
    """Migrations and the code lists ship inside the package."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "concur_scim/migrations/env.py" in names
    assert "concur_scim/migrations/versions/0001_initial.py" in names
    assert any(n.startswith("concur_scim/scim/data/") for n in names)


def test_wheel_contains_the_console_assets(wheel: Path) -> None:
    """Every template and asset of the console ships inside the package (it loads nothing
    from elsewhere): the wheel holds each file of the source tree's console directories."""
    names = set(zipfile.ZipFile(wheel).namelist())
    console = ROOT / "src" / "concur_scim" / "console"
    files = [p for d in ("templates", "static") for p in (console / d).iterdir()]
    assert len(files) > 10
    for path in files:
        assert f"concur_scim/console/{path.parent.name}/{path.name}" in names


def test_installed_package_migrates_a_database(wheel: Path, tmp_path: Path) -> None:
    """Unpacked away from the source tree, the package finds its migrations and applies them."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    db = tmp_path / "packaged.db"
    code = (
        "from concur_scim.store.migrate import migrations_dir, upgrade;"
        f"assert str(migrations_dir()).startswith({str(site)!r}), migrations_dir();"
        f"upgrade('sqlite:///{db}')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert db.stat().st_size > 0
