"""A learner's path: the wheel installed in a fresh venv with a notebook runner, and every tutorial run there headless.

The fresh venv gets exactly the torch build of this environment (so `make test` never fetches another one, e.g. a CUDA
build), the wheel with its declared dependencies, and `ipykernel` + `nbclient`: nothing else. A tutorial that imports
anything more fails here, as it would for a learner. Each tutorial is copied to a folder outside the repository, with
the recorded `results/*.json` beside it in the repository's layout (`nbs/tutorials/` reads `../../results/`), and run
in quick mode by nbclient on the venv's kernel, from that folder. A last, added cell reports where `model_finetune` was
imported from, which must be the venv's site-packages, with no path of the repository on `sys.path`.

Strict warnings. Deprecations that *our* code triggers must fail the tests, before a library turns them into errors
for a learner. `STRICT_WARNINGS` adds, for FutureWarning and DeprecationWarning, the filter
`filterwarnings("error", category=..., module=r"(model_finetune(\\..*)?|__main__)$")`. `module` is matched against
the module that the warning is *attributed* to: the frame that a library's `warnings.warn(..., stacklevel=n)` points
at, i.e. the caller of the deprecated API (for torch's C++ warnings, the Python frame that called into C++). So a
deprecated torch/transformers/datasets (or pandas, numpy...) call made in `model_finetune` or in a notebook cell
(`__main__`: a tutorial's own code, and a lesson's exported code as nbdev-test runs it) raises, while a warning that
one library causes inside another (attributed to that library) is only shown. A filter that the package sets itself
around a call (`warnings.catch_warnings()`, as in `quantize.quantize_classifier`) is inserted in front and still wins.
Not caught: deprecations that a library reports through `logging` (transformers' `logger.warning_once`) or
attributes to itself (`stacklevel=1`). The filters are installed by an IPython startup file (`IPYTHONDIR`), which
both ipykernel and nbdev-test run after IPython's own defaults, so the notebooks themselves are run unchanged.
`test_strict_warnings_catch_our_calls_only` checks the filters on deliberate deprecated calls.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import types
import venv
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TUTORIALS = sorted((ROOT / "nbs" / "tutorials").glob("*.ipynb"))
LESSONS = ["04_heads.ipynb", "05_train.ipynb", "11_quantize.ipynb"]  # strict warnings on transformers, the torch loop, torch.ao
RUNNER = ["ipykernel", "nbclient"]  # what a learner adds to run notebooks: nothing else beyond the package's dependencies

STRICT_WARNINGS = """\
# Deprecations triggered from model_finetune or a notebook cell are errors (see tests/test_learner.py).
import warnings as _warnings
for _category in (FutureWarning, DeprecationWarning):
    _warnings.filterwarnings("error", category=_category, module=r"(model_finetune(\\..*)?|__main__)$")
