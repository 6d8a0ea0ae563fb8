"""synth/ never imports ray; synth/ and serving/ never import the BSL-licensed SDV stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDV_STACK = {"sdv", "ctgan", "rdt", "sdmetrics", "copulas", "deepecho"}


def imported_modules(folder: Path) -> dict[str, set[str]]:
    out = {}
    for path in folder.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                names |= {a.value.split(".")[0] for a in node.args if isinstance(a, ast.Constant)}
        out[str(path.relative_to(ROOT))] = names
    return out


def test_synth_sources_never_import_ray():
    offenders = {f: n for f, n in imported_modules(ROOT / "synth").items() if "ray" in n}
    assert not offenders


@pytest.mark.parametrize("folder", ["synth", "serving"])
def test_no_sdv_stack_on_core_or_serving_path(folder):
    offenders = {f: n & SDV_STACK for f, n in imported_modules(ROOT / folder).items()
                 if n & SDV_STACK}
    assert not offenders


def test_importing_synth_and_its_models_loads_no_ray_or_sdv():
    code = ("import sys, pkgutil, importlib, synth; synth.list_synthesizers(); synth.evaluate; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(synth.__path__, "
            "'synth.')]; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{sorted(SDV_STACK | {'ray'})!r}); print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
