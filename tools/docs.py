"""Build the documentation site into `_docs/`, with or without Quarto.

    python tools/docs.py          # build the site
    python tools/docs.py --check  # build it, then check every notebook has its page and every link and image resolves

With `quarto` on PATH this runs `nbdev-docs`, the real thing. Without it (as on this project's machines, which
cannot download Quarto) it does what `nbdev-docs` does before Quarto runs, then renders with smalldocs:

1. nbdev's own pieces of `nbdev-proc-nbs`: `refresh_quarto_yml` (writes `nbs/nbdev.yml` from pyproject.toml),
   `_build_modidx`, `nbdev_sidebar` (does nothing here: `custom_sidebar = true`) and `proc_nbs`, which runs the
   show_doc and import cells and writes the processed notebooks, `_quarto.yml`, `nbdev.yml`, `sidebar.yml` and
   `styles.css` into `_proc/`. (`nbdev-proc-nbs` itself would first try to install Quarto.)
2. smalldocs renders `_proc/` with the same `_quarto.yml`, into `_proc/_docs` (the `output-dir` nbdev.yml sets),
   which is then moved to `_docs/`, as `nbdev-docs` moves Quarto's output.

One difference is bridged: nbdev names each page in the notebook's front matter (`output-file: data.html` for
`03_data.ipynb`), which Quarto reads and smalldocs 0.5 does not, so `NbdevSite` below reads it.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # so the notebooks' import and show_doc cells find the package without an install

from nbdev.config import get_config, nbpath2html  # noqa: E402
from nbdev.doclinks import _build_modidx, nbglob  # noqa: E402
from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml  # noqa: E402
from nbdev.serve import proc_nbs  # noqa: E402
from smalldocs.config import BuildError, ConfigError, load  # noqa: E402
from smalldocs.site import Site  # noqa: E402


def warn_if_not_installed(cfg):
    "nbdev links names in backticks to their docs only for installed packages (through their `nbdev` entry point)."
    if not any(ep.name == cfg.lib_path.name for ep in entry_points(group="nbdev")):
        print(f"note: {cfg.lib_name} is not installed, so names in backticks are not linked; run: pip install -e '.[dev]'")


class NbdevSite(Site):
    "smalldocs' site, writing each page to the `output-file` of its front matter, as Quarto does."

    def read(self, src):
        page = super().read(src)
        if page.front.get("output-file"):
            page.out = src.with_name(str(page.front["output-file"]))
        return page

    def find_page(self, target):
        "Find a page by its source (`03_data.ipynb`), as smalldocs does, or by its output (`data.html`)."
        found = super().find_page(target)
        if found is None:
            found = next((p for p in self.pages.values() if p.out == target), None)
        return found


def build_with_quarto(cfg):
    print("quarto found: running nbdev-docs")
    return subprocess.run(["nbdev-docs"], cwd=cfg.config_path).returncode


def build_with_smalldocs(cfg):
    print("quarto not found: processing notebooks with nbdev, rendering with smalldocs")
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(path=cfg.nbs_path)
    proc = proc_nbs(cfg.nbs_path)
    print(f"  processed notebooks into {proc.relative_to(ROOT)}/")
    try:
        site = NbdevSite(load(proc))
        n = site.build()
    except (ConfigError, BuildError) as e:
        print(f"smalldocs: {e}")
        return 2
    for w in site.warnings:
        if "output-file is not read" not in w:  # NbdevSite reads it
            print(f"  smalldocs warning: {w}")
    shutil.rmtree(cfg.doc_path, ignore_errors=True)
    shutil.move(site.out, cfg.doc_path)
    print(f"  smalldocs wrote {n} page(s), moved to {cfg.doc_path.relative_to(ROOT)}/")
    return 0


class Links(HTMLParser):
    "Collect the local targets of a page: its images, links, stylesheets and scripts."

    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        elif tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.links.append(a["src"])


def local_target(page, url, docs):
    "The file a relative URL of `page` points at, or None for an external URL, a data URI or an anchor."
    u = urlsplit(url)
    if u.scheme or u.netloc or not u.path:
        return None
    path = docs / unquote(u.path).lstrip("/") if u.path.startswith("/") else page.parent / unquote(u.path)
    return path / "index.html" if u.path.endswith("/") or path.is_dir() else path


def check(cfg):
    "List what is missing: a page for each notebook, and each image and local link of each page."
    docs, problems = cfg.doc_path, []
    notebooks = sorted(nbglob(cfg.nbs_path, as_path=True))  # nbdev's own list: skips `_*` files and folders
    for nb in notebooks:
        page = docs / nbpath2html(nb.relative_to(cfg.nbs_path))
        if not page.is_file():
            problems.append(f"no page for {nb.relative_to(ROOT)}: expected {page.relative_to(ROOT)}")
    pages = sorted(docs.rglob("*.html"))
    for page in pages:
        links = Links()
        links.feed(page.read_text(encoding="utf-8"))
        for kind, urls in (("image", links.images), ("link", links.links)):
            for url in urls:
                target = local_target(page, url, docs)
                if target is not None and not target.exists():
                    problems.append(f"{page.relative_to(ROOT)}: missing {kind} {url}")
    print(f"checked {len(notebooks)} notebook(s) and {len(pages)} page(s) in {docs.relative_to(ROOT)}/")
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="after building, check pages, links and images; exit 1 if any is missing")
    args = p.parse_args()
    os.chdir(ROOT)  # nbdev's functions read the config from the working folder
    cfg = get_config()
    warn_if_not_installed(cfg)
    start = time.time()
    rc = build_with_quarto(cfg) if shutil.which("quarto") else build_with_smalldocs(cfg)
    if rc:
        print(f"FAILED: the build exited with {rc}")
        return rc
    print(f"built {cfg.doc_path.relative_to(ROOT)}/ in {time.time() - start:.1f}s")
    if args.check:
        problems = check(cfg)
        if problems:
            print(f"FAILED: {len(problems)} problem(s):", *problems, sep="\n  ")
            return 1
        print("OK: every notebook has its page; every image and local link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
