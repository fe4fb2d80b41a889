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


def _closure(requirements: list[str]) -> set[str]:
    "The distributions these requirements install, dependencies included (as installed here), by canonical name."
    import importlib.metadata as md
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    seen, todo = set(), [Requirement(r) for r in requirements]
    while todo:
        r = todo.pop()
        if r.marker is not None and not r.marker.evaluate({"extra": ""}): continue
        name = canonicalize_name(r.name)
        if name in seen: continue
        seen.add(name)
        todo += [Requirement(q) for q in md.requires(name) or []]
    return seen


def test_lessons_import_only_what_their_first_cell_installs():
    "Each module a lesson imports is in the standard library, or comes with model-finetune[notebooks] (its first cell's install)."
    import ast, importlib.metadata as md, json, tomllib
    from packaging.utils import canonicalize_name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = _closure(project["dependencies"] + project["optional-dependencies"]["notebooks"])
    dists, missing = md.packages_distributions(), {}
    for nb in NOTEBOOKS:
        cells = json.loads((ROOT / "nbs" / nb).read_text())["cells"]
        for cell in cells:
            src = "".join(cell["source"])
            if cell["cell_type"] != "code" or "#| eval: false" in src: continue
            tree = ast.parse("\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) and not node.level else []
                for top in {n.split(".")[0] for n in names}:
                    if top in sys.stdlib_module_names or top == "model_finetune": continue
                    if not any(canonicalize_name(d) in installed for d in dists.get(top, [])): missing.setdefault(nb, set()).add(top)
    assert not missing, f"imported by lessons, not installed by model-finetune[notebooks]: {missing}"
    first = "".join(json.loads((ROOT / "nbs" / NOTEBOOKS[0]).read_text())["cells"][0]["source"])
    assert all("".join(json.loads((ROOT / "nbs" / nb).read_text())["cells"][0]["source"]) == first for nb in NOTEBOOKS), "the install cells differ"
    assert '"model-finetune[notebooks]"' in first


@pytest.mark.parametrize("torch_version, needs", [("2.5.1+cu121", "2.6"), ("2.13.0", None)])
def test_install_cells_name_an_old_torch(torch_version, needs, monkeypatch):
    "In a fresh Jupyter, the install cell of every lesson and tutorial says that torch is too old, before pip refuses it without saying why."
    import importlib.metadata, importlib.util, json
    notebooks = sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "nbs" / "tutorials").glob("*.ipynb"))
    cells = {"".join(c["source"]) for nb in notebooks for c in json.loads(nb.read_text())["cells"] if "keep_torch" in "".join(c["source"])}
    assert len(cells) == 2, len(cells)  # one for the lessons, one for the tutorials
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # nothing installed yet
    monkeypatch.setattr(importlib.metadata, "version", lambda name: torch_version)
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: pytest.fail(f"pip ran: {cmd}") if needs else subprocess.CompletedProcess(cmd, 0))
    for cell in cells:
        code = "\n".join(line for line in cell.splitlines() if not line.startswith("import torch")).split("from model_finetune")[0]  # the install part
        if needs:
            with pytest.raises(RuntimeError, match=f"needs torch {needs} or later, and this Python has {torch_version.split('+')[0]}"): exec(code, {})
        else: exec(code, {})


def test_there_are_notebooks():
    assert {"index.ipynb", "00_assets.ipynb", "03_data.ipynb", "07_cli.ipynb"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook(nb):
    "Every cell not flagged `slow` or `cuda` runs and its assertions hold."
    r = subprocess.run([BIN / "nbdev-test", "--n-workers", "0", ROOT / "nbs" / nb], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
