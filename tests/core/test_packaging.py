"""An installed wheel runs: its settings defaults, templates and data travel inside it.

The wheel is built from a copy of the sources and installed into a fresh virtualenv
without its dependencies, which it borrows from this environment through a path entry
(the source tree is not on that path, so only what the wheel holds can be imported).
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("catalogue", "harvester", "mappings", "pyproject.toml", "README.md")


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_a_wheel_installed_in_a_fresh_venv_runs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, src / name)
    wheels = tmp_path / "wheels"
    out = run(sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", wheels, src, cwd=src)
    assert "project.license" not in out  # the licence is an SPDX expression, no warning
    (wheel,) = wheels.glob("catalogue-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "catalogue/config/default.toml" in names
    assert "catalogue/migrations/versions/0001_initial_schema.py" in names

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    (Path(purelib.strip()) / "borrowed-deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home)}
    where = run(python, "-c", "import catalogue; print(catalogue.__file__)", cwd=home, env=env)
    assert str(venv) in where and str(ROOT) not in where
    assert "harvest" in run(venv / "bin" / "catalogue", "--help", cwd=home, env=env)
    env["CATALOGUE_DATA_DIR"] = str(home / "data")
    listed = run(venv / "bin" / "catalogue", "sources", "list", cwd=home, env=env)
    assert "key" in listed  # the settings loaded from the wheel and the store migrated
    loaded = run(
        python,
        "-c",
        "from catalogue.config import load_settings; print(load_settings().oai.page_size)",
        cwd=home,
        env=env,
    )
    assert loaded.strip().isdigit()