del _warnings, _category
"""

DRIVER = """\
import sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
nb_path, probe = Path(sys.argv[1]), sys.argv[2]
nb = nbformat.read(nb_path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(probe))
NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(nb_path.parent)}}).execute()
print("".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"))
"""

PROBE = """\
import json, sys, types, model_finetune
_lib = types.ModuleType("fakelib")
exec("import warnings\\ndef old(): warnings.warn('old() is deprecated', FutureWarning, stacklevel=2)", _lib.__dict__)
try: exec("lib.old()", {"__name__": "model_finetune._probe", "lib": _lib}); _strict = False
except FutureWarning: _strict = True
print(json.dumps({"package": model_finetune.__file__, "prefix": sys.prefix, "path": sys.path, "strict": _strict}))
"""


def run(*cmd, cwd=None, env=None, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode: pytest.fail(re.sub(r"\x1b\[[0-9;]*m", "", f"{cmd[:2]} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"), pytrace=False)
    return r.stdout


def strict_ipython_dir(path: Path) -> Path:
    "An IPython folder at `path` whose default profile installs `STRICT_WARNINGS` at startup."
    (path / "profile_default" / "startup").mkdir(parents=True)
    (path / "profile_default" / "startup" / "00-strict-warnings.py").write_text(STRICT_WARNINGS)
    return path


def fake_module(name: str, source: str, **names) -> types.ModuleType:
    "A module called `name` (what warnings are attributed to) running `source`, with `names` in its namespace."
    m = types.ModuleType(name)
    m.__dict__.update(names)
    exec(source, m.__dict__)
    return m


@contextmanager
def strict():
    "Inside: `STRICT_WARNINGS` in force, every other warning recorded; outside, the filters as they were."
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        exec(STRICT_WARNINGS, {})
        yield seen


def test_strict_warnings_catch_our_calls_only():
    "A deprecated call made from model_finetune or a notebook cell raises; one made by a library inside another does not."
    lib = fake_module("fakelib", "import warnings\ndef old(cat=FutureWarning): warnings.warn('old() is deprecated', cat, stacklevel=2)")
    other = fake_module("otherlib", "def uses_old(): lib.old()", lib=lib)  # another library's own use of it
    src = "import torch\ndef f(): lib.old()\ndef g(): lib.old(DeprecationWarning)\ndef h(): other.uses_old()\n" \
          "def amp(): torch.cuda.amp.autocast(enabled=False)\n" \
          "def ao(): from torch.ao.quantization import quantize_dynamic; quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(4, 2)))"
    ours, cell = (fake_module(name, src, lib=lib, other=other) for name in ("model_finetune._probe", "__main__"))
    theirs = fake_module("model_finetune_contrib", src, lib=lib, other=other)  # another package whose name starts the same
    for m in (ours, cell):
        with strict(), pytest.raises(FutureWarning, match="old"): m.f()
        with strict(), pytest.raises(DeprecationWarning, match="old"): m.g()
        with strict(), pytest.raises(FutureWarning, match=r"torch.cuda.amp.autocast"): m.amp()  # torch's own deprecations
        with strict(), pytest.raises(DeprecationWarning, match="torch.ao.quantization is deprecated"): m.ao()
        with strict() as seen: m.h()  # attributed to otherlib: shown, not raised
        assert [(w.category, str(w.message)) for w in seen] == [(FutureWarning, "old() is deprecated")], seen
    with strict() as seen:
        theirs.f(), theirs.g(), theirs.amp()
    assert {w.category for w in seen} == {FutureWarning, DeprecationWarning}, seen
    from model_finetune.quantize import quantize_classifier
    with strict(): quantize_classifier(nn.Sequential(nn.Linear(4, 2)))  # the package's own, scoped "ignore" still wins


@pytest.fixture(scope="module")
def learner(wheel, tmp_path_factory):
    "A fresh venv with this environment's torch build, the wheel, ipykernel and nbclient, and the environment to run it."
    home = tmp_path_factory.mktemp("learner")
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    run(py, "-m", "pip", "install", "-q", f"torch=={torch.__version__}")  # the exact build: +cpu here, never a CUDA one
    out = run(py, "-m", "pip", "install", wheel, *RUNNER)
    assert "Collecting torch" not in out, "installing the wheel pulled another torch"
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "IN_TEST", "JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(env_dir), PYTHONNOUSERSITE="1",
               MODEL_FINETUNE_MODE="quick", IPYTHONDIR=str(strict_ipython_dir(home / "ipython")),
               JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"))  # kernel: the venv's own
    (home / "run_notebook.py").write_text(DRIVER)
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", env=env).strip())
    yield types.SimpleNamespace(home=home, py=py, env=env, site=site)
    shutil.rmtree(env_dir, ignore_errors=True)  # about 2 GB, torch included: not left behind in the temporary folder


def test_there_are_tutorials():
    assert "01_sentiment.ipynb" in [p.name for p in TUTORIALS]


@pytest.mark.parametrize("nb", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_for_a_learner(learner, nb):
    "The tutorial runs top to bottom, in quick mode, on the installed package only, with strict warnings."
    work = learner.home / nb.stem
    assert not work.is_relative_to(ROOT)
    here = work / "nbs" / "tutorials"
    here.mkdir(parents=True)
    shutil.copy(nb, here / nb.name)
    (work / "results").mkdir()  # the tutorials read recorded runs from ../../results/ (else from GitHub): that layout, copied
    for f in (ROOT / "results").glob("*.json"): shutil.copy(f, work / "results" / f.name)
    out = run(learner.py, learner.home / "run_notebook.py", here / nb.name, PROBE, cwd=here, env=learner.env, timeout=3600)
    seen = json.loads(out.strip().splitlines()[-1])
    assert Path(seen["package"]).is_relative_to(learner.site), seen["package"]
    assert Path(seen["prefix"]) == learner.py.parent.parent, seen["prefix"]
    assert not [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(ROOT)], seen["path"]
    assert seen["strict"], "the strict-warnings startup file was not in force in the kernel"


@pytest.mark.parametrize("nb", LESSONS)
def test_lesson_under_strict_warnings(nb, tmp_path):
    "A representative set of lessons passes nbdev-test with deprecations triggered by its own code as errors."
    env = {**os.environ, "IPYTHONDIR": str(strict_ipython_dir(tmp_path / "ipython"))}
    r = subprocess.run([BIN / "nbdev-test", "--n-workers", "0", ROOT / "nbs" / nb], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
