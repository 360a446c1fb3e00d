"""The committed editor bundle is exactly what the lockfile builds (npm ci + build into a temp
dir, byte for byte), and stays within its size budget."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
STATIC = ROOT / "src" / "tynebase" / "web" / "static"
BUILT = ("editor.js", "vendor/htmx.min.js")
GZIP_BUDGET = 400 * 1024


@pytest.mark.slow
def test_committed_bundle_matches_a_fresh_build(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    work = tmp_path / "frontend"
    work.mkdir()
    for name in ("package.json", "package-lock.json", "build.mjs"):
        shutil.copy(FRONTEND / name, work / name)
    shutil.copytree(FRONTEND / "src", work / "src")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work, check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    out = tmp_path / "out"
    subprocess.run(["node", "build.mjs", str(out)], cwd=work, check=True, timeout=120)
    for name in BUILT:
        fresh, committed = (out / name).read_bytes(), (STATIC / name).read_bytes()
        assert fresh == committed, f"{name} differs from a fresh build: run `make frontend`"


def test_editor_bundle_size_budget() -> None:
    size = len(gzip.compress((STATIC / "editor.js").read_bytes(), 9))
    assert size <= GZIP_BUDGET, f"editor.js is {size} bytes gzipped (budget {GZIP_BUDGET})"
