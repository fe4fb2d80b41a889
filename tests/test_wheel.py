"""The wheel a user would `pip install`: it builds, installs into a fresh venv that already has torch without
replacing that torch, and its package and command work from outside the repository (the wheel: `conftest.py`)."""

import subprocess
import venv
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def run(*cmd, cwd=None):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_wheel_installs_next_to_an_existing_torch(wheel, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    torch_req = f"torch=={torch.__version__.split('+')[0]}"  # the torch of this environment, as a user already has one
    run(py, "-m", "pip", "install", "-q", torch_req)
    before = run(py, "-c", "import torch, os; print(torch.__version__, os.path.getmtime(torch.__file__))")
    out = run(py, "-m", "pip", "install", wheel)
    assert "Collecting torch" not in out, "installing the wheel pulled another torch"
    assert run(py, "-c", "import torch, os; print(torch.__version__, os.path.getmtime(torch.__file__))") == before
    where = run(py, "-c", "import model_finetune.cli as c, model_finetune; print(model_finetune.__version__, c.__file__)", cwd=tmp_path)
    assert str(env) in where and str(ROOT) not in where, where
    assert "train" in run(env / "bin" / "model-finetune", "--help", cwd=tmp_path)
