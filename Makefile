# Two commands on a fresh clone:  `make demo` (main job on a local Ray, local files) and
# `make test` (the test suite). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -c "import torch, sys; sys.exit('a CUDA torch build slipped in: ' + str(torch.version.cuda) if torch.version.cuda else 0)"
	$(PY) -m pip install -q -c constraints.txt -e ".[sdv,dev]"
	$(PY) -c "import torch, sys; sys.exit('a CUDA torch build slipped in' if torch.version.cuda else 0)"
	touch $(STAMP)

demo: $(STAMP)
	. ./scripts/local_env.sh && $(PY) -m jobs.pipeline --config configs/demo.yaml

test: $(STAMP)
	. ./scripts/local_env.sh && $(PY) -m ruff check . && $(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) runs models
