"""Rows from a spec, deterministic per seed and position: rows come in blocks of BLOCK rows,
and every field of block b draws from its own generator keyed by (seed, b, the field's path),
so row i is the same whatever the request's size, chunking or worker (a sequence id and a
process's time follow from i itself). A row that breaks a declared constraint is replaced by
the same position of a fresh draw of its block (attempt 1, 2, ...), so replacing keeps every
other row where it was."""

from __future__ import annotations

import ast
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth.data.constraints import ConstraintSet
from synth.data.metadata import detect_metadata
from synth.errors import ConfigError
from synth.spec import expr as ex
from synth.spec.schema import (
    Array,
    Category,
    Constant,
    DateTime,
    Derived,
    Exponential,
    Id,
    LogNormal,
    Normal,
    Number,
    Object,
    Poisson,
    Spec,
    TruncatedNormal,
    Uniform,
    Uuid,
)

BLOCK = 2048
MAX_ATTEMPTS = 200  # fresh draws of a block for rows that break a constraint


@dataclass(frozen=True)
class Plan:
    """A parsed spec: fields in generation order (derived ones after what they read)."""

    spec: Spec
    order: list[str]
    trees: dict[str, ast.Expression]
    cache: dict[str, Any] = field(default_factory=dict)  # the constraints, built once


def plan(spec: Spec) -> Plan:
    trees = {name: ex.parse(f.expr, f"fields.{name}.expr") for name, f in spec.fields.items()
             if isinstance(f, Derived)}
    _no_nested_derived(spec.fields, "fields")
    known = _paths(spec.fields)
    for name, tree in trees.items():
        for ref in ex.names(tree):
            if ref not in known:
                raise ConfigError(f"spec field fields.{name}.expr reads {ref!r}, which is not a "
                                  f"field; fields: {', '.join(sorted(known))}")
    return Plan(spec, _order(spec, trees), trees)


def _no_nested_derived(fields: dict[str, Any], where: str) -> None:
    for name, f in fields.items():
        inner = f.fields if isinstance(f, Object) else None
        if isinstance(f, Array) and isinstance(f.items, Object):
            inner = f.items.fields
        if inner is None:
            continue
        for sub, g in inner.items():
            if isinstance(g, Derived):
                raise ConfigError(f"spec field {where}.{name}.{sub}: derived fields live at the "
                                  "top level (they may read nested fields as name.sub)")
        _no_nested_derived(inner, f"{where}.{name}")


def _paths(fields: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, f in fields.items():
        out.add(prefix + name)
        if isinstance(f, Object):
            out |= _paths(f.fields, f"{prefix}{name}.")
    return out


def _order(spec: Spec, trees: dict[str, ast.Expression]) -> list[str]:
    """Top-level fields with every derived field after the fields it reads; a cycle is an
    error naming it."""
    deps = {n: {r.split(".")[0] for r in ex.names(t)} for n, t in trees.items()}
    done: list[str] = [n for n in spec.fields if n not in trees]
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2 or name not in trees:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise ConfigError(f"spec fields {' -> '.join(cycle)} form a cycle of derived "
                              "fields; one of them must not read the others")
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, path + [name])
        state[name] = 2
        done.append(name)

    for name in trees:
        visit(name, [])
    return done


def rows(p: Plan, seed: int, start: int, n: int) -> pd.DataFrame:
    """Rows start..start+n of the spec's stream for `seed`."""
    parts = []
    first, last = start // BLOCK, (start + max(n, 1) - 1) // BLOCK
    for b in range(first, last + 1):
        block = _valid_block(p, seed, b)
        lo = max(start - b * BLOCK, 0)
        hi = min(start + n - b * BLOCK, BLOCK)
        parts.append(block.iloc[lo:hi])
    out = pd.concat(parts, ignore_index=True) if n else _block(p, seed, 0, 0).iloc[:0]
    return out.reset_index(drop=True)


