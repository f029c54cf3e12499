"""What `pip install .` ships: every module of the package and the dashboard, and the catalog."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORED = (".git", ".venv", "build", "models", "benchmarks", "*.egg-info", "__pycache__", ".*cache")


@pytest.mark.slow
def test_the_wheel_holds_every_module_the_dashboard_and_the_catalog(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED))
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    built = subprocess.run(
        [*pip_wheel, "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("narratives-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "narratives").rglob("*.py")}
    expected |= {
        "narratives_dashboard/" + p.relative_to(ROOT / "dashboard").as_posix()
        for p in (ROOT / "dashboard").rglob("*.py")
    }
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "narratives").rglob("*.toml")}
    assert expected - names == set(), "modules missing from the wheel (pyproject packages)"
    assert not any(name.startswith("dashboard/") for name in names), "no generic dashboard/"
