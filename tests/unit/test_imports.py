"""The layering rules of DESIGN.md, read from the sources' imports (anywhere in a module,
function bodies included):
- synth/ never imports ray; synth/ and serving/ never import the BSL-licensed SDV stack;
- serving/ never imports jobs/ (shared launch code lives where both can reach it);
- synth/metrics never imports synth/models;
- no two project modules import each other, directly or through others (no circles);
- jobs/ and serving/ import project modules at module top (only heavy optional imports, named
  below, load lazily)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDV_STACK = {"sdv", "ctgan", "rdt", "sdmetrics", "copulas", "deepecho"}
PACKAGES = ("synth", "jobs", "serving")
# (module, imported): project imports that load lazily on purpose
LAZY_ALLOWED = {
    ("jobs.pipeline", "serving.launch"),  # Ray Serve + FastAPI, only with --deploy
    ("synth.api", "synth.models.copula"), ("synth.api", "synth.models.tvae"),
    ("synth.api", "synth.models.ctgan.model"),  # the registry fills on first use
    ("synth.api", "synth.models.argn.model"),
    ("synth.api", "synth.models.binary_diffusion.model"),
    ("synth.api", "synth.models.potnet.model"),
    ("synth.api", "synth.models.images.gan"),
    ("synth.api", "synth.spec.model"),
    ("synth.metrics.evaluate", "synth.metrics.detection"),  # scikit-learn, only when asked
    ("synth.metrics.evaluate", "synth.metrics.privacy"),
    ("synth.metrics.evaluate", "synth.metrics.utility"),
    ("synth.metrics.evaluate", "synth.metrics.wasserstein"),
    # optional extras (mlflow, wandb): imported only when a job asks for tracking
    ("synth.tracking.base", "synth.tracking.mlflow_tracker"),
    ("synth.tracking.base", "synth.tracking.wandb_tracker"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(*folders: str) -> dict[str, Path]:
    return {module_name(p): p for f in folders for p in sorted((ROOT / f).rglob("*.py"))}


MODULES = sources(*PACKAGES)


def project_module(name: str) -> str | None:
    """The project module that `name` (a module or a module.attribute) refers to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported name, inside a function) for every absolute import of a file."""
    tree = ast.parse(path.read_text())
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
             for n in ast.walk(f)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in inner) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(f"{node.module}.{a.name}", id(node) in inner) for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            out += [(a.value, True) for a in node.args if isinstance(a, ast.Constant)]
    return out


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {project_module(n) for n, _ in imports(path)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def top_level_names(folder: str) -> dict[str, set[str]]:
    return {name: {n.split(".")[0] for n, _ in imports(path)}
            for name, path in sources(folder).items()}


def test_synth_sources_never_import_ray():
    offenders = {f: n for f, n in top_level_names("synth").items() if "ray" in n}
    assert not offenders


@pytest.mark.parametrize("folder", ["synth", "serving"])
def test_no_sdv_stack_on_core_or_serving_path(folder):
    offenders = {f: n & SDV_STACK for f, n in top_level_names(folder).items() if n & SDV_STACK}
    assert not offenders


@pytest.mark.parametrize("source, forbidden", [("serving", "jobs"),
                                               ("synth.metrics", "synth.models"),
                                               ("synth", "jobs"), ("synth", "serving")])
def test_layering(source, forbidden):
    offenders = {m: sorted(t for t in targets if t == forbidden or t.startswith(forbidden + "."))
                 for m, targets in edges().items()
                 if m == source or m.startswith(source + ".")}
    assert not {m: t for m, t in offenders.items() if t}


def test_no_import_circles():
    graph, index, low, stack, on_stack, circles = edges(), {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles


def test_project_imports_sit_at_module_top():
    lazy = sorted((m, t) for m, path in MODULES.items() for n, inside in imports(path)
                  if inside and (t := project_module(n)) and t != m and (m, t) not in LAZY_ALLOWED)
    assert not lazy


def test_the_layering_test_sees_a_circle_and_a_broken_rule(tmp_path, monkeypatch):
    """The rules above are not vacuous: a made-up circle and serving -> jobs are caught."""
    fake = {"serving.x": tmp_path / "x.py", "jobs.y": tmp_path / "y.py"}
    fake["serving.x"].write_text("import jobs.y\n")
    fake["jobs.y"].write_text("from serving.x import f\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {**MODULES, **fake})
    assert "jobs.y" in edges()["serving.x"] and "serving.x" in edges()["jobs.y"]
    with pytest.raises(AssertionError):
        test_no_import_circles()
    with pytest.raises(AssertionError):
        test_layering("serving", "jobs")


def test_importing_synth_and_its_models_loads_no_ray_or_sdv():
    code = ("import sys, pkgutil, importlib, synth; synth.list_synthesizers(); synth.evaluate; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(synth.__path__, "
            "'synth.')]; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{sorted(SDV_STACK | {'ray'})!r}); print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_ray_worker_module_loads_no_scikit_learn():
    """Train and Tune workers get fitted transformers: scikit-learn (~0.6 s of every worker's
    start) loads only where something is fitted or evaluated."""
    code = ("import sys, jobs.ray_train.worker, jobs.ray_tune.trial, jobs.ray_data.parts; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'); "
            "print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