def _valid_block(p: Plan, seed: int, b: int) -> pd.DataFrame:
    df = _block(p, seed, b, 0)
    if not p.spec.constraints:
        return df
    if "constraints" not in p.cache:
        p.cache["constraints"] = _constraints(p, df)
    cs = p.cache["constraints"]
    bad = ~cs.valid(df)
    attempt = 0
    while bad.any():
        attempt += 1
        if attempt > MAX_ATTEMPTS:
            broken = {k: v for k, v in cs.violations(df).items() if v}
            raise ConfigError(f"the spec's constraints {', '.join(broken)} are still broken "
                              f"after {MAX_ATTEMPTS} draws: the fields' distributions hardly "
                              "ever meet them; change the distributions or the constraints")
        fresh = _block(p, seed, b, attempt)
        df.loc[bad] = fresh.loc[bad].to_numpy()
        bad = ~cs.valid(df)
    return df


def _constraints(p: Plan, df: pd.DataFrame) -> Any:
    for rule in p.spec.constraints:
        if rule.get("type") in ("fixed_combinations", "list"):
            raise ConfigError(f"spec constraint {rule.get('type')!r} needs training data; a "
                              "spec lists the allowed values itself (a category field)")
    flat = df[[c for c in df.columns if not isinstance(p.spec.fields[c], Object | Array)]]
    cs = ConstraintSet(detect_metadata(flat, {"constraints": p.spec.constraints}))
    cs.validity(flat, flat)  # each rule's reading of the columns (grids, list widths)
    return cs


def _rng(seed: int, b: int, path: str, attempt: int) -> np.random.Generator:
    return np.random.default_rng([seed, b, zlib.crc32(path.encode()), attempt])


def _block(p: Plan, seed: int, b: int, attempt: int) -> pd.DataFrame:
    index = np.arange(b * BLOCK, (b + 1) * BLOCK, dtype=np.int64)
    cols: dict[str, Any] = {}
    env: dict[str, Any] = {}
    for name in p.order:
        field = p.spec.fields[name]
        if isinstance(field, Derived):
            values = _derived(field, ex.evaluate(p.trees[name], env), len(index))
        else:
            values = draw(field, index, lambda path: _rng(seed, b, path, attempt), name)
        cols[name] = values
        _expose(env, name, field, values)
    return pd.DataFrame({n: _column(p.spec.fields[n], cols[n]) for n in p.spec.fields})


def _derived(field: Derived, value: Any, n: int) -> Any:
    """A derived field's values: numbers, or lists (a list expression), maybe as strings."""
    if not isinstance(value, list) and np.asarray(value).dtype == bool:
        return np.broadcast_to(np.asarray(value), (n,)).copy()  # a comparison: true / false
    parts = value if isinstance(value, list) else [value]
    matrix = np.stack([np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in parts], axis=1)
    if field.decimals is not None:
        matrix = np.round(matrix, field.decimals)
    if not isinstance(value, list):
        return matrix[:, 0].copy()
    rows = [[float(x) for x in row] for row in matrix]
    out = np.empty(n, dtype=object)
    out[:] = ["[" + ", ".join(repr(x) for x in r) + "]" for r in rows] if field.as_string \
        else rows
    return out


def _expose(env: dict[str, Any], name: str, field: Any, values: Any) -> None:
    """Make a field (and an object's numeric subfields, as name.sub) readable by expressions."""
    if isinstance(field, Object):
        for sub, g in field.fields.items():
            _expose(env, f"{name}.{sub}", g, np.array([row[sub] for row in values]))
        return
    if isinstance(field, Array) or (isinstance(field, Derived) and isinstance(values[0], list
                                                                              | str)):
        return  # lists are not operands of an expression
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        env[name] = values.astype("int64").to_numpy() / 1e9  # seconds, for arithmetic
        return
    env[name] = np.asarray(values)


def _column(field: Any, values: Any) -> Any:
    if isinstance(field, Number) and field.integer and np.isnan(values).any():
        return pd.array(np.where(np.isnan(values), None, values), dtype="Int64")
    if isinstance(field, Number) and field.integer:
        return values.astype(np.int64)
    return values


