"""The notebooks are the source: the package must be their export, they must be clean, and each must pass `nbdev-test`.

Sync and cleanliness are checked on a scratch copy, so the working tree is never modified by the tests.
"""

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The tutorials are run by tests/test_learner.py instead, the way a learner runs them (installed wheel, fresh venv).
NOTEBOOKS = sorted(p.relative_to(ROOT / "nbs").as_posix() for p in (ROOT / "nbs").rglob("*.ipynb")
                   if not any(part.startswith(("_", ".")) for part in p.relative_to(ROOT / "nbs").parts)
                   and p.relative_to(ROOT / "nbs").parts[0] != "tutorials")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    "A copy of the files nbdev reads and writes."
    dst = tmp_path_factory.mktemp("repo")
    for name in ("pyproject.toml", "_quarto.yml"): shutil.copy(ROOT / name, dst / name)
    shutil.copytree(ROOT / "nbs", dst / "nbs", symlinks=True)
    shutil.copytree(ROOT / "model_finetune", dst / "model_finetune", ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def differing_files(a: Path, b: Path, pattern: str) -> list[str]:
    "Relative paths of files matching `pattern` that differ between folders `a` and `b`, or exist in only one."
    names = {p.relative_to(a) for p in a.rglob(pattern)} | {p.relative_to(b) for p in b.rglob(pattern)}
    return sorted(str(n) for n in names if not ((a / n).exists() and (b / n).exists() and filecmp.cmp(a / n, b / n, shallow=False)))


def test_package_is_the_export_of_the_notebooks(scratch):
    subprocess.run([BIN / "nbdev-export"], cwd=scratch, check=True, capture_output=True)
    diff = differing_files(ROOT / "model_finetune", scratch / "model_finetune", "*.py")
    assert not diff, f"nbdev-export changes {diff}: run nbdev-export and commit (never hand-edit model_finetune/)"


def test_notebooks_are_clean(scratch):
    subprocess.run([BIN / "nbdev-clean"], cwd=scratch, check=True, capture_output=True)
    diff = differing_files(ROOT / "nbs", scratch / "nbs", "*.ipynb")
    assert not diff, f"nbdev-clean changes {diff}: run nbdev-clean and commit"


def test_there_are_notebooks():
    assert {"index.ipynb", "00_assets.ipynb", "03_data.ipynb", "07_cli.ipynb"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook(nb):
    "Every cell not flagged `slow` or `cuda` runs and its assertions hold."
    r = subprocess.run([BIN / "nbdev-test", "--n-workers", "0", ROOT / "nbs" / nb], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
