#!/usr/bin/env bash
# Installs raysynth on a cluster node (cluster.yaml: setup_commands), inside the pinned Ray
# container, from the checkout that file_mounts synced to ~/raysynth:
#   bash ~/raysynth/cluster/setup.sh 0.1.0
# - refuses a checkout whose version is not the one cluster.yaml pins;
# - torch as constraints.txt pins it: the CUDA build on GPU nodes (PyPI's default wheel), the
#   CPU build elsewhere;
# - the project and its dependencies, keeping the image's Ray (the cluster must run one version).
# Idempotent: ray up runs it again on every restart and it only reinstalls what changed.
set -euo pipefail

want="${1:?usage: setup.sh VERSION (the raysynth version cluster.yaml pins)}"
src="${RAYSYNTH_SRC:-$HOME/raysynth}"
py="${PYTHON:-python}"

have=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/pyproject.toml" | head -1)
if [ "$have" != "$want" ]; then
  echo "raysynth setup: $src is version '$have' but cluster.yaml pins '$want'" >&2
  echo "check out the pinned version (or change cluster.yaml) and run ray up again" >&2
  exit 1
fi

torch_pin=$(grep -E '^torch==' "$src/constraints.txt")
ray_pin="ray==$("$py" -c 'import ray; print(ray.__version__)')"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  "$py" -m pip install -q "$torch_pin"
else
  "$py" -m pip install -q "$torch_pin" --index-url https://download.pytorch.org/whl/cpu
fi
# the image's Ray stays (a constraint, not an upgrade); extras as pyproject.toml asks
printf '%s\n' "$ray_pin" > /tmp/raysynth-ray-pin.txt
"$py" -m pip install -q -c /tmp/raysynth-ray-pin.txt -c "$src/constraints.txt" "$src"
"$py" -c 'import synth, jobs, serving, torch, ray
print("raysynth", synth.__version__, "| torch", torch.__version__, "| cuda",
      torch.cuda.is_available(), "| ray", ray.__version__)'