def draw(field: Any, index: np.ndarray, rng: Any, path: str) -> Any:
    """One field's values for the rows `index` (absolute positions)."""
    n = len(index)
    if isinstance(field, Number):
        return _number(field, rng(path), n)
    if isinstance(field, Category):
        r = rng(path)
        p = None if field.weights is None else np.asarray(field.weights) / sum(field.weights)
        out = np.empty(n, dtype=object)
        out[:] = [field.values[i] for i in r.choice(len(field.values), size=n, p=p)]
        if field.nulls:
            out[r.random(n) < field.nulls] = None
        return out
    if isinstance(field, Constant):
        out = np.empty(n, dtype=object)
        out[:] = [field.value] * n
        return out
    if isinstance(field, Id):
        numbers = field.start + (index % field.cycle if field.cycle else index)
        return np.array([f"{field.prefix}{k:0{field.width}d}" for k in numbers], dtype=object)
    if isinstance(field, Uuid):
        raw = rng(path).bytes(16 * n)
        return np.array([str(uuid.UUID(bytes=raw[16 * i:16 * i + 16], version=4))
                         for i in range(n)], dtype=object)
    if isinstance(field, DateTime):
        return _datetime(field, index, rng(path), path)
    if isinstance(field, Object):
        parts = {k: draw(g, index, rng, f"{path}.{k}") for k, g in field.fields.items()}
        return [{k: _plain(v[i]) for k, v in parts.items()} for i in range(n)]
    assert isinstance(field, Array)
    return _array(field, index, rng, path)


def _number(f: Number, r: np.random.Generator, n: int) -> np.ndarray:
    d = f.dist
    if isinstance(d, Normal):
        x = r.normal(d.mean, d.std, n)
    elif isinstance(d, Uniform):
        x = r.uniform(d.low, d.high, n)
    elif isinstance(d, LogNormal):
        x = r.lognormal(d.mean, d.sigma, n)
    elif isinstance(d, Exponential):
        x = r.exponential(d.scale, n)
    elif isinstance(d, Poisson):
        x = r.poisson(d.lam, n).astype(float)
    else:
        assert isinstance(d, TruncatedNormal)
        from scipy.stats import truncnorm

        a, b = (d.low - d.mean) / d.std, (d.high - d.mean) / d.std
        x = truncnorm.ppf(r.random(n), a, b, loc=d.mean, scale=d.std)
    x = np.clip(x, f.min if f.min is not None else -np.inf, f.max if f.max is not None else np.inf)
    if f.integer:
        x = np.round(x)
    elif f.decimals is not None:
        x = np.round(x, f.decimals)
    if f.nulls:
        x[r.random(n) < f.nulls] = np.nan
    return x


def _datetime(f: DateTime, index: np.ndarray, r: np.random.Generator, path: str) -> pd.Series:
    try:
        start = pd.Timestamp(f.start)
        end = pd.Timestamp(f.end) if f.end is not None else None
        if f.tz is not None:
            start = start.tz_localize(f.tz) if start.tzinfo is None else start.tz_convert(f.tz)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"spec field {path}: {exc}") from None
    if f.process == "uniform":
        assert end is not None
        if f.tz is not None and end.tzinfo is None:
            end = end.tz_localize(f.tz)
        span = (end - start).total_seconds()
        if not span > 0:
            raise ConfigError(f"spec field {path}: end must come after start")
        secs = r.random(len(index)) * span
    elif f.process == "regular":
        secs = index * float(f.every)  # type: ignore[arg-type]
    else:  # poisson: the block's events spread uniformly over its window, in order
        window = len(index) * float(f.every)  # type: ignore[arg-type]
        secs = index[0] * float(f.every) + np.sort(r.random(len(index))) * window  # type: ignore
    step = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[f.unit]  # floored to the unit on
    ns = (np.floor(secs * 1e9 / step) * step).astype("int64")  # elapsed time: no zone maths
    times = pd.Series(start + pd.to_timedelta(ns, unit="ns"))
    dtype = f"datetime64[{f.unit}, {f.tz}]" if f.tz else f"datetime64[{f.unit}]"
    return times.astype(dtype)


def _array(f: Array, index: np.ndarray, rng: Any, path: str) -> list[list[Any]]:
    n = len(index)
    if isinstance(f.length, int):
        lengths = np.full(n, f.length)
    else:
        lengths = rng(path + "#length").integers(f.length.min, f.length.max + 1, n)
    most = int(lengths.max(initial=0))
    # item j of row i draws as row i * most + j of the item stream: fixed per (row, j)
    flat = draw(f.items, np.repeat(index, most) * max(most, 1) + np.tile(np.arange(most), n),
                rng, path + "[]") if most else []
    out = []
    for i, k in enumerate(lengths):
        items = flat[i * most:i * most + int(k)]
        out.append([_plain(v) for v in items])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
