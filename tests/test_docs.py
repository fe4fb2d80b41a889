"""The docs site builds offline and has a page for every notebook; README.md is in sync with nbs/index.ipynb.

Builds `_docs/` with `tools/docs.py --check` (nbdev's notebook processing, then smalldocs, when Quarto is absent).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS, DOCS = ROOT / "nbs", ROOT / "_docs"


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def notebooks():
    "The notebooks that get a page: not under a folder or file whose name starts with `_` or `.`."
    return sorted(p for p in NBS.rglob("*.ipynb") if not any(part.startswith(("_", ".")) for part in p.relative_to(NBS).parts))


def page_for(nb):
    "nbdev's page name: lower case, numeric prefix stripped (`03_data.ipynb` -> `data.html`)."
    rel = nb.relative_to(NBS)
    return DOCS / rel.parent / (re.sub(r"^\d+[a-zA-Z0-9]*_", "", rel.stem.lower()) + ".html")


@pytest.fixture(scope="module")
def build():
    return run("docs.py", "--check")


def test_docs_build_and_check(build):
    assert build.returncode == 0, build.stdout + build.stderr
    assert "OK:" in build.stdout


def test_every_notebook_has_its_page(build):
    nbs = notebooks()
    assert NBS / "index.ipynb" in nbs
    missing = [str(page_for(nb).relative_to(ROOT)) for nb in nbs if not page_for(nb).is_file()]
    assert not missing, f"no page for: {missing}"
    assert "<title>" in (DOCS / "index.html").read_text(encoding="utf-8")


def test_readme_in_sync():
    r = run("readme.py", "--check")
    assert r.returncode == 0, r.stdout + r.stderr
