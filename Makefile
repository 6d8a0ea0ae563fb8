# Two commands on a fresh clone:  `make demo` (main job on a local Ray, local files) and
# `make test` (the test suite). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean sample-s3
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/install.sh
	@echo "installing into $(VENV) (first run only; log in $(VENV)/install.log) ..."
	@mkdir -p $(VENV) && scripts/install.sh "$(PYTHON)" "$(VENV)" > $(VENV)/install.log 2>&1 \
	  || { tail -40 $(VENV)/install.log; echo "install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

demo: $(STAMP)
	@. ./scripts/local_env.sh && $(PY) -m jobs.pipeline --config configs/demo.yaml

# N rows (default 10M) of the demo model to a local S3 endpoint (a moto server on 127.0.0.1
# that lives for the command), with Ray Data; runs `make demo` first if its model is missing.
ROWS ?= 10000000
sample-s3: $(STAMP)
	@test -d runs/demo/models/adult || $(MAKE) demo
	. ./scripts/local_env.sh && $(PY) scripts/local_s3.py -- $(PY) -m jobs.sample \
	  --model adult --store runs/demo/models --rows $(ROWS) --output s3://raysynth/adult-$(ROWS)

# Chromium for the report's headless test: checked once per environment
$(VENV)/.chromium: scripts/chromium.sh | $(STAMP)
	@scripts/chromium.sh $(VENV)/chromium.log && touch $@ || true

test: $(STAMP) $(VENV)/.chromium
	. ./scripts/local_env.sh && $(PY) -m ruff check . && $(PY) -m pytest -q --durations=15

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) runs models
